"""Checks for notebook 05's exercises."""
from __future__ import annotations

import copy

import torch
from torch import nn

from . import Feedback, call_learner_code, is_unanswered


def check_five_class_head(make_five_class, build_model) -> Feedback:
    """The learner writes make_five_class(model) that gives a ResNet18 a new 5-output head."""
    original = build_model()
    model = copy.deepcopy(original)
    result, problem = call_learner_code(make_five_class, model, none_ok=True)
    if problem is not None:
        return problem
    model = result if isinstance(result, nn.Module) else model
    head = getattr(model, "fc", None)
    if result is None and isinstance(head, nn.Linear) and head.out_features == original.fc.out_features:
        return Feedback.unanswered("Not answered yet: model.fc is still the 1,000-class ImageNet layer.",
                                   "Replace it: model.fc = nn.Linear(model.fc.in_features, 5).")
    if not isinstance(head, nn.Linear):
        return Feedback.incorrect(f"model.fc is {type(head).__name__}, not an nn.Linear.",
                                  "Assign model.fc = nn.Linear(in_features, 5).")
    if head.out_features != 5:
        return Feedback.incorrect(f"The new head has {head.out_features} outputs; the task has 5 classes.")
    if head.in_features != original.fc.in_features:
        return Feedback.incorrect(f"The new head takes {head.in_features} inputs, but the layer before it "
                                  f"produces {original.fc.in_features} features.",
                                  "Read model.fc.in_features before replacing the layer.")
    changed = [name for name, p in original.named_parameters()
               if not name.startswith("fc.") and not torch.equal(p, dict(model.named_parameters())[name])]
    if changed:
        return Feedback.incorrect(f"You changed the pretrained layers too ({changed[0]}, …): only the head "
                                  "should be new.")
    with torch.no_grad():
        out = model.eval()(torch.rand(2, 3, 64, 64))
    if out.shape != (2, 5):
        return Feedback.incorrect(f"The model outputs shape {tuple(out.shape)}, expected (2, 5).")
    return Feedback.correct("Right: a fresh Linear(512 -> 5) head, every pretrained layer untouched.")


def check_head_only_count(answer, in_features: int = 512, num_classes: int = 5) -> Feedback:
    """Trainable parameters when only a Linear(in_features -> num_classes) head is trainable."""
    if is_unanswered(answer):
        return Feedback.unanswered("Not answered yet: set `head_params` to a whole number.")
    expected = in_features * num_classes + num_classes
    if answer == expected:
        return Feedback.correct(f"Yes: {in_features} × {num_classes} weights + {num_classes} biases = {expected}.")
    if answer == in_features * num_classes:
        return Feedback.incorrect("You counted the weights but not the biases.", "One bias per output.")
    return Feedback.incorrect(f"{answer} is not it.", "A Linear layer has in × out weights and out biases.")


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
                                  "Index into it: the last layer is one element of that block, e.g. \"block.3\".")
    if isinstance(found, nn.Linear):
        return Feedback.incorrect(f"{answer!r} is a Linear({found.in_features} -> {found.out_features}), "
                                  "but not the last one: it does not output the class scores.",
                                  "Look for the Linear layer with 1000 outputs (one per ImageNet class).")
    return Feedback.incorrect(f"{answer!r} is a {type(found).__name__}, not the final Linear layer.",
                              "print(model) and read the last lines.")
