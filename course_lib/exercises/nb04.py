"""Checks and model solutions for notebook 04's exercises.

>>> import torch
>>> round(solution_speedup_prediction(112), 2)
4.0
"""
from __future__ import annotations

import copy
from pathlib import Path

import torch

from . import Experiment, Feedback, call_learner_code, number, whole_number


def _same_predictions(a: torch.nn.Module, b: torch.nn.Module, x: torch.Tensor) -> bool:
    was_a, was_b = a.training, b.training
    a.eval()
    b.eval()
    try:
        with torch.no_grad():
            return torch.equal(a(x), b(x))
    finally:
        a.train(was_a)
        b.train(was_b)


def _is_placeholder(fn) -> bool:
    """True for a function whose body is still only ``...`` (or a docstring)."""
    code = getattr(fn, "__code__", None)
    return (code is not None and not code.co_names and not code.co_freevars
            and all(c is None or c is Ellipsis or isinstance(c, str) for c in code.co_consts))


def check_save_load(save, load, model: torch.nn.Module, x: torch.Tensor, folder) -> Feedback:
    """The learner writes ``save(model, path)`` and ``load(path) -> a fresh model``.

    The check saves with the learner's ``save``, loads with the learner's ``load``, then makes
    sure ``load`` really reads the file: it writes *different* weights to the same path and
    expects ``load`` to return them (a ``load`` that hands back the original model fails).
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file, save_file

    if _is_placeholder(save) or _is_placeholder(load):
        return Feedback.unanswered("Not answered yet: write the bodies of `save` and `load`.",
                                   "`checkpoints` has one function for each.")
    path = Path(folder) / "exercise_roundtrip.safetensors"
    path.unlink(missing_ok=True)
    _, problem = call_learner_code(save, model, path, none_ok=True)
    if problem is not None:
        return problem
    if not path.is_file():
        return Feedback.incorrect(f"`save` wrote no file at {path.name}.",
                                  "Use checkpoints.save_weights(model, path).")
    try:
        stored = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as error:
        return Feedback.incorrect(f"The file `save` wrote is not safetensors ({error}).",
                                  "torch.save writes a pickle; checkpoints.save_weights writes "
                                  "safetensors.")
    if set(stored) != set(model.state_dict()):
        return Feedback.incorrect("The saved file does not hold this model's state_dict.")
    reloaded, problem = call_learner_code(load, path)
    if problem is not None:
        return problem
    if not isinstance(reloaded, torch.nn.Module):
        return Feedback.incorrect(f"`load` should return a model, got {type(reloaded).__name__}.")
    if reloaded is model:
        return Feedback.incorrect("`load` returned the very model you saved: nothing was read "
                                  "back.", "Build a fresh pretrain.SmallCNN() inside `load`.")
    if not _same_predictions(reloaded, model, x):
        return Feedback.incorrect("The reloaded model predicts differently from the original.",
                                  "Load the file's weights into the fresh model before "
                                  "returning it.")
    other = copy.deepcopy(model)
    with torch.no_grad():
        for p in other.parameters():
            p.add_(0.5 * torch.randn_like(p))
    save_file({k: v.contiguous() for k, v in other.state_dict().items()}, str(path))
    again, problem = call_learner_code(load, path)
    path.unlink(missing_ok=True)
    if problem is not None:
        return problem
    if not isinstance(again, torch.nn.Module) or not _same_predictions(again, other, x):
        return Feedback.incorrect(
            "`load` does not read the file: after the check wrote different weights to the "
            "same path, `load` still returned the original ones (a copy kept in memory?).",
            "`load` must build its model from what is in `path`, and nothing else.")
    return Feedback.correct("Saved as safetensors, and `load` really reads the file: identical "
                            "predictions, and new weights in the file give a new model.")


def solution_save(model, path):
    """Model answer: only the weights, as safetensors (nothing in the file can run)."""
    from course_lib import checkpoints

    checkpoints.save_weights(model, path)


def solution_load(path):
    """Model answer: a fresh network of the same architecture, then the file's weights."""
    from course_lib import checkpoints, pretrain

    model = pretrain.SmallCNN(num_classes=5)
    checkpoints.load_weights(model, path)
    return model.eval()


TOLERANCE = 1.6
"""A predicted ratio within this factor of the measured FLOPs ratio is a good prediction."""


_speedup_number = number("a ratio of work", 1e-9, float("inf"),
                         outside="A ratio of work is a positive number (0.5 means twice the work).")
_size_problem = whole_number("image_size", 32, 640)


def _judge_speedup(guess: float, settings: dict, measured: dict) -> Feedback:
    size, ratio = settings["image_size"], measured["flops_ratio"]
    said = (f"Counted: a forward pass at 224×224 takes {ratio:.2f} times the FLOPs of one at "
            f"{size}×{size}; you predicted {guess:g}. (The clock, on this machine right now: "
            f"{measured['clock_ratio']:.2f} times.)")
    off = max(guess, ratio) / min(guess, ratio)
    if off <= TOLERANCE:
        return Feedback.correct(f"{said} Within a factor {TOLERANCE:g} of the count: a good "
                                "prediction. The clock adds fixed costs per layer and whatever "
                                "else the machine is doing, so it follows the count only roughly.")
    hint = ("Work grows with the number of pixels: the side squared."
            if abs(guess - 224 / size) < 1e-6 * max(1, guess) and size != 224 else
            "A convolution does the same work at every pixel of its input: count the pixels.")
    return Feedback.incorrect(f"{said} That is off by more than a factor {TOLERANCE:g} from the "
                              "count.", hint)


SPEEDUP = Experiment(
    "speedup", settings=("image_size",), parse=_speedup_number, variable="predicted_speedup",
    judge=_judge_speedup, unchanged={"image_size": 224}, validate=_size_problem,
    hint="A convolution does the same work at every pixel: count the pixels.")
"""Exercise 2: how many times less work (FLOPs) is one forward pass at ``image_size`` than at
224? Graded against the operation count, never against the clock (which a busy machine
distorts); the clock's ratio is shown beside it."""


@SPEEDUP.measures
def speedup_experiment(model: torch.nn.Module, image_size: int, batch_size: int = 4) -> dict:
    """Exercise 2's measurement: the FLOPs of one forward pass at 224 and at ``image_size``
    (``inspect_model.forward_flops``), and, for comparison only, their median time
    (``inspect_model.seconds_per_image``); recorded for :data:`SPEEDUP`."""
    from .. import inspect_model

    if (problem := _size_problem({"image_size": image_size})) is not None:
        raise ValueError(problem)
    big = torch.rand(batch_size, 3, 224, 224)
    small = torch.rand(batch_size, 3, image_size, image_size)
    flops_ratio = inspect_model.forward_flops(model, big[:1]) / inspect_model.forward_flops(model, small[:1])
    with torch.no_grad():
        clock_ratio = (inspect_model.seconds_per_image(model, big) /
                       inspect_model.seconds_per_image(model, small))
    return {"flops_ratio": flops_ratio, "clock_ratio": clock_ratio}


def solution_speedup_prediction(image_size):
    """A model prediction: every convolution does the same work at each output pixel, so the
    work scales with the number of pixels: (224 / size)²."""
    return (224 / image_size) ** 2
