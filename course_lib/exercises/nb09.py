"""Checks for notebook 09's exercises."""
from __future__ import annotations

import torch

from . import Feedback, Quiz, call_learner_code, is_unanswered


def check_mean_pool(my_mean_pool) -> Feedback:
    """The learner writes my_mean_pool(hidden (B, T, H), attention_mask (B, T)) -> (B, H)."""
    torch.manual_seed(0)
    hidden = torch.randn(2, 4, 3)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])
    out, problem = call_learner_code(my_mean_pool, hidden.clone(), mask.clone())
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
                              "(hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)")


def check_frozen_count(answer, hidden_size: int = 384, num_classes: int = 4) -> Feedback:
    if is_unanswered(answer):
        return Feedback.unanswered("Not answered yet: set `trainable_when_frozen` to a whole number.")
    expected = hidden_size * num_classes + num_classes
    if answer == expected:
        return Feedback.correct(f"Yes: {hidden_size} × {num_classes} + {num_classes} = {expected}, against 22.7 million "
                                "for full fine-tuning.")
    if answer == hidden_size * num_classes:
        return Feedback.incorrect("You forgot the biases: one per class.")
    return Feedback.incorrect(f"{answer} is not it.", "Only the new Linear(384 -> 4) head is trainable.")


POOLING = Quiz(
    "pooling_choice", "You keep MiniLM frozen and train only a linear head. Which sentence vector do you give the head?",
    options={
        "a": "the [CLS] token's vector",
        "b": "the mean of the real tokens' vectors (attention mask applied)",
        "c": "the mean over every position, padding included",
    },
    answer="b",
    praise="Yes: all-MiniLM-L6-v2 was trained so that the masked mean of its token vectors is the sentence "
           "vector, and the comparison above agrees: mean pooling scored higher than [CLS].",
    reasons={
        "a": "Not for this model: its sentence-embedding training used the masked mean, so the [CLS] "
             "vector was never trained to summarise the sentence on its own; it scored lower above.",
        "c": "Averaging over padding too makes a sentence's vector depend on the other sentences in "
             "its batch: use the attention mask.",
    })
check_pooling_choice = POOLING.check


# --------------------------------------------------------------------------- model solutions
# Shown on request with course_lib.exercises.show_solution(...); never run by the notebook.

def solution_mean_pool(hidden, attention_mask):
    """Exercise 1: the mean of the real tokens' vectors (padding ignored)."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)          # (B, T, 1)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


def solution_frozen_count(hidden_size: int = 384, num_classes: int = 4) -> int:
    """Exercise 3: a frozen encoder leaves only the new head trainable: weights plus biases."""
    return hidden_size * num_classes + num_classes
