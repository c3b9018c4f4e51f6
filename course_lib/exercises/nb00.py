"""Checks and model solutions for notebook 00's exercises.

>>> import torch
>>> probs = torch.tensor([0.1, 0.6, 0.3]); names = ["tabby", "tiger cat", "lynx"]
>>> solution_second_guess(probs, names)
'lynx'
>>> bool(check_second_guess("lynx", probs, names))
True
"""
from __future__ import annotations

import torch

from . import Feedback, is_unanswered

CAT_CLASSES = frozenset({"tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat"})
"""ImageNet's five domestic-cat classes (indices 281–285)."""


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
        second = float(probs.sort(descending=True).values[1])
        return Feedback.correct(f"Yes: '{answer}' is second, with p = {second:.3f}.")
    if answer == ranked[0]:
        return Feedback.incorrect(f"'{answer}' is the model's first choice, not its second.",
                                  "topk sorts from best to worst: take position 1, not 0.")
    if answer in ranked:
        return Feedback.incorrect(f"'{answer}' is in the top five (position "
                                  f"{ranked.index(answer) + 1}), but not second.")
    if answer not in categories:
        return Feedback.incorrect(f"'{answer}' is not one of the 1,000 ImageNet class names.",
                                  "Copy the name from `categories` exactly, including capitals.")
    return Feedback.incorrect(f"'{answer}' is not among the model's top five guesses.")


def solution_second_guess(probs, categories):
    """Model answer: the class at position 1 (the second) of the sorted scores."""
    best_two = probs.topk(2).indices        # positions 0 and 1, best first
    return categories[int(best_two[1])]


def check_size_prediction(prediction, image_size: int, probs: torch.Tensor,
                          categories: list[str]) -> Feedback:
    """Change-and-predict: does the model still see a cat at ``image_size`` pixels?

    ``prediction`` is ``"cat"`` or ``"not a cat"``, written before running; ``probs`` are the
    probabilities the learner's own run measured at that size.
    """
    options = ("cat", "not a cat")
    if is_unanswered(prediction):
        return Feedback.unanswered(
            'Not answered yet: before running, set `prediction` to "cat" or "not a cat".',
            "Think about how many pixels a cat's ears and whiskers get at that size.")
    if str(prediction).strip().lower() not in options:
        return Feedback.incorrect(f'{prediction!r} is not an option: "cat" or "not a cat".')
    top = categories[int(probs.argmax())]
    measured = "cat" if top in CAT_CLASSES else "not a cat"
    said = f"At {image_size}×{image_size} the top guess is '{top}' (p = {float(probs.max()):.2f})"
    if str(prediction).strip().lower() == measured:
        return Feedback.correct(f"Your prediction held. {said}. Try a size on the other "
                                "side of the boundary.")
    if measured == "cat":
        return Feedback.incorrect(f"{said}: still a cat, against your prediction.",
                                  "The network needs fewer pixels than you thought; "
                                  "try smaller sizes to find where it breaks.")
    return Feedback.incorrect(f"{said}: not a cat, against your prediction.",
                              "Small inputs lose the fur and ear details its features look for; "
                              "find the smallest size that still works.")


def solution_size_prediction(image_size):
    """A model prediction, from what the first layers need to see.

    At 224 pixels (its training size) the model sees a cat. Every halving of the side
    divides the detail by four; EfficientNet-Lite0 shrinks its input 32-fold before its
    last layer, so below about 64 pixels the final feature map is 2×2 or smaller and the
    fur, eyes and ears are a few pixels each. Measured on Chelsea: a cat from 64 pixels up,
    not at 32 or 48.
    """
    return "cat" if image_size >= 64 else "not a cat"
