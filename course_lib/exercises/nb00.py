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

from . import Experiment, Feedback, categorical, is_unanswered, whole_number

CAT_CLASSES = frozenset({"tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat"})
"""ImageNet's five domestic-cat classes (indices 281–285)."""

BIG_CATS = frozenset({"cougar", "lynx", "leopard", "snow leopard", "jaguar", "lion", "tiger",
                      "cheetah"})
"""ImageNet's wild cats (indices 286–293): a cat, but not a pet."""

TIE = 0.01
"""Two probabilities closer than this are a tie: both readings of it are right."""


def _top(probs: torch.Tensor, categories: list[str], n: int = 5) -> list[tuple[str, float]]:
    values, indices = probs.topk(min(n, len(probs)))
    return [(categories[int(i)], float(v)) for v, i in zip(values, indices)]


# --------------------------------------------------------------------------- the first look
FIRST_LOOK_OPTIONS = ("a cat", "another animal", "not an animal")


def _kind(name: str) -> str:
    """"a cat" for ImageNet's pet and wild cats, "another animal" for the other animal classes
    (indices 0–397), "not an animal" for objects and scenes."""
    from .. import models

    if name in CAT_CLASSES or name in BIG_CATS:
        return "a cat"
    return "another animal" if models.imagenet_categories().index(name) < 398 else "not an animal"


FIRST_LOOK = Experiment(
    "first_look", settings=(), options=FIRST_LOOK_OPTIONS, variable="first_guess",
    judge=categorical(
        lambda s, m: {_kind(name) for name, p in m[:2] if p >= m[0][1] - TIE},
        lambda s, m: f"its top guess is '{m[0][0]}' (p = {m[0][1]:.2f}), {_kind(m[0][0])}",
        if_wrong="It was never told about this photo: whatever it recognises, it learned from "
                 "other photos. The rest of this notebook looks at why that works.",
        next_step="Now see how it got there."),
    hint="It has seen 1.28 million labelled photos of 1,000 kinds of things, none of them this "
         "one.")
"""The course's first prediction: what will a pretrained network say about a photo it never saw?"""


@FIRST_LOOK.measures
def first_look(photo) -> list[tuple[str, float]]:
    """EfficientNet-Lite0, pretrained on ImageNet, on ``photo`` at 224×224 (eval mode, no
    gradients): its five best classes with their probabilities, recorded for
    :data:`FIRST_LOOK`. Section 2 of notebook 00 shows these lines one by one."""
    from .. import models

    backbone = models.load_backbone("efficientnet_lite0", image_size=224)
    model = backbone.model.eval()
    with torch.no_grad():
        probs = model(backbone.preprocess(photo)[None]).softmax(dim=1)[0]
    return _top(probs, models.imagenet_categories())


def solution_first_look():
    """A model prediction. The network learned from 1.28 million labelled photos of 1,000
    classes, among them five kinds of pet cat: a clear photo of a cat's face is exactly the
    kind of input it was trained on, so it should name a cat."""
    first_guess = "a cat"
    return first_guess


# --------------------------------------------------------------------------- exercise 0
def check_second_guess(answer, probs: torch.Tensor, categories: list[str]) -> Feedback:
    """The learner names the ImageNet class the model ranks second for the cat photo (two
    classes within :data:`TIE` of each other are both accepted)."""
    if is_unanswered(answer):
        return Feedback.unanswered("Not answered yet: set `second_guess` to a class name (a string).",
                                   "`probs.topk(2)` gives the two best scores and their indices.")
    if not isinstance(answer, str):
        return Feedback.incorrect(f"Expected a class name (a string), got {type(answer).__name__}.",
                                  "Look the index up in `categories`: categories[index].")
    ranked = _top(probs, categories)
    names = [name for name, _ in ranked]
    second = ranked[1][1]
    accepted = {name for name, p in ranked[:3] if abs(p - second) < TIE and name != names[0]}
    if answer in accepted:
        return Feedback.correct(f"'{answer}' is second, with p = {second:.3f}.")
    if answer == names[0]:
        return Feedback.incorrect(f"'{answer}' is the model's first choice, not its second.",
                                  "topk sorts from best to worst: take position 1, not 0.")
    if answer in names:
        return Feedback.incorrect(f"'{answer}' is in the top five (position "
                                  f"{names.index(answer) + 1}), but not second.")
    if answer not in categories:
        return Feedback.incorrect(f"'{answer}' is not one of the 1,000 ImageNet class names.",
                                  "Copy the name from `categories` exactly, including capitals.")
    return Feedback.incorrect(f"'{answer}' is not among the model's top five guesses.")


def solution_second_guess(probs, categories):
    """Model answer: the class at position 1 (the second) of the sorted scores."""
    best_two = probs.topk(2).indices        # positions 0 and 1, best first
    return categories[int(best_two[1])]


# --------------------------------------------------------------------------- exercise 1
_size_problem = whole_number("image_size", 32, 640, " (32 is the smallest this network accepts)")


def _size_outcome(settings: dict, measured: list[tuple[str, float]]) -> set[str]:
    top_p = measured[0][1]
    return {"cat" if name in CAT_CLASSES else "not a cat"
            for name, p in measured[:2] if p >= top_p - TIE}


SIZE = Experiment(
    "image_size", settings=("image_size",), options=("cat", "not a cat"),
    unchanged={"image_size": 224}, validate=_size_problem,
    judge=categorical(
        _size_outcome,
        lambda s, m: (f"at {s['image_size']}×{s['image_size']} the top guess is '{m[0][0]}' "
                      f"(p = {m[0][1]:.2f})"),
        if_wrong="Small inputs lose the fur and ear details its features look for, large ones "
                 "keep them: find the size where the answer changes.",
        next_step="Try a size on the other side of the boundary."),
    hint="Think about how many pixels a cat's ears and whiskers get at that size.")
"""Exercise 1: does the network still see a (pet) cat at ``image_size`` pixels a side?"""


@SIZE.measures
def size_experiment(photo, image_size: int) -> list[tuple[str, float]]:
    """Exercise 1's measurement: EfficientNet-Lite0 on ``photo`` resized to ``image_size``
    pixels a side; its five best classes, recorded for :data:`SIZE`."""
    from .. import models

    if (problem := _size_problem({"image_size": image_size})) is not None:
        raise ValueError(problem)
    backbone = models.load_backbone("efficientnet_lite0", image_size=image_size)
    model = backbone.model.eval()
    with torch.no_grad():
        probs = model(backbone.preprocess(photo)[None]).softmax(dim=1)[0]
    return _top(probs, models.imagenet_categories())


def solution_size_prediction(image_size):
    """A model prediction. At 224 pixels a side the network is sure it sees a cat; the fur,
    eyes and ears that its features respond to survive a reduction to 64 pixels (measured:
    still a cat at 64, 72, 80 and above), but at 63 and below they are a few pixels each and
    the top guess becomes another animal (a squirrel, a lion). Larger than 224 only adds
    detail: still a cat."""
    return "cat" if image_size >= 64 else "not a cat"
