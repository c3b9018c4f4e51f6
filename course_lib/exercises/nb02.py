"""Checks and model solutions for notebook 02's exercises.

The softmax and cross-entropy checks draw new random logits on every call and run the answer
under :class:`~course_lib.exercises.Forbidden`: an answer that calls a library softmax or loss
(PyTorch's, SciPy's, scikit-learn's, the course's, however imported) is told so, kindly.

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

import math

import numpy as np
import torch

from . import Experiment, Feedback, Forbidden, categorical, draw_rng

SOFTMAX = Forbidden(
    "a library softmax",
    ("torch.ops.aten._softmax", "torch.ops.aten._log_softmax", "torch.nn.functional.softmax",
     "torch.nn.functional.log_softmax", "torch.nn.functional.gumbel_softmax",
     "scipy.special.softmax", "scipy.special.log_softmax", "course_lib.objectives.softmax",
     "course_lib.objectives.log_softmax"),
    hint="Build it from z.max, exp and sum only.")
"""What ``my_softmax`` may not call (``nn.Softmax`` and ``torch.special.softmax`` reach the
same ATen operator as ``torch.softmax``)."""

CROSS_ENTROPY = Forbidden(
    "a library loss",
    ("torch.nn.functional.cross_entropy", "torch.nn.functional.nll_loss",
     "torch.ops.aten.nll_loss_forward", "torch.ops.aten.nll_loss2d_forward",
     "sklearn.metrics.log_loss", "course_lib.objectives.cross_entropy",
     "course_lib.objectives.empirical_risk"),
    hint="Start from obj.log_softmax(z, dim=1) and pick out the true class of each row.")
"""What ``my_cross_entropy`` may not call (``nn.CrossEntropyLoss`` and ``nn.NLLLoss`` go
through these)."""


def _as_tensor(out) -> torch.Tensor | None:
    """The learner's result as a float64 tensor (a NumPy array is fine too), or None."""
    try:
        return torch.as_tensor(np.asarray(out) if not torch.is_tensor(out) else out).double()
    except (TypeError, ValueError, RuntimeError):
        return None


def _softmax_cases(rng: np.random.Generator) -> list[torch.Tensor]:
    """Four random batches of logits (N, C); in the last, every row has a logit near +1000."""
    cases = []
    for scale in (1.0, 3.0, 10.0, 300.0):
        n, c = int(rng.integers(2, 7)), int(rng.integers(2, 8))
        z = rng.normal(0.0, scale, (n, c))
        if scale > 100:
            z[np.arange(n), rng.integers(0, c, n)] = rng.uniform(900.0, 1100.0, n)
        cases.append(torch.from_numpy(z))
    return cases


def check_softmax(my_softmax) -> Feedback:
    """The learner implements softmax over the last axis of a (N, C) tensor."""
    cases = _softmax_cases(draw_rng())
    for i, z in enumerate(cases):
        out, problem = SOFTMAX.call(my_softmax, z.clone())
        if problem is not None:
            return problem
        expected = torch.softmax(z, -1)
        got = _as_tensor(out)
        if got is None or got.shape != z.shape:
            shape = tuple(got.shape) if got is not None else type(out).__name__
            return Feedback.incorrect(f"For logits of shape {tuple(z.shape)} your function "
                                      f"returned {shape}: one probability per logit, same shape.")
        big = i == len(cases) - 1
        if not torch.isfinite(got).all():
            if big:
                return Feedback.incorrect("Correct on ordinary logits, but with logits of about "
                                          "±1000 your result holds nan or inf: exp overflows.",
                                          "Which constant can you subtract from every logit "
                                          "without changing softmax?")
            return Feedback.incorrect("Your result holds nan or inf on ordinary logits.")
        sums = got.sum(-1)
        if not torch.allclose(sums, torch.ones_like(sums), atol=1e-6):
            side = "more" if float(sums.max() - 1) > 1e-6 else "less"
            return Feedback.incorrect(f"Some of your rows sum to {side} than 1.",
                                      "Divide by the sum over the classes, one sum per row.")
        if (got < -1e-12).any():
            return Feedback.incorrect("Some of your probabilities are negative.")
        if not torch.allclose(got, expected, atol=1e-8, rtol=1e-6):
            if torch.allclose(got, torch.softmax(-z, -1), atol=1e-8):
                return Feedback.incorrect("Your rows sum to 1, but the smallest logit gets the "
                                          "largest probability: a sign is flipped.")
            return Feedback.incorrect("Your rows sum to 1, but the values are not softmax's.",
                                      "Compare your code with the definition in section 2, "
                                      "entry by entry, on a row of two logits.")
    return Feedback.correct("Correct on random logits, and stable for logits of about ±1000.")


def solution_softmax(z):
    """Model answer: subtract the row maximum (softmax does not change), then exp / sum."""
    z = z - z.max(dim=-1, keepdim=True).values      # largest logit becomes 0: no overflow
    e = z.exp()
    return e / e.sum(dim=-1, keepdim=True)


