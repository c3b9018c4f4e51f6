"""Reproducibility: one call seeds every random number generator the course uses."""
from __future__ import annotations

import os
import random

import numpy as np
import torch


def seed_everything(seed: int = 0, *, deterministic: bool = True) -> int:
    """Seed Python, NumPy and PyTorch so a notebook gives the same numbers twice.

    With ``deterministic=True`` PyTorch is asked to use deterministic kernels
    (``torch.use_deterministic_algorithms(True, warn_only=True)``), which on a CPU costs
    nothing measurable. Returns the seed so a cell can print it.

    >>> seed_everything(0)
    0
    >>> import torch; a = torch.rand(2); _ = seed_everything(0); bool((a == torch.rand(2)).all())
    True
    """
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}.")
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
    return seed


def torch_generator(seed: int):
    """A ``torch.Generator`` seeded with ``seed`` (for DataLoader shuffling and splits).

    >>> g = torch_generator(1); g.initial_seed()
    1
    """
    g = torch.Generator()
    g.manual_seed(seed)
    return g
