"""Gradient descent by hand (article §4.2): θ ← θ − η ∇L, checked against autograd and torch.optim.

(Named ``descent``, not ``optim``, so it is not mistaken for ``torch.optim``.)

The running example is a two-parameter model, logistic regression ``f(w, b; x) = w x + b``,
so every path can be drawn on its loss surface.

>>> path = gradient_descent(lambda t: 2 * t, torch.tensor([1.0, -2.0]), lr=0.25, steps=2)
>>> path.tolist()
[[1.0, -2.0], [0.5, -1.0], [0.25, -0.5]]
"""
from __future__ import annotations

from typing import Callable

import torch

OPTIMIZERS = ("gd", "sgd", "momentum")


def finite_difference_grad(f: Callable[[torch.Tensor], torch.Tensor], theta: torch.Tensor,
                           eps: float = 1e-6) -> torch.Tensor:
    """Central differences ``(f(θ + ε e_i) − f(θ − ε e_i)) / 2ε`` for every coordinate (float64).

    >>> finite_difference_grad(lambda t: (t ** 2).sum(), torch.tensor([1.0, -3.0]))
    tensor([ 2.0000, -6.0000], dtype=torch.float64)
    """
    theta = theta.detach().double()
    grad = torch.zeros_like(theta)
    for i in range(theta.numel()):
        step = torch.zeros_like(theta).view(-1)
        step[i] = eps
        step = step.view_as(theta)
        grad.view(-1)[i] = (f(theta + step) - f(theta - step)) / (2 * eps)
    return grad


def autograd_grad(f: Callable[[torch.Tensor], torch.Tensor], theta: torch.Tensor) -> torch.Tensor:
    """∇f(θ) by automatic differentiation.

    >>> autograd_grad(lambda t: (t ** 2).sum(), torch.tensor([1.0, -3.0]))
    tensor([ 2., -6.])
    """
    theta = theta.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(f(theta), theta)
    return grad.detach()


def gradient_descent(grad_fn: Callable[[torch.Tensor], torch.Tensor], theta0: torch.Tensor, lr: float,
                     steps: int, momentum: float = 0.0) -> torch.Tensor:
    """The path θ₀, θ₁, …, θ_steps of ``θ ← θ − η v`` with ``v ← μ v + ∇L(θ)`` (μ = 0: plain GD).

    This is exactly the update of ``torch.optim.SGD(lr=η, momentum=μ)``.
    """
    if lr <= 0:
        raise ValueError(f"the learning rate must be positive, got {lr}.")
    theta = theta0.detach().clone()
    velocity = torch.zeros_like(theta)
    path = [theta.clone()]
    for _ in range(steps):
        g = grad_fn(theta)
        velocity = momentum * velocity + g if momentum else g
        theta = theta - lr * velocity
        path.append(theta.clone())
    return torch.stack(path)


def logistic_loss(theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean logistic loss of ``f(w, b; x) = w x + b`` with θ = (w, b).

    >>> round(float(logistic_loss(torch.zeros(2), torch.tensor([1.0, 2.0]), torch.tensor([0, 1]))), 4)  # log 2
    0.6931
    """
    z = theta[0] * x + theta[1]
    return torch.nn.functional.binary_cross_entropy_with_logits(z, y.to(z.dtype))


def optimizer_path(name: str, x: torch.Tensor, y: torch.Tensor, theta0, lr: float, steps: int,
                   batch_size: int = 8, momentum: float = 0.9, seed: int = 0) -> torch.Tensor:
    """Path of ``"gd"`` (full batch), ``"sgd"`` (mini-batches) or ``"momentum"`` on the logistic loss.

    >>> x = torch.tensor([-2.0, -1.0, 1.0, 2.0]); y = torch.tensor([0, 0, 1, 1])
    >>> path = optimizer_path("momentum", x, y, theta0=(0.0, 0.0), lr=0.5, steps=20)
    >>> path.shape, bool(logistic_loss(path[-1], x, y) < logistic_loss(path[0], x, y))
    (torch.Size([21, 2]), True)
    """
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}.")
    x, y = x.double(), y.double()
    theta0 = torch.as_tensor(theta0, dtype=torch.float64)
    if name == "sgd":
        g = torch.Generator().manual_seed(seed)
        batches = iter(())

        def grad_fn(theta):
            nonlocal batches
            idx = next(batches, None)
            if idx is None:
                batches = iter(torch.randperm(len(x), generator=g).split(batch_size))
                idx = next(batches)
            return autograd_grad(lambda t: logistic_loss(t, x[idx], y[idx]), theta)

        return gradient_descent(grad_fn, theta0, lr, steps)
    grad_fn = lambda theta: autograd_grad(lambda t: logistic_loss(t, x, y), theta)  # noqa: E731
    return gradient_descent(grad_fn, theta0, lr, steps, momentum=momentum if name == "momentum" else 0.0)


def torch_sgd_path(loss_fn: Callable[[torch.Tensor], torch.Tensor], theta0: torch.Tensor, lr: float,
                   steps: int, momentum: float = 0.0) -> torch.Tensor:
    """The same path as :func:`gradient_descent`, produced by ``torch.optim.SGD``.

    >>> torch_sgd_path(lambda t: (t ** 2).sum(), torch.tensor([1.0, -2.0]), lr=0.25, steps=2).tolist()
    [[1.0, -2.0], [0.5, -1.0], [0.25, -0.5]]
    """
    theta = torch.nn.Parameter(theta0.detach().clone())
    opt = torch.optim.SGD([theta], lr=lr, momentum=momentum)
    path = [theta.detach().clone()]
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(theta).backward()
        opt.step()
        path.append(theta.detach().clone())
    return torch.stack(path)
