"""Saving and loading weights safely.

A ``.pt``/``.pth`` file written with ``torch.save`` is a pickle, and unpickling can run
arbitrary code. The course saves weights as **safetensors** (plain tensors, nothing to
execute) and, when it must read a ``torch.save`` file, uses ``weights_only=True``, which
refuses anything but tensors and plain containers.

>>> import tempfile, torch
>>> from torch import nn
>>> path = save_weights(nn.Linear(2, 2), tempfile.mkdtemp() + "/head.safetensors")
>>> load_weights(nn.Linear(2, 2), path)
<All keys matched successfully>
"""
from __future__ import annotations

import os
import pickle
import uuid
import warnings
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from .errors import UnsafeCheckpointError


def save_weights(model: nn.Module, path: str | Path) -> Path:
    """Save ``model.state_dict()`` to ``path`` as safetensors (parent folders are created).

    >>> save_weights(nn.Linear(2, 2), "head.pt")
    Traceback (most recent call last):
    ...
    ValueError: Save weights with the .safetensors extension (got 'head.pt'): ...
    """
    path = Path(path)
    if path.suffix != ".safetensors":
        raise ValueError(f"Save weights with the .safetensors extension (got {path.name!r}): "
                         "safetensors files hold only tensors and are safe to share.")
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    return save_tensors_atomically(state, path)


def save_tensors_atomically(tensors: dict[str, torch.Tensor], path: str | Path,
                            metadata: dict[str, str] | None = None) -> Path:
    """Write ``tensors`` as safetensors so that a reader sees the old file or the whole new one.

    The file is written under a unique temporary name beside ``path`` and renamed over it, so an
    interrupted run, or two processes writing the same file at once, never leave half a file.

    >>> import tempfile
    >>> path = save_tensors_atomically({"x": torch.zeros(2)}, tempfile.mkdtemp() + "/a.safetensors")
    >>> load_file(str(path))["x"].tolist(), [p.name for p in path.parent.iterdir()]
    ([0.0, 0.0], ['a.safetensors'])
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        save_file(tensors, str(part), metadata=metadata)
        os.replace(part, path)
    finally:
        if part.exists():
            part.unlink()
    return path


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a state dict from safetensors, or from a torch.save file with ``weights_only=True``.

    >>> import tempfile
    >>> path = save_weights(nn.Linear(2, 3), tempfile.mkdtemp() + "/head.safetensors")
    >>> {name: tuple(t.shape) for name, t in read_state_dict(path).items()}
    {'bias': (3,), 'weight': (3, 2)}
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint at {path}. Did the notebook that saves it run? "
                                "See course_lib.paths.output_dir() for where files go.")
    if path.suffix == ".safetensors":
        return load_file(str(path))
    try:
        with warnings.catch_warnings():  # torch notes pickle protocols it did not write; irrelevant here
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, AttributeError, TypeError) as exc:
        raise UnsafeCheckpointError(
            f"Refused to load {path}: it is not plain weights, and unpickling it could run code "
            f"({type(exc).__name__}). Only load checkpoints you trust; ask for a .safetensors file.") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise UnsafeCheckpointError(f"{path} does not hold a state dict of tensors.")
    return state


def load_weights(model: nn.Module, path: str | Path, strict: bool = True):
    """Load weights from ``path`` into ``model``; return the load report."""
    state = read_state_dict(path)
    try:
        return model.load_state_dict(state, strict=strict)
    except RuntimeError as exc:
        raise ValueError(f"The weights in {path} do not fit {type(model).__name__}: "
                         f"{str(exc).splitlines()[0]} Is it the same architecture and number of "
                         "classes?") from None
