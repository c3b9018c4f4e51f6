"""Checks for notebook 02's exercises."""
from __future__ import annotations

import torch

from . import Feedback, call_learner_code


def check_softmax(my_softmax) -> Feedback:
    """The learner implements softmax over the last axis of a (N, C) tensor."""
    torch.manual_seed(0)
    z = torch.randn(4, 3, dtype=torch.float64)
    out, problem = call_learner_code(my_softmax, z.clone())
    if problem is not None:
        return problem
    if not torch.is_tensor(out) or out.shape != z.shape:
        return Feedback.incorrect(f"Expected a tensor of shape {tuple(z.shape)}, got "
                                  f"{tuple(out.shape) if torch.is_tensor(out) else type(out).__name__}.")
    sums = out.sum(-1)
    if not torch.allclose(sums, torch.ones_like(sums), atol=1e-6):
        return Feedback.incorrect(f"Your rows sum to {sums[0]:.3f}, not 1.",
                                  "Divide exp(z) by its sum over the classes (dim=-1, keepdim=True).")
    if not torch.allclose(out, torch.softmax(z, -1), atol=1e-8):
        return Feedback.incorrect("Rows sum to 1 but the values differ from softmax.",
                                  "Use exp(z_j) / Σ_k exp(z_k) along the last axis.")
    big, problem = call_learner_code(my_softmax, torch.tensor([[1000.0, 0.0, -1000.0]], dtype=torch.float64))
    if problem is not None:
        return problem
    if not torch.isfinite(big).all():
        return Feedback.incorrect("Correct on ordinary logits, but exp(1000) overflows: you got nan/inf.",
                                  "Subtract the row maximum from z before exp; softmax does not change.")
    return Feedback.correct("Correct, and stable for logits of ±1000.")


def check_cross_entropy(my_cross_entropy) -> Feedback:
    """The learner implements the mean cross-entropy of logits (N, C) and labels (N,)."""
    torch.manual_seed(1)
    z = torch.randn(5, 4, dtype=torch.float64)
    y = torch.tensor([0, 3, 1, 1, 2])
    out, problem = call_learner_code(my_cross_entropy, z.clone(), y.clone())
    if problem is not None:
        return problem
    try:
        value = float(out)
    except (TypeError, ValueError, RuntimeError):
        return Feedback.incorrect(f"Return one number (the mean loss), got {type(out).__name__} "
                                  f"{tuple(out.shape) if torch.is_tensor(out) else ''}.",
                                  "Take .mean() of the per-example losses.")
    expected = float(torch.nn.functional.cross_entropy(z, y))
    if abs(value - expected) < 1e-8:
        return Feedback.correct(f"Correct: {value:.4f}, same as torch.nn.functional.cross_entropy.")
    if abs(value + expected) < 1e-8:
        return Feedback.incorrect("Your loss is negative: you forgot the minus sign in −log p_y.")
    if abs(value - expected * len(y)) < 1e-8:
        return Feedback.incorrect("That is the sum over examples; the exercise asks for the mean.")
    probs = torch.softmax(z, 1)[torch.arange(len(y)), y]
    if abs(value - float(-probs.mean())) < 1e-8 or abs(value - float((1 - probs).mean())) < 1e-8:
        return Feedback.incorrect("You used the probability itself, not its logarithm.",
                                  "The loss is −log softmax(z)_y.")
    return Feedback.incorrect(f"Got {value:.4f}, expected {expected:.4f}.",
                              "Pick, in each row of log_softmax(z), the entry of the true label: "
                              "log_softmax(z)[torch.arange(N), y].")
