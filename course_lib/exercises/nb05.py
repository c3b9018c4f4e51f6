"""Checks and model solutions for notebook 05's exercises.

>>> from torchvision.models import resnet18
>>> bool(check_five_class_head(solution_make_five_class, lambda: resnet18(weights=None)))
True
>>> solution_head_params()
2565
"""
from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from . import Experiment, Feedback, Forbidden, draw_rng, is_unanswered, number, whole_number


REPLACE_HEAD = Forbidden(
    "the course's helper", ("course_lib.models.replace_head",),
    hint="Read the number of features from the old model.fc, then assign a new nn.Linear to "
         "model.fc.")
"""What ``make_five_class`` may not call (exercise 2 asks for the two lines by hand)."""


class NarrowNet(nn.Module):
    """A stand-in with a ResNet-style ``fc`` on ``width`` features, to catch a hard-coded 512."""

    def __init__(self, width: int = 48):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, width, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(width, 1000)

    def forward(self, x):
        return self.fc(self.body(x))


def _five_class_problem(make_five_class, original: nn.Module) -> Feedback | None:
    model = copy.deepcopy(original)
    result, problem = REPLACE_HEAD.call(make_five_class, model, none_ok=True)
    if problem is not None:
        return problem
    model = result if isinstance(result, nn.Module) else model
    head = getattr(model, "fc", None)
    old = original.fc
    if result is None and isinstance(head, nn.Linear) and head.out_features == old.out_features:
        return Feedback.unanswered("Not answered yet: model.fc is still the 1,000-class "
                                   "ImageNet layer.", "Assign a new layer to model.fc.")
    if not isinstance(head, nn.Linear):
        return Feedback.incorrect(f"model.fc is {type(head).__name__}, not an nn.Linear.",
                                  "The new head is a Linear layer, like the old one.")
    if head.out_features != 5:
        return Feedback.incorrect(f"The new head has {head.out_features} outputs; the task has "
                                  "5 classes.")
    if head.in_features != old.in_features:
        if head.in_features == 512:
            return Feedback.incorrect(
                "Your head takes 512 inputs on every model, but the check's second, narrower "
                "model gives fewer features: the number is typed in rather than read from the "
                "model.", "Read it from the old head before you replace it.")
        return Feedback.incorrect(f"On {type(original).__name__} your head's inputs do not "
                                  "match the number of features the layer before it produces.",
                                  "The old head knows how many features it receives.")
    now = dict(model.named_parameters())
    changed = [name for name, p in original.named_parameters()
               if not name.startswith("fc.") and not torch.equal(p, now[name])]
    if changed:
        return Feedback.incorrect(f"You changed the pretrained layers too ({changed[0]}, …): "
                                  "only the head should be new.")
    with torch.no_grad():
        out = model.eval()(torch.rand(2, 3, 64, 64))
    if out.shape != (2, 5):
        return Feedback.incorrect(f"For 2 images the model outputs shape {tuple(out.shape)}: one "
                                  "score per class for each image.")
    return None


def check_five_class_head(make_five_class, build_model) -> Feedback:
    """The learner writes make_five_class(model) that gives a ResNet18 a new 5-output head.

    Tried on the ResNet18 from ``build_model`` and on two :class:`NarrowNet` of random widths,
    so a hard-coded ``in_features`` is caught; calling ``models.replace_head`` is refused.
    """
    resnet = build_model()
    widths = draw_rng().choice(np.arange(8, 200), size=2, replace=False)
    for original in (resnet, *(NarrowNet(int(w)) for w in widths)):
        problem = _five_class_problem(make_five_class, original)
        if problem is not None:
            return problem
    return Feedback.correct(f"Right: a fresh Linear({resnet.fc.in_features} -> 5) head, every "
                            "pretrained layer untouched, and it also fits a narrower model.")


def solution_make_five_class(model):
    """Model answer: read the width the old head receives, then put a new layer in its place."""
    in_features = model.fc.in_features          # 512 for ResNet18; never type it in
    model.fc = nn.Linear(in_features, 5)        # new, random, trainable


def check_head_only_count(answer, in_features: int = 512, num_classes: int = 5) -> Feedback:
    """Trainable parameters when only a Linear(in_features -> num_classes) head is trainable."""
    if is_unanswered(answer):
        return Feedback.unanswered("Not answered yet: set `head_params` to a whole number.")
    expected = in_features * num_classes + num_classes
    if answer == expected:
        return Feedback.correct(f"Yes: {in_features} × {num_classes} weights + {num_classes} biases = {expected}.")
    if answer == in_features * num_classes:
        return Feedback.incorrect("You counted the weights but not the biases.", "One bias per output.")
    if answer == in_features * num_classes + 1 or answer == in_features + num_classes:
        return Feedback.incorrect("Count the weight matrix and the bias vector separately.",
                                  "How many weights connect each input to each output? How many "
                                  "biases does each output have?")
    if isinstance(answer, (int, float)) and answer > 10 * expected:
        return Feedback.incorrect("Far too many: only the new head trains; the frozen body "
                                  "does not count.")
    return Feedback.incorrect("Not the head's count.", "A Linear layer has one weight per "
                              "(input, output) pair and one bias per output.")


