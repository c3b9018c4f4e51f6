"""Where tensors live: pick CUDA, then Apple's MPS, then the CPU, with one override.

The course runs on a laptop CPU; on a machine with a GPU the same notebooks use it without a
change. Override with the environment variable ``COURSE_DEVICE`` (``cpu``, ``cuda``, ``cuda:1``,
``mps``) or by passing ``device=`` to the functions that train or extract features.

>>> pick_device("cpu")
device(type='cpu')
>>> import torch; to_device({"x": torch.zeros(1)}, "cpu")["x"].device.type
'cpu'
"""
from __future__ import annotations

import os
from typing import Any

import torch

ENV_VAR = "COURSE_DEVICE"


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """The device to use: ``device`` if given, else ``$COURSE_DEVICE``, else CUDA → MPS → CPU.

    Asking for a device that is not there raises :class:`~course_lib.errors.DeviceNotAvailableError`
    (a ``RuntimeError``) that says which ones are.
    """
    choice = device if device is not None else os.environ.get(ENV_VAR) or None
    if choice is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    dev = torch.device(choice)
    available = {"cpu": True, "cuda": torch.cuda.is_available(),
                 "mps": bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())}
    if not available.get(dev.type, False):
        have = ", ".join(k for k, ok in available.items() if ok)
        source = f"${ENV_VAR}" if device is None else "device="
        from .errors import DeviceNotAvailableError

        raise DeviceNotAvailableError(f"{source} asks for {str(dev)!r}, which this machine does not have "
                           f"(available: {have}). Use one of those, or unset {ENV_VAR}.")
    return dev


def to_device(batch: Any, device: str | torch.device) -> Any:
    """Move a tensor, or the tensors inside a dict / list / tuple, to ``device``."""
    if torch.is_tensor(batch):
        return batch.to(device)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device) for v in batch)
    return batch