def _cross_entropy_cases(rng: np.random.Generator) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Three random batches: logits (N, C) and labels (N,)."""
    cases = []
    for scale in (1.0, 2.0, 5.0):
        n, c = int(rng.integers(3, 9)), int(rng.integers(2, 7))
        cases.append((torch.from_numpy(rng.normal(0.0, scale, (n, c))),
                      torch.from_numpy(rng.integers(0, c, n))))
    return cases


def check_cross_entropy(my_cross_entropy) -> Feedback:
    """The learner implements the mean cross-entropy of logits (N, C) and labels (N,)."""
    for z, y in _cross_entropy_cases(draw_rng()):
        out, problem = CROSS_ENTROPY.call(my_cross_entropy, z.clone(), y.clone())
        if problem is not None:
            return problem
        got = _as_tensor(out)
        if got is None or got.numel() != 1:
            shape = tuple(got.shape) if got is not None else type(out).__name__
            return Feedback.incorrect(f"Return one number (the mean loss over the batch), got "
                                      f"{shape}.", "Average the per-example losses.")
        value = float(got.reshape(()))
        per_example = -torch.log_softmax(z, 1)[torch.arange(len(y)), y]
        expected = float(per_example.mean())
        if math.isclose(value, expected, rel_tol=1e-7, abs_tol=1e-9):
            continue
        probs = torch.softmax(z, 1)[torch.arange(len(y)), y]
        if math.isclose(value, -expected, rel_tol=1e-7, abs_tol=1e-9):
            return Feedback.incorrect("Your loss is negative: the minus sign of −log p_y is "
                                      "missing.")
        if math.isclose(value, float(per_example.sum()), rel_tol=1e-7):
            return Feedback.incorrect("That is the sum over the examples; the exercise asks for "
                                      "the mean.")
        if any(math.isclose(value, float(v), rel_tol=1e-7, abs_tol=1e-9)
               for v in (-probs.mean(), (1 - probs).mean(), probs.mean())):
            return Feedback.incorrect("You used the probability itself, not its logarithm.")
        return Feedback.incorrect("On a random batch your loss is not the mean of −log "
                                  "softmax(z)_y.",
                                  "Each example contributes one entry of log_softmax(z): the "
                                  "one in its row at the column of its true label.")
    return Feedback.correct("Correct on random batches: the same loss as "
                            "torch.nn.functional.cross_entropy.")


def solution_cross_entropy(z, y):
    """Model answer: the log-probability of each row's true class, negated and averaged."""
    from course_lib import objectives as obj

    log_p = obj.log_softmax(z, dim=1)                 # (N, C), stable
    true_class = log_p[torch.arange(len(y)), y]       # row i, column y[i]
    return -true_class.mean()


# --------------------------------------------------------------------------- exercise 3
def _shrink_problem(settings: dict) -> str | None:
    shrink = settings["shrink"]
    if isinstance(shrink, bool) or not isinstance(shrink, (int, float)) or not shrink > 0 \
            or not math.isfinite(shrink):
        return f"`shrink` must be a positive number, got {shrink!r}."
    return None


SHRINK = Experiment(
    "shrink", settings=("shrink",), options=("lower", "higher"), unchanged={"shrink": 1},
    validate=_shrink_problem,
    judge=categorical(
        lambda s, m: ({"lower", "higher"} if abs(m[1] - m[0]) <= 1e-9 * abs(m[0]) else
                      {"lower"} if m[1] < m[0] else {"higher"}),
        lambda s, m: (f"at θ / {s['shrink']:g} the fine-tuning objective is {m[1]:.1f}, against "
                      f"{m[0]:.1f} at the pretrained θ"),
        if_wrong="Smaller logits mean less confident answers: that helps when the answers are "
                 "wrong, and hurts when they are right.",
        next_step="Now try a shrink on the other side of 1."),
    hint="Dividing θ divides every logit: are the pretrained model's answers for digits 5–9 "
         "confident and right, or confident and wrong?")
"""Exercise 3: predict whether the fine-tuning objective at θ / shrink is lower or higher.

There is no "about the same": the objective is convex in the scale 1/shrink and higher at the
pretrained θ than at 0, so every shrink ≠ 1 moves it strictly (shrink = 1 is no change, refused
from the setting); a move within rounding accepts both answers."""


@SHRINK.measures
def shrink_experiment(theta_pre: torch.Tensor, X_tgt: torch.Tensor, y_tgt: torch.Tensor,
                      shrink: float) -> tuple[float, float]:
    """Exercise 3's measurement: the fine-tuning objective Σ L(y'_i, f(θ; x'_i)) of the linear
    model at the pretrained θ and at θ / shrink (returned to :data:`SHRINK`, which checks)."""
    from .. import objectives as obj

    if (problem := _shrink_problem({"shrink": shrink})) is not None:
        raise ValueError(problem)
    f = lambda theta, x: obj.linear_model(theta, x, num_classes=5)  # noqa: E731
    with torch.no_grad():
        return (float(obj.empirical_risk(f, theta_pre, X_tgt, y_tgt)),
                float(obj.empirical_risk(f, theta_pre / shrink, X_tgt, y_tgt)))


def solution_shrink_prediction(shrink):
    """A model prediction. The pretrained θ gives confident answers about digits 0–4, all
    wrong for digits 5–9. Dividing θ by ``shrink > 1`` makes every answer less confident,
    moving the loss towards M·log 5 (all classes equally likely): lower. ``shrink < 1``
    multiplies the confidence of wrong answers: higher."""
    return "lower" if shrink > 1 else "higher"
