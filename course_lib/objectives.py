"""Objective functions from scratch: softmax, cross-entropy, empirical risk (article §4.1).

Written with NumPy-style torch operations and no ``torch.nn.functional`` so every step is
visible; the tests check each against PyTorch's own implementation.

>>> z = torch.tensor([[1000.0, 0.0, -1000.0]])
>>> softmax(z)                      # no overflow: the max is subtracted first
tensor([[1., 0., 0.]])
>>> float(cross_entropy(z, torch.tensor([1])))
1000.0
"""
from __future__ import annotations

from typing import Callable

import torch


def logsumexp(z: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``log Σ exp(z)`` along ``dim``, computed stably as ``m + log Σ exp(z - m)`` with ``m = max z``.

    >>> logsumexp(torch.tensor([1000.0, 1000.0]))          # log(2 e^1000), no overflow
    tensor(1000.69...)
    """
    m = z.max(dim=dim, keepdim=True).values
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    return (m + (z - m).exp().sum(dim=dim, keepdim=True).log()).squeeze(dim)


def log_softmax(z: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``log softmax(z) = z - logsumexp(z)``: finite even for logits like ±10⁴.

    >>> log_softmax(torch.tensor([0.0, -1e4]))
    tensor([     0., -10000.])
    """
    return z - logsumexp(z, dim).unsqueeze(dim)


def softmax(z: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Class probabilities ``exp(z_j) / Σ_k exp(z_k)``, via the stable :func:`log_softmax`.

    >>> softmax(torch.tensor([0.0, 0.0, 0.0, 0.0]))
    tensor([0.2500, 0.2500, 0.2500, 0.2500])
    """
    return log_softmax(z, dim).exp()


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """``L(y, z) = -log softmax(z)_y``, averaged (``"mean"``), summed (``"sum"``) or per example (``"none"``).

    >>> cross_entropy(torch.zeros(2, 4), torch.tensor([0, 3]), reduction="none")   # log 4 each
    tensor([1.3863, 1.3863])
    """
    if logits.ndim != 2 or labels.ndim != 1 or len(logits) != len(labels):
        raise ValueError(f"expected logits (N, C) and labels (N,), got {tuple(logits.shape)} and "
                         f"{tuple(labels.shape)}.")
    per_example = -log_softmax(logits, dim=1).gather(1, labels.long().unsqueeze(1)).squeeze(1)
    if reduction == "none":
        return per_example
    if reduction == "sum":
        return per_example.sum()
    if reduction == "mean":
        return per_example.mean()
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}.")


def linear_model(theta: torch.Tensor, x: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``f(θ; x) = x W + b`` with θ the flattened ``(W, b)``: the simplest model with the article's signature.

    >>> linear_model(torch.arange(6.0), torch.tensor([[1.0, 1.0]]), num_classes=2)  # W = [[0, 1], [2, 3]], b = [4, 5]
    tensor([[6., 9.]])
    """
    d = x.shape[1]
    if theta.numel() != (d + 1) * num_classes:
        raise ValueError(f"theta has {theta.numel()} numbers; a linear model from {d} features to "
                         f"{num_classes} classes needs {(d + 1) * num_classes}.")
    W = theta[: d * num_classes].view(d, num_classes)
    b = theta[d * num_classes:]
    return x @ W + b


def empirical_risk(f: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], theta: torch.Tensor,
                   x: torch.Tensor, y: torch.Tensor, loss=cross_entropy) -> torch.Tensor:
    """``Σ_i L(y_i, f(θ; x_i))`` over the dataset: the objective the article minimises (§4.1).

    >>> f = lambda theta, x: linear_model(theta, x, 2)
    >>> empirical_risk(f, torch.zeros(6), torch.rand(3, 2), torch.tensor([0, 1, 1]))   # 3 × log 2
    tensor(2.0794)
    """
    return loss(f(theta, x), y, reduction="sum")


def logistic_loss_surface(x: torch.Tensor, y: torch.Tensor, weights, biases) -> torch.Tensor:
    """Mean logistic loss of ``f(w, b; x) = w x + b`` on a grid: shape ``(len(biases), len(weights))``.

    A two-parameter model, so its whole loss surface can be drawn (notebooks 02 and 03).

    >>> surface = logistic_loss_surface(torch.tensor([1.0, -1.0]), torch.tensor([1, 0]), [0.0, 1.0], [0.0])
    >>> surface.shape, round(float(surface[0, 0]), 4)                  # w = b = 0: log 2
    (torch.Size([1, 2]), 0.6931)
    """
    w = torch.as_tensor(weights, dtype=torch.float64).view(1, -1, 1)
    b = torch.as_tensor(biases, dtype=torch.float64).view(-1, 1, 1)
    z = w * x.double().view(1, 1, -1) + b                        # (B, W, N) logits of class 1
    # -log sigmoid(z) for y=1 and -log(1 - sigmoid(z)) for y=0, both stably via softplus
    yy = y.double().view(1, 1, -1)
    loss = torch.nn.functional.softplus(-z) * yy + torch.nn.functional.softplus(z) * (1 - yy)
    return loss.mean(-1)
