"""Checks for notebook 09's exercises."""
from __future__ import annotations

import sys

import numpy as np
import torch

from . import Feedback, Quiz, call_learner_code, is_unanswered


def _taught_codes() -> dict:
    """The functions that already do exercise 1, by their code objects."""
    from .. import models, text

    return {text.mean_pool.__code__: "text.mean_pool",
            models.TextClassifier.embed.__code__: "TextClassifier.embed",
            solution_mean_pool.__code__: "nb09.solution_mean_pool"}


def _call_watching(fn, *args):
    """Call the learner's ``fn``; also return the taught functions it ran, however imported."""
    codes, seen = _taught_codes(), []

    def watch(frame, event, arg):
        if event == "call" and frame.f_code in codes:
            seen.append(codes[frame.f_code])

    previous = sys.getprofile()
    sys.setprofile(watch)
    try:
        out, problem = call_learner_code(fn, *args)
    finally:
        sys.setprofile(previous)
    return out, problem, seen


def check_mean_pool(my_mean_pool) -> Feedback:
    """The learner writes my_mean_pool(hidden (B, T, H), attention_mask (B, T)) -> (B, H).

    Calling the course's own ``text.mean_pool`` (or the model solution) does not count.
    """
    torch.manual_seed(0)
    hidden = torch.randn(2, 4, 3)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])
    out, problem, used = _call_watching(my_mean_pool, hidden.clone(), mask.clone())
    if used:
        return Feedback.incorrect(
            f"Your function calls {used[0]}, which already does this exercise, so the check "
            "cannot tell whether your own version works.",
            "Write it with tensor operations: multiply by the mask, sum over the tokens, divide.")
    if problem is not None:
        return problem
    expected = torch.stack([hidden[0].mean(0), hidden[1, :2].mean(0)])
    if not torch.is_tensor(out) or out.shape != expected.shape:
        return Feedback.incorrect(f"Expected shape {tuple(expected.shape)} (one vector per sentence), got "
                                  f"{tuple(out.shape) if torch.is_tensor(out) else type(out).__name__}.",
                                  "Average over the token axis (dim=1).")
    if torch.allclose(out, expected, atol=1e-6):
        return Feedback.correct("Correct: padding tokens are ignored, so a sentence's vector does not depend on "
                                "how long the other sentences in its batch are.")
    if torch.allclose(out, hidden.mean(1), atol=1e-6):
        return Feedback.incorrect("You averaged over every position, padding included: the second sentence's "
                                  "vector is diluted by two padding tokens.",
                                  "Multiply by the mask, sum, and divide by the number of real tokens.")
    if torch.allclose(out, hidden[:, 0], atol=1e-6):
        return Feedback.incorrect("That is the first ([CLS]) token, not the mean.")
    if torch.allclose(out, (hidden * mask.unsqueeze(-1)).sum(1), atol=1e-6):
        return Feedback.incorrect("You summed the real tokens but did not divide by their number.")
    return Feedback.incorrect("The values differ from the masked mean.",
                              "Work out the second sentence (two real tokens, two padding) by hand and "
                              "compare it with your output's second row: the mask belongs in the sum "
                              "and in the count.")


def check_frozen_count(answer, hidden_size: int = 384, num_classes: int = 4) -> Feedback:
    if is_unanswered(answer):
        return Feedback.unanswered("Not answered yet: set `trainable_when_frozen` to a whole number.")
    expected = hidden_size * num_classes + num_classes
    if answer == expected:
        return Feedback.correct(f"Yes: {hidden_size} × {num_classes} + {num_classes} = {expected}, against 22.7 million "
                                "for full fine-tuning.")
    if answer == hidden_size * num_classes:
        return Feedback.incorrect("You forgot the biases: one per class.")
    return Feedback.incorrect(f"{answer} is not it.", "Only the new linear head is trainable: count its "
                              "weights (one per input number and class) and its biases.")


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


def check_length_prediction(predicted, max_length: int, rows: list[dict], full) -> Feedback:
    """Change-and-predict: the learner cuts every sentence to ``max_length`` tokens and predicts
    how much frozen mean-pooled accuracy drops. ``rows`` are the learner's own measurement
    (one row per seed with its ``"accuracy"`` on the cut sentences, one k); ``full`` the accuracies
    with the whole sentences on the same seeds.

    >>> check_length_prediction("a", 30, [{"accuracy": 0.9}] * 5, [0.91] * 5).status
    'correct'
    """
    if is_unanswered(predicted):
        return Feedback.unanswered('Not answered yet: before running, set `predicted` to "a", '
                                   '"b" or "c".', "Count how many real word pieces survive "
                                   "(max_length − 2) and look at the sentences printed at the top.")
    choice = str(predicted).strip().lower()
    if choice not in LENGTH_CHOICES:
        return Feedback.incorrect(f"{predicted!r} is not one of the options: answer "
                                  '"a", "b" or "c".')
    short = [r["accuracy"] for r in rows]
    if not short or len(short) != len(full):
        return Feedback.incorrect("No measurement to compare with: run the whole cell, including "
                                  "the line that measures `measured`, on the same seeds as above.")
    drop = float(np.mean(full) - np.mean(short))
    right = _length_choice(drop)
    said = (f"With {max_length} tokens per sentence: {np.mean(short):.3f}, against "
            f"{np.mean(full):.3f} with whole sentences, a drop of {drop:+.3f}, so accuracy "
            f"{LENGTH_CHOICES[right]}")
    if choice == right:
        return Feedback.correct(f"{said}: as you predicted.")
    hint = ("Topic words tend to come early in these sentences: a few word pieces often suffice."
            if choice > right else
            "Two tokens are [CLS] and [SEP]: with very few left, many sentences lose their topic "
            "word.")
    return Feedback.incorrect(f"{said}; you predicted ({choice}).", hint)


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
    """Exercise 3: a model prediction, made before running. Two of the tokens are [CLS] and
    [SEP]; the topic sentences are short (about 11 word pieces) and name their topic early
    ("The striker scored ...", "Whisk the ..."). One or two word pieces often miss the topic
    word (a big drop); three to five usually catch it, with some loss; six or more keep nearly
    everything the classifier uses."""
    words = max_length - 2
    return "c" if words <= 2 else "b" if words <= 5 else "a"
