"""Where the course reads and writes files.

Everything a notebook writes (checkpoints, cached features, figures) goes under one
folder, :func:`output_dir`: ``<repo>/outputs`` by default, or the folder named by the
environment variable ``COURSE_OUTPUT_DIR``. It is git-ignored, safe to delete, and the
notebooks re-create what they need, so "restart and run all" works any number of times.
Bigger datasets fetched by ``data_scripts/`` go to :func:`data_dir` (``<repo>/data``,
or ``COURSE_DATA_DIR``).
"""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent


def _dir_from_env(var: str, default: Path) -> Path:
    path = Path(os.environ.get(var, default)).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def output_dir(*parts: str) -> Path:
    """The folder for files the notebooks write, created if needed.

    >>> output_dir("checkpoints").name
    'checkpoints'
    """
    path = _dir_from_env("COURSE_OUTPUT_DIR", REPO_DIR / "outputs").joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir(*parts: str) -> Path:
    """The folder where ``data_scripts/`` put downloaded datasets (``<repo>/data``).

    >>> data_dir().name in {"data", os.environ.get("COURSE_DATA_DIR", "data").rstrip("/").split("/")[-1]}
    True
    """
    return _dir_from_env("COURSE_DATA_DIR", REPO_DIR / "data").joinpath(*parts)
