"""Checks and model solutions for notebook 03's exercises.

>>> import torch
>>> solution_gd_step(torch.tensor([1.0]), torch.tensor([2.0]), 0.5)
tensor([0.])
>>> bool(check_gd_step(solution_gd_step)), bool(check_momentum(solution_momentum_descent))
(True, True)
"""
from __future__ import annotations

import numpy as np
import torch

from . import Experiment, Feedback, Forbidden, call_learner_code, categorical, draw_rng, \
    is_unanswered

VERDICTS = ("too small", "good", "too large")

RISE = 1e-3
"""A step "goes up" when it raises the loss by more than this (a rise you can see on the plot)."""

NOISE = 1e-5
"""Rises smaller than this are rounding: the loss "never goes up". In between, both readings."""


def _as_tensor(out):
    try:
        return torch.as_tensor(np.asarray(out) if not torch.is_tensor(out) else out).double()
    except (TypeError, ValueError, RuntimeError):
        return None


# --------------------------------------------------------------------------- exercise 1
def _step_cases(rng: np.random.Generator) -> list[tuple[torch.Tensor, torch.Tensor, float]]:
    """Four random (θ, ∇L, η): vectors of 1 to 5 numbers, η between 0.01 and 2."""
    cases = []
    for _ in range(4):
        d = int(rng.integers(1, 6))
        cases.append((torch.from_numpy(rng.normal(0, 3, d)), torch.from_numpy(rng.normal(0, 3, d)),
                      float(rng.choice([0.01, 0.1, 0.3, 0.5, 1.5, 2.0]))))
    return cases


def check_gd_step(gd_step) -> Feedback:
    """The learner writes gd_step(theta, grad, lr) returning θ − η ∇L; four random cases."""
    for theta, grad, lr in _step_cases(draw_rng()):
        out, problem = call_learner_code(gd_step, theta.clone(), grad.clone(), lr)
        if problem is not None:
            return problem
        got = _as_tensor(out)
        if got is None or got.shape != theta.shape:
            shape = tuple(got.shape) if got is not None else type(out).__name__
            return Feedback.incorrect(f"For θ of shape {tuple(theta.shape)} your step returned "
                                      f"{shape}: the new θ has the shape of the old one.")
        if torch.allclose(got, theta - lr * grad, rtol=1e-7, atol=1e-9):
            continue
        if torch.allclose(got, theta + lr * grad, rtol=1e-7, atol=1e-9):
            return Feedback.incorrect("You stepped uphill: adding the gradient increases the loss.",
                                      "The gradient points uphill.")
        if torch.allclose(got, theta - grad, rtol=1e-7, atol=1e-9):
            return Feedback.incorrect("Your step ignores the learning rate η.")
        if torch.allclose(got, -lr * grad, rtol=1e-7, atol=1e-9):
            return Feedback.incorrect("You returned the step alone: the new θ starts from the "
                                      "old one.")
        return Feedback.incorrect(f"On a random θ with η = {lr:g} your step lands somewhere "
                                  "else than one gradient-descent step.",
                                  "Reread the update at the top of the notebook.")
    return Feedback.correct("Correct on random θ, ∇L and η: one step downhill.")


def solution_gd_step(theta, grad, lr):
    """Model answer: move against the gradient (it points uphill), by η times its length."""
    return theta - lr * grad


# --------------------------------------------------------------------------- exercise 2: momentum
MOMENTUM = Forbidden(
    "the course's or PyTorch's optimizer",
    ("course_lib.descent.gradient_descent", "course_lib.descent.optimizer_path",
     "course_lib.descent.torch_sgd_path", "torch.optim.SGD.step", "torch.optim.sgd.sgd"),
    hint="Two lines inside the loop: update the velocity, then θ.")


