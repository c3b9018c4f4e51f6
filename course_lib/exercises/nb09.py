"""Checks for notebook 09's exercises."""
from __future__ import annotations

import numpy as np
import torch

from . import Experiment, Feedback, Forbidden, Quiz, draw_rng, is_unanswered, whole_number


MEAN_POOL = Forbidden(
    "a function that already mean-pools",
    ("course_lib.text.mean_pool", "course_lib.models.TextClassifier.embed"),
    hint="Write it with tensor operations: multiply by the mask, sum over the tokens, divide.")
"""What ``my_mean_pool`` may not call."""


def _cases(rng: np.random.Generator) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Three random batches: hidden states (B, T, H) and right-padded attention masks (B, T),
    each with one sentence that fills the batch and at least one padded one."""
    cases = []
    for _ in range(3):
        b, t, h = int(rng.integers(2, 5)), int(rng.integers(3, 8)), int(rng.integers(2, 6))
        lengths = rng.integers(1, t, b)
        lengths[0] = t
        mask = torch.from_numpy((np.arange(t)[None, :] < lengths[:, None]).astype(np.int64))
        cases.append((torch.from_numpy(rng.normal(0, 1, (b, t, h))).float(), mask))
    return cases


def check_mean_pool(my_mean_pool) -> Feedback:
    """The learner writes my_mean_pool(hidden (B, T, H), attention_mask (B, T)) -> (B, H).

    Three random batches per call. Calling the course's own ``text.mean_pool`` (or
    ``TextClassifier.embed``) does not count.
    """
    for hidden, mask in _cases(draw_rng()):
        out, problem = MEAN_POOL.call(my_mean_pool, hidden.clone(), mask.clone())
        if problem is not None:
            return problem
        try:
            got = torch.as_tensor(np.asarray(out) if not torch.is_tensor(out) else out).float()
        except (TypeError, ValueError, RuntimeError):
            got = None
        lengths = mask.sum(1, keepdim=True)
        expected = (hidden * mask.unsqueeze(-1)).sum(1) / lengths
        shape = (hidden.shape[0], hidden.shape[2])
        if got is None or tuple(got.shape) != shape:
            return Feedback.incorrect(
                f"For hidden states of shape {tuple(hidden.shape)} your function returned "
                f"{tuple(got.shape) if got is not None else type(out).__name__}: one vector per "
                "sentence, as long as a token's vector.", "Average over the token axis (dim=1).")
        if torch.allclose(got, expected, atol=1e-5):
            continue
        if torch.allclose(got, hidden.mean(1), atol=1e-5):
            return Feedback.incorrect("You averaged over every position, padding included: a "
                                      "padded sentence's vector is diluted by its padding.",
                                      "Use the attention mask: padding positions hold 0.")
        if torch.allclose(got, hidden[:, 0], atol=1e-5):
            return Feedback.incorrect("That is the first ([CLS]) token, not the mean.")
        if torch.allclose(got, (hidden * mask.unsqueeze(-1)).sum(1), atol=1e-5):
            return Feedback.incorrect("You summed the real tokens but did not divide by their number.")
        if torch.allclose(got[0], expected[0], atol=1e-5):
            return Feedback.incorrect("Right for the sentence that fills the batch, wrong for the "
                                      "padded ones.", "Count only the real tokens of each sentence.")
        return Feedback.incorrect("The values differ from the mean of the real tokens' vectors.",
                                  "Check your code on a batch of one sentence, then on a padded one.")
    return Feedback.correct("Correct on random batches: padding tokens are ignored, so a "
                            "sentence's vector does not depend on how long the other sentences "
                            "in its batch are.")


def check_frozen_count(answer, hidden_size: int = 384, num_classes: int = 4) -> Feedback:
    if is_unanswered(answer):
        return Feedback.unanswered("Not answered yet: set `trainable_when_frozen` to a whole number.")
    expected = hidden_size * num_classes + num_classes
    if answer == expected:
        return Feedback.correct(f"Yes: {hidden_size} × {num_classes} + {num_classes} = {expected}, against 22.7 million "
                                "for full fine-tuning.")
    if answer == hidden_size * num_classes:
        return Feedback.incorrect("You forgot the biases: one per class.")
    return Feedback.incorrect("Not the number of trainable parameters.",
                              "Only the new head is trainable: count its weights and its biases.")


POOLING = Quiz(
    "pooling_choice", "You keep MiniLM frozen and train only a linear head. Which sentence vector do you give the head?",
    options={
        "a": "the [CLS] token's vector, since BERT-style models are trained to summarise the sentence in that first position",
        "b": "the mean of the real tokens' vectors (attention mask applied)",
        "c": "the mean over every position, padding included, so every sentence vector averages the same number of positions",
    },
    answer="b",
    praise="Yes: all-MiniLM-L6-v2 was trained so that the masked mean of its token vectors is the sentence "
           "vector. Part 3 measures both choices on the same splits.",
    reasons={
        "a": "Not for this model: its sentence-embedding training used the masked mean, so the [CLS] "
             "vector was never trained to summarise the sentence on its own. Part 3 measures both.",
        "c": "Averaging over padding too makes a sentence's vector depend on the other sentences in "
             "its batch: use the attention mask.",
    })
check_pooling_choice = POOLING.check


LENGTH_CHOICES = {
    "a": "hardly changes (it drops by less than 0.03)",
    "b": "drops by 0.03 to 0.15",
    "c": "drops by more than 0.15",
}


def _length_choice(drop: float) -> str:
    return "a" if drop < 0.03 else "b" if drop <= 0.15 else "c"


WHOLE = 32
"""``max_length`` of the whole sentences (the table of Part 3): no topic sentence is longer."""

_length_problem = whole_number("max_length", 3, WHOLE, " (two of them are [CLS] and [SEP])")


def _judge_length(choice: str, settings: dict, measured: dict) -> Feedback:
    max_length = settings["max_length"]
    short, full = np.mean(measured["short"]), np.mean(measured["full"])
    drop = float(full - short)
    right = _length_choice(drop)
    accepted = {_length_choice(drop - 0.005), right, _length_choice(drop + 0.005)}   # ties
    said = (f"With {max_length} tokens per sentence: {short:.3f}, against {full:.3f} with whole "
            f"sentences, a drop of {drop:+.3f}, so accuracy {LENGTH_CHOICES[right]}")
    if choice in accepted:
        return Feedback.correct(f"{said}: as you predicted.")
    hint = ("Topic words tend to come early in these sentences: a few word pieces often suffice."
            if choice > right else
            "Two tokens are [CLS] and [SEP]: with very few left, many sentences lose their topic "
            "word.")
    return Feedback.incorrect(f"{said}; you predicted ({choice}).", hint)


LENGTH = Experiment(
    "length", settings=("max_length",), options=tuple(LENGTH_CHOICES), variable="predicted",
    judge=_judge_length, unchanged={"max_length": WHOLE}, validate=_length_problem,
    hint="Count how many real word pieces survive (max_length − 2) and look at the sentences "
         "printed at the top.")
"""Exercise 3 (change it and predict): the learner cuts every sentence to ``max_length`` tokens
and predicts how much frozen mean-pooled accuracy at k = 4 drops: (a) < 0.03, (b) 0.03–0.15,
(c) > 0.15; within 0.005 of a boundary both readings are right."""


@LENGTH.measures(costly=True)
def length_experiment(model, tokenizer, texts, labels, trials, max_length: int, seeds,
                      budget) -> dict:
    """Exercise 3's measurement: mean-pooled sentence vectors (``text.embed_texts``) of the cut
    sentences and of the whole ones (``max_length`` = :data:`WHOLE`), a convex head on each
    for every seed of ``trials`` (``compare.convex_arm``, C picked on validation); recorded for
    :data:`LENGTH`. Runs only after a prediction for the same ``max_length``."""
    from .. import compare, text

    if (problem := _length_problem({"max_length": max_length})) is not None:
        raise ValueError(problem)

    def accuracies(length: int) -> list[float]:
        vectors = text.embed_texts(model, tokenizer, texts, max_length=length)
        arm = compare.convex_arm(vectors, labels, trials)
        return [arm(seed, budget).score for seed in seeds]

    return {"short": accuracies(max_length), "full": accuracies(WHOLE)}


# --------------------------------------------------------------------------- model solutions
# Shown on request with course_lib.exercises.show_solution(...); never run by the notebook.

def solution_mean_pool(hidden, attention_mask):
    """Exercise 1: the mean of the real tokens' vectors (padding ignored)."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)          # (B, T, 1)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


def solution_frozen_count(hidden_size: int = 384, num_classes: int = 4) -> int:
    """Exercise 4: a frozen encoder leaves only the new head trainable: weights plus biases."""
    return hidden_size * num_classes + num_classes


def solution_length_prediction(max_length: int) -> str:
    """Exercise 3: a model prediction, recorded in its own cell before the measuring one
    (``nb09.LENGTH.predict(predicted, max_length=max_length)``). Two of the tokens are [CLS] and
    [SEP]; the topic sentences are short (about 11 word pieces) and name their topic early
    ("The striker scored ...", "Whisk the ..."). One or two word pieces often miss the topic
    word (a big drop); three to five usually catch it, with some loss; six or more keep nearly
    everything the classifier uses."""
    words = max_length - 2
    return "c" if words <= 2 else "b" if words <= 5 else "a"