def solution_head_params():
    """Model answer: only the new head trains. Linear(512 -> 5) has a 5 × 512 weight matrix
    and 5 biases; the frozen body's 11 million parameters do not count."""
    return 512 * 5 + 5


def check_head_path(answer, model: nn.Module) -> Feedback:
    """The learner names the last layer of an unfamiliar model as a dotted path, e.g. ``"fc"``.

    Correct when ``model.get_submodule(answer)`` is the model's last ``nn.Linear`` (the one that
    produces the class scores).
    """
    if is_unanswered(answer):
        return Feedback.unanswered("Not answered yet: set `head_path` to a string such as \"fc\".")
    if not isinstance(answer, str):
        return Feedback.incorrect(f"Expected a string such as \"fc\", got {type(answer).__name__}.")
    linears = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        return Feedback.incorrect(f"{type(model).__name__} has no nn.Linear layer to find.")
    last_name, last = linears[-1]
    try:
        found = model.get_submodule(answer.strip())
    except AttributeError:
        top = [name for name, _ in model.named_children()]
        return Feedback.incorrect(f"{type(model).__name__} has no sub-module {answer!r}.",
                                  f"Its top-level children are {top}; print(model) and look at the end.")
    if found is last:
        return Feedback.correct(f"Yes: {last_name} = Linear({last.in_features} -> {last.out_features}) "
                                "produces the class scores.")
    if isinstance(found, nn.Sequential) and any(m is last for m in found.modules()):
        return Feedback.incorrect(f"{answer!r} is a Sequential block that contains the last layer, "
                                  "and more (a hidden layer, dropout).",
                                  "Index into it: the last layer is one element of that block, "
                                  "written \"block.i\".")
    if isinstance(found, nn.Linear):
        return Feedback.incorrect(f"{answer!r} is a Linear({found.in_features} -> {found.out_features}), "
                                  "but not the last one: it does not output the class scores.",
                                  "Look for the Linear layer with 1000 outputs (one per ImageNet class).")
    return Feedback.incorrect(f"{answer!r} is a {type(found).__name__}, not the final Linear layer.",
                              "print(model) and read the last lines.")


def solution_head_path(model):
    """Model answer for MobileNetV3-Small. ``print(model)`` ends with::

        (classifier): Sequential(
          (0): Linear(in_features=576, out_features=1024, bias=True)
          (1): Hardswish()
          (2): Dropout(p=0.2, inplace=True)
          (3): Linear(in_features=1024, out_features=1000, bias=True)
        )

    The class scores come from element 3. Replacing only ``classifier[3]`` keeps the
    pretrained hidden layer Linear(576 -> 1024); ``replace_head`` swaps the whole
    ``classifier`` block for one Linear(576 -> k). Both are reasonable choices.
    """
    last = [name for name, m in model.named_modules() if isinstance(m, nn.Linear)][-1]
    return last                                   # "classifier.3"


PERCENT_TOLERANCE = 10.0
"""A prediction within this many percentage points of the count is a good one."""


_percent_number = number("a percentage", 0, 100)
_groups_problem = whole_number("n_groups", 1, 19, " (Lite0 has 19 groups)")


def _judge_percent(guess: float, settings: dict, counts: dict) -> Feedback:
    n = settings["n_groups"]
    measured = 100 * counts["trainable"] / counts["total"]
    text = (f"Training the last {n} group(s): {counts['trainable']:,} of {counts['total']:,} "
            f"parameters, {measured:.1f} %; you predicted {guess:g} %")
    if abs(guess - measured) <= PERCENT_TOLERANCE:
        return Feedback.correct(f"{text}. Within {PERCENT_TOLERANCE:g} points: a good prediction.")
    hint = ("The late blocks are the wide ones: a few groups at the end hold most of the "
            "parameters." if guess < measured else
            "The early blocks are narrow: unfreezing them adds few parameters.")
    return Feedback.incorrect(f"{text}: off by more than {PERCENT_TOLERANCE:g} points.", hint)


PERCENT = Experiment(
    "freeze_depth", settings=("n_groups",), parse=_percent_number,
    variable="predicted_percent", judge=_judge_percent, validate=_groups_problem,
    shown=[{"n_groups": n} for n in (1, 3, 19)],
    hint="Add up the last groups' sizes in the table above.")
"""Exercise 1: the share of Lite0's parameters that train when the last ``n_groups`` do."""


@PERCENT.measures
def freeze_experiment(model: nn.Module, n_groups: int) -> dict:
    """Exercise 1's measurement: ``models.freeze_all_but_last(model, n_groups)``, then
    ``models.count_parameters``; recorded for :data:`PERCENT`."""
    from .. import models

    if (problem := _groups_problem({"n_groups": n_groups})) is not None:
        raise ValueError(problem)
    models.freeze_all_but_last(model, n_groups)
    return models.count_parameters(model)


def solution_percent_prediction(n_groups, group_sizes):
    """A model prediction: the trainable share is the sum of the last ``n_groups`` groups'
    sizes over the total, read from the table of group sizes (``group_sizes`` in order)."""
    sizes = list(group_sizes)
    return 100 * sum(sizes[len(sizes) - n_groups:]) / sum(sizes)