def _momentum_cases(rng: np.random.Generator) -> list[dict]:
    """Three random quadratic bowls L(θ) = ½ θᵀAθ − bᵀθ with η, μ and a number of steps."""
    cases = []
    for _ in range(3):
        d = int(rng.integers(2, 4))
        q = np.linalg.qr(rng.normal(size=(d, d)))[0]
        eig = rng.uniform(0.5, 5.0, d)
        cases.append({"A": torch.from_numpy(q @ np.diag(eig) @ q.T), "b": torch.from_numpy(rng.normal(0, 2, d)),
                      "theta0": torch.from_numpy(rng.normal(0, 3, d)),
                      "lr": float(rng.uniform(0.02, 0.3) / eig.max()),
                      "mu": float(rng.choice([0.5, 0.8, 0.9])), "steps": int(rng.integers(6, 15))})
    return cases


def check_momentum(momentum_descent) -> Feedback:
    """The learner writes ``momentum_descent(grad_fn, theta0, lr, mu, steps)``: the path
    θ₀ … θ_steps of gradient descent with momentum. Compared, θ by θ, with the update of
    section 2 on random quadratic bowls (the velocity's own scale is the learner's choice:
    ``v ← μv + ∇L, θ ← θ − ηv`` and ``v ← μv + η∇L, θ ← θ − v`` give the same path)."""
    from .. import descent

    for case in _momentum_cases(draw_rng()):
        A, b, theta0, lr, mu, steps = (case[k] for k in ("A", "b", "theta0", "lr", "mu", "steps"))
        grad_fn = lambda t, A=A, b=b: A @ t - b  # noqa: E731
        out, problem = MOMENTUM.call(momentum_descent, grad_fn, theta0.clone(), lr, mu, steps)
        if problem is not None:
            return problem
        got = _as_tensor(out)
        if got is None or got.ndim != 2 or got.shape != (steps + 1, len(theta0)):
            shape = tuple(got.shape) if got is not None else type(out).__name__
            return Feedback.incorrect(f"For {steps} steps your path has shape {shape}: one row "
                                      f"per θ, θ₀ included, so {steps + 1} rows of "
                                      f"{len(theta0)} numbers.")
        want = descent.gradient_descent(grad_fn, theta0, lr, steps, momentum=mu)
        if torch.allclose(got, want, rtol=1e-7, atol=1e-9):
            continue
        if torch.equal(got, theta0.double().expand_as(got)):
            return Feedback.unanswered("Not answered yet: θ never moves. Replace `...` with the "
                                       "two lines: the new velocity, then the new θ.")
        if torch.allclose(got, got[-1].expand_as(got)) or (got[1:] == got[1:2]).all():
            return Feedback.incorrect("Every row of your path is the same: an in-place update "
                                      "(`theta -= ...`) also changes the θ already stored.",
                                      "Write theta = theta - ... so each step makes a new tensor.")
        if not torch.allclose(got[0], theta0):
            return Feedback.incorrect("Your path does not start at θ₀.")
        plain = descent.gradient_descent(grad_fn, theta0, lr, steps)
        if torch.allclose(got, plain, rtol=1e-7, atol=1e-9):
            return Feedback.incorrect("That is plain gradient descent: the velocity never "
                                      "builds up.", "Carry the velocity over from one step to "
                                      "the next: μ times the old one, plus the new gradient.")
        first = theta0 - lr * grad_fn(theta0)
        if not torch.allclose(got[1], first, rtol=1e-7, atol=1e-9):
            return Feedback.incorrect("Your first step is already off: starting from a velocity "
                                      "of zero, the first momentum step is a plain "
                                      "gradient-descent step.")
        off = int(next(i for i in range(len(got)) if not torch.allclose(got[i], want[i], rtol=1e-7,
                                                                         atol=1e-9)))
        return Feedback.incorrect(f"Your path leaves momentum's at step {off} (the first "
                                  f"{off - 1} step{'s are' if off > 2 else ' is'} right).",
                                  "The new velocity is μ times the previous velocity plus the "
                                  "gradient at the current θ.")
    return Feedback.correct("Correct on three random bowls: the same path as torch.optim.SGD "
                            "with momentum.")


def solution_momentum_descent(grad_fn, theta0, lr, mu, steps):
    """Model answer: PyTorch's convention, v ← μ v + ∇L(θ), then θ ← θ − η v."""
    theta, velocity = theta0.clone(), torch.zeros_like(theta0)
    path = [theta]
    for _ in range(steps):
        velocity = mu * velocity + grad_fn(theta)     # remember where the gradients pointed
        theta = theta - lr * velocity                 # step along the accumulated direction
        path.append(theta)
    return torch.stack(path)


