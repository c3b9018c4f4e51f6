"""Checks and model solutions for notebook 03's exercises.

>>> import torch
>>> solution_gd_step(torch.tensor([1.0]), torch.tensor([2.0]), 0.5)
tensor([0.])
>>> bool(check_gd_step(solution_gd_step))
True
"""
from __future__ import annotations

import torch

from . import Feedback, call_learner_code, check_prediction, is_unanswered

VERDICTS = ("too small", "good", "too large")


def check_gd_step(gd_step) -> Feedback:
    """The learner writes gd_step(theta, grad, lr) returning θ − η ∇L."""
    theta = torch.tensor([1.0, -2.0], dtype=torch.float64)
    grad = torch.tensor([0.5, 4.0], dtype=torch.float64)
    out, problem = call_learner_code(gd_step, theta.clone(), grad.clone(), 0.1)
    if problem is not None:
        return problem
    expected = theta - 0.1 * grad
    if torch.is_tensor(out) and out.shape == theta.shape:
        if torch.allclose(out, expected):
            return Feedback.correct("Correct: one step downhill, θ − η ∇L.")
        if torch.allclose(out, theta + 0.1 * grad):
            return Feedback.incorrect("You stepped uphill: θ + η ∇L increases the loss.",
                                      "The gradient points uphill.")
        if torch.allclose(out, theta - grad):
            return Feedback.incorrect("You forgot the learning rate η.")
    return Feedback.incorrect(f"gd_step([1, -2], [0.5, 4], 0.1) should be "
                              f"{expected.tolist()}, got {out!r}.")


def solution_gd_step(theta, grad, lr):
    """Model answer: move against the gradient (it points uphill), by η times its length."""
    return theta - lr * grad


def times_loss_went_up(losses) -> int:
    """How many steps increased the loss (an overshoot shows up here).

    >>> times_loss_went_up([3.0, 2.0, 2.5, 1.0])
    1
    """
    return sum(b > a + 1e-12 for a, b in zip(losses, losses[1:]))


def expected_verdicts(curves: dict[float, list[float]]) -> dict[float, str]:
    """"too large" if the loss ever went up (overshoot); of the others, the lowest final loss
    is "good" and the rest "too small"."""
    calm = {lr: c for lr, c in curves.items() if times_loss_went_up(c) == 0}
    best = min(calm, key=lambda lr: calm[lr][-1]) if calm else None
    return {lr: "too large" if lr not in calm else "good" if lr == best else "too small"
            for lr in curves}


def check_lr_verdicts(verdicts, curves: dict[float, list[float]]) -> Feedback:
    """The learner labels each η "too small", "good" or "too large" from its loss per step."""
    if is_unanswered(verdicts):
        return Feedback.unanswered("Not answered yet: fill the dictionary with one verdict per η.",
                                   "Look at the loss per step: does it fall steadily, crawl, "
                                   "or jump up on the way?")
    if not isinstance(verdicts, dict) or set(verdicts) != set(curves):
        return Feedback.incorrect(f"Give a verdict for exactly these η: {sorted(curves)}.")
    unknown = [v for v in verdicts.values() if str(v).strip().lower() not in VERDICTS]
    if unknown:
        return Feedback.incorrect(f"{unknown[0]!r} is not a verdict: use one of {VERDICTS}.")
    expected = expected_verdicts(curves)
    wrong = {lr: v for lr, v in verdicts.items() if str(v).strip().lower() != expected[lr]}
    if not wrong:
        return Feedback.correct("Right: too small crawls, too large overshoots (the loss goes up "
                                "on the way), in between falls fastest.")
    lr, v = sorted(wrong.items())[0]
    c = curves[lr]
    return Feedback.incorrect(f"η = {lr:g}: you said {v!r}; its loss went up on "
                              f"{times_loss_went_up(c)} of {len(c) - 1} steps and ended at "
                              f"{c[-1]:.3f}.",
                              "A loss that rises on some steps is overshooting, even if it "
                              "ends low; of the steady ones, compare how far each got.")


def solution_lr_verdicts(curves):
    """Model answer, read from the loss-per-step figure: a curve that jumps up overshoots
    ("too large"), whatever its final value; of the steady ones, the lowest end is "good",
    the others crawl ("too small")."""
    steady = {lr: c for lr, c in curves.items() if all(b <= a for a, b in zip(c, c[1:]))}
    best = min(steady, key=lambda lr: steady[lr][-1])
    return {lr: "too large" if lr not in steady else "good" if lr == best else "too small"
            for lr in curves}


def check_overshoot_prediction(prediction, lr: float, losses: list[float]) -> Feedback:
    """Change-and-predict: will the loss ever go up in 30 steps of GD at the learner's η?"""
    ups = times_loss_went_up(losses)
    return check_prediction(
        prediction, options=("goes up", "never goes up"),
        measured="goes up" if ups else "never goes up",
        result=(f"At η = {lr:g} the loss went up on {ups} of {len(losses) - 1} steps "
                f"(final {losses[-1]:.3f})"),
        before_running="Exercise 2's η values bracket the answer: which one did yours look like?",
        if_wrong="Overshooting starts when one step jumps past the valley floor; find the η "
                 "between your two runs where that begins.",
        next_step="Now try an η on the other side.")


def solution_overshoot_prediction(lr):
    """A model prediction. This valley is shallow (the loss is flat near its minimum), so
    gradient descent stays steady up to surprisingly large steps; measured in this notebook,
    η ≤ 20 never made the loss go up in 30 steps, η ≥ 30 did."""
    return "goes up" if lr >= 25 else "never goes up"
