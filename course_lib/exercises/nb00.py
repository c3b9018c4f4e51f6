"""Checks for notebook 00's warm-up exercise."""
from __future__ import annotations

import torch

from . import Feedback, is_unanswered


def check_second_guess(answer, probs: torch.Tensor, categories: list[str]) -> Feedback:
    """The learner names the ImageNet class the model ranks second for the cat photo."""
    if is_unanswered(answer):
        return Feedback.unanswered("Not answered yet: set `second_guess` to a class name (a string).",
                                   "`probs.topk(2)` gives the two best scores and their indices.")
    if not isinstance(answer, str):
        return Feedback.incorrect(f"Expected a class name (a string), got {type(answer).__name__}.",
                                  "Look the index up in `categories`: categories[index].")
    ranked = [categories[int(i)] for i in probs.argsort(descending=True)[:5]]
    if answer == ranked[1]:
        return Feedback.correct(f"Yes: '{answer}' is second, with p = {float(probs.sort(descending=True).values[1]):.3f}.")
    if answer == ranked[0]:
        return Feedback.incorrect(f"'{answer}' is the model's first choice, not its second.",
                                  "topk sorts from best to worst: take position 1, not 0.")
    if answer in ranked:
        return Feedback.incorrect(f"'{answer}' is in the top five (position {ranked.index(answer) + 1}), "
                                  "but not second.")
    if answer not in categories:
        return Feedback.incorrect(f"'{answer}' is not one of the 1,000 ImageNet class names.",
                                  "Copy the name from `categories` exactly, including capitals.")
    return Feedback.incorrect(f"'{answer}' is not among the model's top five guesses.")