# --------------------------------------------------------------------------- exercise 3: verdicts
def times_loss_went_up(losses, by: float = RISE) -> int:
    """How many steps raised the loss by more than ``by`` (an overshoot shows up here).

    >>> times_loss_went_up([3.0, 2.0, 2.5, 1.0])
    1
    """
    return sum(b > a + by for a, b in zip(losses, losses[1:]))


def expected_verdicts(curves: dict[float, list[float]]) -> dict[float, set[str]]:
    """The accepted verdicts per η: "too large" if the loss ever went up by more than
    :data:`RISE`; of the others, the lowest final loss is "good" and the rest "too small"
    (two final losses within 1 % of each other are a tie: both readings are right)."""
    calm = {lr: c for lr, c in curves.items() if times_loss_went_up(c) == 0}
    best = min(c[-1] for c in calm.values()) if calm else None
    verdicts = {}
    for lr, c in curves.items():
        if lr not in calm:
            verdicts[lr] = {"too large"}
        elif c[-1] <= best * 1.01:
            verdicts[lr] = {"good"} | ({"too small"} if c[-1] > best else set())
        else:
            verdicts[lr] = {"too small"}
    return verdicts


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
    accepted = expected_verdicts(curves)
    wrong = {lr: v for lr, v in verdicts.items() if str(v).strip().lower() not in accepted[lr]}
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


# --------------------------------------------------------------------------- exercise 4: overshoot
def _lr_problem(settings: dict) -> str | None:
    lr = settings["lr"]
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr <= 1000:
        return f"`lr` must be a positive number (up to 1000), got {lr!r}."
    return None


def _overshoot_outcome(settings: dict, losses: list[float]) -> set[str]:
    rise = max((b - a for a, b in zip(losses, losses[1:])), default=0.0)
    if rise > RISE:
        return {"goes up"}
    return {"never goes up"} if rise < NOISE else {"goes up", "never goes up"}


OVERSHOOT = Experiment(
    "overshoot", settings=("lr",), options=("goes up", "never goes up"), validate=_lr_problem,
    shown=[{"lr": lr} for lr in (0.05, 0.5, 1.0, 5.0, 100.0)],
    judge=categorical(
        _overshoot_outcome,
        lambda s, m: (f"at η = {s['lr']:g} the loss rose by more than {RISE:g} on "
                      f"{times_loss_went_up(m)} of {len(m) - 1} steps (final {m[-1]:.3f})"),
        if_wrong="Overshooting starts when one step jumps past the valley floor; find the η "
                 "between your runs where that begins.",
        next_step="Now try an η on the other side."),
    hint="Exercise 3's η values bracket the answer: which one did yours look like?")
"""Exercise 4: will the loss ever go up (by more than :data:`RISE`) in 30 steps at your η?"""


@OVERSHOOT.measures
def overshoot_experiment(x: torch.Tensor, y: torch.Tensor, theta0: torch.Tensor,
                         lr: float) -> list[float]:
    """Exercise 4's measurement: 30 steps of gradient descent at η = ``lr`` from ``theta0``
    (``descent.optimizer_path``); the loss at every θ, recorded for :data:`OVERSHOOT`."""
    from .. import descent

    if (problem := _lr_problem({"lr": lr})) is not None:
        raise ValueError(problem)
    path = descent.optimizer_path("gd", x, y, theta0, lr=lr, steps=30)
    return [float(descent.logistic_loss(t, x.double(), y.double())) for t in path]


def solution_overshoot_prediction(lr):
    """A model prediction. This valley is shallow (the loss is flat near its minimum), so
    gradient descent stays steady up to surprisingly large steps: measured in this notebook,
    up to η ≈ 33 no step raised the loss by more than 0.001 in 30 steps, and from η ≈ 34 on,
    steps overshoot and the loss goes up."""
    return "goes up" if lr >= 34 else "never goes up"
