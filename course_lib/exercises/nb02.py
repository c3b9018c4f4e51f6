"""Checks and model solutions for notebook 02's exercises.

The softmax and cross-entropy checks watch the library functions the learner is asked to
write (``torch.softmax``, ``F.cross_entropy``, ``objectives.softmax``, …): an answer that
calls one is told so, kindly, instead of being marked correct.

>>> import torch
>>> z = torch.tensor([[1000.0, 0.0, -1000.0]])
>>> solution_softmax(z)
tensor([[1., 0., 0.]])
>>> bool(check_softmax(solution_softmax)), bool(check_cross_entropy(solution_cross_entropy))
(True, True)
>>> check_softmax(lambda z: torch.softmax(z, -1)).status
'incorrect'
"""
from __future__ import annotations

import contextlib
import importlib
from typing import Iterator

import torch

from . import Feedback, call_learner_code, check_prediction, names_used

_MISSING = object()

SOFTMAX_FUNCTIONS = ("torch.softmax", "torch.nn.functional.softmax", "torch.Tensor.softmax",
                     "torch.special.softmax", "course_lib.objectives.softmax",
                     "torch.log_softmax", "torch.nn.functional.log_softmax",
                     "torch.Tensor.log_softmax", "torch.special.log_softmax",
                     "course_lib.objectives.log_softmax")
"""What ``my_softmax`` may not call (``nn.Softmax`` goes through ``F.softmax``)."""

CROSS_ENTROPY_FUNCTIONS = ("torch.nn.functional.cross_entropy", "course_lib.objectives.cross_entropy",
                           "torch.nn.functional.nll_loss")
"""What ``my_cross_entropy`` may not call (``nn.CrossEntropyLoss`` and ``nn.NLLLoss`` go
through these)."""


def _resolve(dotted: str):
    """``"torch.nn.functional.softmax"`` -> (the owner object, ``"softmax"``)."""
    owner_path, name = dotted.rsplit(".", 1)
    try:
        return importlib.import_module(owner_path), name
    except ModuleNotFoundError:
        module_path, cls = owner_path.rsplit(".", 1)
        return getattr(importlib.import_module(module_path), cls), name


@contextlib.contextmanager
def watching(functions) -> Iterator[list[str]]:
    """Inside the block, calls to the named functions still work but are recorded.

    >>> with watching(["torch.softmax"]) as called:
    ...     _ = torch.softmax(torch.zeros(1, 2), -1)
    >>> called
    ['torch.softmax']
    """
    called: list[str] = []
    saved = []
    for dotted in functions:
        owner, name = _resolve(dotted)
        original = getattr(owner, name)
        own = owner.__dict__.get(name, _MISSING) if isinstance(owner, type) else original

        def spy(*args, _original=original, _dotted=dotted, **kwargs):
            called.append(_dotted)
            return _original(*args, **kwargs)

        saved.append((owner, name, own))
        setattr(owner, name, spy)
    try:
        yield called
    finally:
        for owner, name, own in reversed(saved):
            if own is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, own)



def _bypass(fn, called: list[str], functions, names) -> str | None:
    """The library function an answer relies on, if any: passed as is, named in its code
    (catches ``from torch.nn.functional import softmax``), or called while watched."""
    if called:
        return called[0]
    for dotted in functions:
        owner, name = _resolve(dotted)
        if fn is getattr(owner, name, None):
            return dotted
    used = sorted(names_used(fn) & set(names))
    return used[0] if used else None


def _bypass_feedback(fn, called, functions, names, why: str, hint: str) -> Feedback | None:
    """Kind feedback when the learner's ``fn`` calls a library function that does the exercise."""
    bypass = _bypass(fn, called, functions, names)
    if bypass is None:
        return None
    return Feedback.incorrect(f"Your function calls {_short(bypass)}, {why}, so the check cannot "
                              "tell whether your own version works.", hint)


def _short(dotted: str) -> str:
    return (dotted.replace("torch.nn.functional.", "F.").replace("course_lib.objectives.", "obj.")
            .replace("torch.Tensor.", "Tensor."))


def check_softmax(my_softmax) -> Feedback:
    """The learner implements softmax over the last axis of a (N, C) tensor."""
    torch.manual_seed(0)
    z = torch.randn(4, 3, dtype=torch.float64)
    expected = torch.softmax(z, -1)
    big = torch.tensor([[1000.0, 0.0, -1000.0]], dtype=torch.float64)
    with watching(SOFTMAX_FUNCTIONS) as called:
        out, problem = call_learner_code(my_softmax, z.clone())
        big_out, big_problem = (None, None) if problem else call_learner_code(my_softmax, big)
    bypass = _bypass_feedback(my_softmax, called, SOFTMAX_FUNCTIONS,
                              ("softmax", "log_softmax", "Softmax", "LogSoftmax"),
                              "the very function this exercise asks you to write",
                              "Build it from z.max, z.exp and .sum only.")
    if bypass is not None:
        return bypass
    if problem is not None:
        return problem
    if not torch.is_tensor(out) or out.shape != z.shape:
        got = tuple(out.shape) if torch.is_tensor(out) else type(out).__name__
        return Feedback.incorrect(f"Expected a tensor of shape {tuple(z.shape)}, got {got}.")
    sums = out.sum(-1)
    if not torch.allclose(sums, torch.ones_like(sums), atol=1e-6):
        return Feedback.incorrect(f"Your rows sum to {sums[0]:.3f}, not 1.",
                                  "Divide by the sum over the classes, one sum per row.")
    if not torch.allclose(out, expected, atol=1e-8):
        return Feedback.incorrect("Rows sum to 1 but the values differ from softmax.",
                                  "Each entry is exp(z_j) / Σ_k exp(z_k), along the last axis.")
    if big_problem is not None:
        return big_problem
    if not torch.is_tensor(big_out) or not torch.isfinite(big_out).all():
        return Feedback.incorrect("Correct on ordinary logits, but exp(1000) overflows: you got "
                                  "nan/inf.", "Which constant can you subtract from every logit "
                                  "without changing softmax?")
    return Feedback.correct("Correct, and stable for logits of ±1000.")


