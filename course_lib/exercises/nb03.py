"""Checks for notebook 03's exercises."""
from __future__ import annotations

import torch

from . import Feedback, call_learner_code, is_unanswered


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
                                      "The gradient points uphill; subtract it.")
        if torch.allclose(out, theta - grad):
            return Feedback.incorrect("You forgot the learning rate η.")
    return Feedback.incorrect(f"gd_step([1, -2], [0.5, 4], 0.1) should be {expected.tolist()}, got {out!r}.")


def check_lr_verdicts(verdicts, final_losses: dict[float, float], start_loss: float) -> Feedback:
    """The learner labels each learning rate "too small", "good" or "too large" from its final loss."""
    if is_unanswered(verdicts):
        return Feedback.unanswered("Not answered yet: fill the dictionary with one verdict per η.")
    if not isinstance(verdicts, dict) or set(verdicts) != set(final_losses):
        return Feedback.incorrect(f"Give a verdict for exactly these η: {sorted(final_losses)}.")
    best = min(final_losses, key=final_losses.get)
    expected = {}
    for lr, loss in final_losses.items():
        if lr == best:
            expected[lr] = "good"
        elif loss > start_loss or lr > best:
            expected[lr] = "too large"
        else:
            expected[lr] = "too small"
    wrong = {lr: v for lr, v in verdicts.items() if str(v).strip().lower() != expected[lr]}
    if not wrong:
        return Feedback.correct("Right: too small crawls, too large overshoots or diverges, "
                                "in between converges fastest.")
    lr, v = sorted(wrong.items())[0]
    return Feedback.incorrect(f"η = {lr}: you said {v!r}, but its final loss is {final_losses[lr]:.3f} "
                              f"(start {start_loss:.3f}, best {final_losses[best]:.3f} at η = {best}).",
                              "Compare each final loss with the start and with the best one.")
