"""course_lib: the small, tested helpers behind the notebooks of *Transfer Learning in Practice*.

Importing the package is cheap (no torch import, no file access); each submodule is
imported on first use::

    >>> import course_lib
    >>> course_lib.__version__
    '0.1.0'
    >>> from course_lib import data, models, training   # heavy imports happen here

Modules, one job each: ``repro`` (seeding), ``paths`` (where files go), ``data``
(datasets, splits, image folders), ``models`` (backbones, heads, freezing), ``training``
(fit loop, evaluation, feature caching), ``plots``, ``checkpoints`` (safe save/load),
``exercises`` (feedback for the notebooks' exercises), ``envcheck`` (notebook 00).
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = {
    "repro", "paths", "data", "models", "training", "plots", "checkpoints", "exercises",
    "envcheck", "objectives", "optim", "widgets", "transferability", "text", "errors",
    "pretrain", "compare", "devices",
}

__all__ = sorted(_SUBMODULES) + ["__version__"]


def __getattr__(name: str) -> Any:  # PEP 562: lazy submodules keep `import course_lib` fast
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'course_lib' has no attribute {name!r}")