def solution_softmax(z):
    """Model answer: subtract the row maximum (softmax does not change), then exp / sum."""
    z = z - z.max(dim=-1, keepdim=True).values      # largest logit becomes 0: no overflow
    e = z.exp()
    return e / e.sum(dim=-1, keepdim=True)


def check_cross_entropy(my_cross_entropy) -> Feedback:
    """The learner implements the mean cross-entropy of logits (N, C) and labels (N,)."""
    torch.manual_seed(1)
    z = torch.randn(5, 4, dtype=torch.float64)
    y = torch.tensor([0, 3, 1, 1, 2])
    expected = float(torch.nn.functional.cross_entropy(z, y))
    probs = torch.softmax(z, 1)[torch.arange(len(y)), y]
    with watching(CROSS_ENTROPY_FUNCTIONS) as called:
        out, problem = call_learner_code(my_cross_entropy, z.clone(), y.clone())
    bypass = _bypass_feedback(my_cross_entropy, called, CROSS_ENTROPY_FUNCTIONS,
                              ("cross_entropy", "CrossEntropyLoss", "nll_loss", "NLLLoss"),
                              "which computes the loss for you",
                              "Start from obj.log_softmax(z, dim=1) and pick out the true class "
                              "of each row.")
    if bypass is not None:
        return bypass
    if problem is not None:
        return problem
    try:
        value = float(out)
    except (TypeError, ValueError, RuntimeError):
        shape = tuple(out.shape) if torch.is_tensor(out) else ""
        return Feedback.incorrect(f"Return one number (the mean loss), got "
                                  f"{type(out).__name__} {shape}.",
                                  "Average the per-example losses.")
    if abs(value - expected) < 1e-8:
        return Feedback.correct(f"Correct: {value:.4f}, same as "
                                "torch.nn.functional.cross_entropy.")
    if abs(value + expected) < 1e-8:
        return Feedback.incorrect("Your loss is negative: you forgot the minus sign in −log p_y.")
    if abs(value - expected * len(y)) < 1e-8:
        return Feedback.incorrect("That is the sum over examples; the exercise asks for the mean.")
    if abs(value - float(-probs.mean())) < 1e-8 or abs(value - float((1 - probs).mean())) < 1e-8:
        return Feedback.incorrect("You used the probability itself, not its logarithm.",
                                  "The loss is −log softmax(z)_y.")
    return Feedback.incorrect(f"Got {value:.4f}, expected {expected:.4f}.",
                              "Each example contributes one entry of log_softmax(z): the one in "
                              "its row at the column of its true label.")


def solution_cross_entropy(z, y):
    """Model answer: the log-probability of each row's true class, negated and averaged."""
    from course_lib import objectives as obj

    log_p = obj.log_softmax(z, dim=1)                 # (N, C), stable
    true_class = log_p[torch.arange(len(y)), y]       # row i, column y[i]
    return -true_class.mean()


def check_shrink_prediction(prediction, shrink: float, loss_before: float,
                            loss_after: float) -> Feedback:
    """Change-and-predict: the target loss of the pretrained θ, before and after θ / shrink.

    ``prediction`` is ``"lower"`` or ``"higher"`` (the loss after dividing θ by ``shrink``),
    written before running; the two losses are the learner's own measurements.
    """
    measured = "lower" if loss_after < loss_before else "higher"
    return check_prediction(
        prediction, options=("lower", "higher"), measured=measured,
        result=(f"θ / {shrink:g}: the fine-tuning objective went from {loss_before:.1f} to "
                f"{loss_after:.1f}"),
        before_running="Dividing θ divides every logit: are the pretrained model's answers for "
                       "digits 5–9 confident and right, or confident and wrong?",
        if_wrong="Smaller logits mean less confident answers: that helps when the answers are "
                 "wrong, and hurts when they are right.")


def solution_shrink_prediction(shrink):
    """A model prediction. The pretrained θ gives confident answers about digits 0–4, all
    wrong for digits 5–9. Dividing θ by ``shrink > 1`` makes every answer less confident,
    moving the loss towards M·log 5 (all classes equally likely): lower. ``shrink < 1``
    multiplies the confidence of wrong answers: higher."""
    return "lower" if shrink > 1 else "higher"
