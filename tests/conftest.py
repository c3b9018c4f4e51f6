"""Test-suite setup: no network, deprecations are errors (see pyproject.toml), quiet outputs.

Network: every test, and every notebook kernel nbval starts, runs with connections to
anything but loopback refused (tests/_netblock/sitecustomize.py). Jupyter kernels talk to
pytest over loopback, which stays open. This is what proves the default path is offline.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

REPO_DIR = Path(__file__).resolve().parent.parent   # the repository: defined here, and only here


def load_course():
    """``course.py`` (a script at the repository root, not a package), imported once and shared."""
    import importlib.util
    import sys

    if "course" not in sys.modules:
        spec = importlib.util.spec_from_file_location("course", REPO_DIR / "course.py")
        sys.modules["course"] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules["course"])
    return sys.modules["course"]
NETBLOCK_DIR = REPO_DIR / "tests" / "_netblock"

# Under pytest-xdist (the README's test command on two or more cores) every worker gets its share
# of the cores: torch, numpy and every kernel or process a worker starts use that many threads.
# Two workers of two threads each on two cores measured slower than one worker (CI, 2026-12-06).
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
if os.environ.get("PYTEST_XDIST_WORKER") and _WORKERS > 1:
    _threads = str(max(1, (os.cpu_count() or 1) // _WORKERS))
    for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[_name] = _threads
    import torch

    torch.set_num_threads(int(_threads))

# Kernels started by nbval inherit this environment.
os.environ["COURSE_BLOCK_NETWORK"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("MPLBACKEND", "Agg")
# The repository comes first so kernels import this checkout's course_lib, whichever checkout
# (a clone, a git worktree) holds the editable install.
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(NETBLOCK_DIR), str(REPO_DIR), os.environ.get("PYTHONPATH", "")) if p)

# And this process too (sitecustomize ran before conftest, without the variable set).
_spec = importlib.util.spec_from_file_location("_course_netblock", NETBLOCK_DIR / "sitecustomize.py")
if _spec is not None and _spec.loader is not None and (NETBLOCK_DIR / "sitecustomize.py").is_file():
    _netblock = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_netblock)


@pytest.fixture(scope="session")
def repo_dir() -> Path:
    """The repository's root folder (this checkout's)."""
    return REPO_DIR


@pytest.fixture(scope="session")
def netblock_dir() -> Path:
    """The folder whose ``sitecustomize.py`` blocks the network in every new Python process."""
    return NETBLOCK_DIR


@pytest.fixture(autouse=True)
def _outputs_in_tmp(tmp_path_factory, monkeypatch, request):
    """Unit tests write into a temporary output folder, never into the learner's outputs/."""
    if request.node.get_closest_marker("real_outputs") is None and not str(request.fspath).endswith(".ipynb"):
        monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path_factory.mktemp("outputs")))
    yield
