"""envcheck's memory report: free memory against each notebook's measured peak (notebook 00)."""
from __future__ import annotations

import sys

import pytest

from course_lib import envcheck
from course_lib.envcheck import MemoryInfo
from course_lib.paths import REPO_DIR

RESULTS = REPO_DIR / "benchmarks" / "results.md"


def test_peaks_are_read_from_the_benchmark_table():
    peaks = envcheck.notebook_peaks(RESULTS.read_text(encoding="utf-8"))
    assert len(peaks) >= 11 and "00_start_here" in peaks
    assert all(0.1 < gb < 4 for gb in peaks.values())
    assert "whole course" not in " ".join(peaks)


def test_enough_memory_for_every_notebook():
    ok, lines = envcheck.memory_advice(MemoryInfo(3.0, 8.0, 0.2, "test"), {"09_x": 1.38, "00_y": 0.8})
    assert ok and "Enough for every notebook" in lines[-1]
    assert "3.00 GB free of 8.00 GB" in lines[0] and "heaviest needs 1.38 GB" in lines[0]


def test_short_memory_names_the_notebooks_to_skip_heaviest_first():
    peaks = {"06_ft": 1.22, "09_bert": 1.38, "00_start": 0.84}
    ok, lines = envcheck.memory_advice(MemoryInfo(0.9, 2.0, 0.3, "container limit"), peaks)
    text = "\n".join(lines)
    assert not ok
    assert "Not enough for 2 notebook(s): 09_bert (1.38 GB), 06_ft (1.22 GB)." in text
    assert "00_start" not in text.split("Not enough")[1]           # it fits: not named
    assert "Shut Down All" in text and "restart this kernel" in text and "Skip those" in text
    assert "= 1.20 GB for one notebook" in lines[0]                # free + this kernel's own


def test_kernel_memory_counts_as_usable():
    """What this kernel holds is given back when it is shut down, so it counts."""
    peaks = {"09_bert": 1.38}
    assert not envcheck.memory_advice(MemoryInfo(1.0, 2.0, 0.0, "t"), peaks)[0]
    assert envcheck.memory_advice(MemoryInfo(1.0, 2.0, 0.5, "t"), peaks)[0]


def test_without_measurements_the_budget_is_used():
    ok, lines = envcheck.memory_advice(MemoryInfo(0.5, 1.0, 0.1, "t"), {})
    assert not ok and "1.5 GB budget" in lines[0] and "the heavier notebooks" in lines[1]
    ok, lines = envcheck.memory_advice(MemoryInfo(4.0, 8.0, 0.1, "t"), {})
    assert ok and "no measurements found" in lines[0]


def test_unknown_memory_degrades_gracefully():
    ok, lines = envcheck.memory_advice(None, {"09_bert": 1.38})
    assert ok and "does not say how much is free" in lines[0] and "1.38 GB" in lines[0]


def test_meminfo_and_cgroup_parsing(tmp_path):
    assert envcheck._meminfo("MemTotal: 4194304 kB\nMemFree: 1048576 kB\n") == (1.0, 4.0)
    assert envcheck._meminfo("nothing useful") is None
    assert envcheck._cgroup_limit(str(tmp_path)) is None           # no cgroup files
    (tmp_path / "memory.max").write_text("max\n")
    (tmp_path / "memory.current").write_text("100\n")
    assert envcheck._cgroup_limit(str(tmp_path)) is None           # no limit set
    (tmp_path / "memory.max").write_text(f"{2 * 2**30}\n")
    (tmp_path / "memory.current").write_text(f"{2**29}\n")
    assert envcheck._cgroup_limit(str(tmp_path)) == (1.5, 2.0)     # Binder-like 2 GB limit
    v1 = tmp_path / "v1" / "memory"
    v1.mkdir(parents=True)
    (v1 / "memory.limit_in_bytes").write_text(str(2**30))
    (v1 / "memory.usage_in_bytes").write_text(str(2**31))
    assert envcheck._cgroup_limit(str(tmp_path / "v1")) == (0.0, 1.0)


def test_read_memory_on_this_machine_and_its_fallbacks(monkeypatch):
    info = envcheck.read_memory()
    assert info is not None and 0 <= info.available_gb <= info.total_gb and info.kernel_gb > 0
    if sys.platform != "linux":
        pytest.skip("the fallbacks below are exercised from Linux")
    monkeypatch.setattr(envcheck, "_meminfo", lambda text: None)     # as if no /proc/meminfo
    assert envcheck.read_memory().source == "psutil"
    monkeypatch.setitem(sys.modules, "psutil", None)                 # psutil not installed
    assert envcheck.read_memory().source == "sysconf"
    monkeypatch.setattr(envcheck.os, "sysconf", lambda name: (_ for _ in ()).throw(ValueError))
    assert envcheck.read_memory() is None


def test_print_memory_report_and_the_environment_line(tmp_path, capsys):
    assert envcheck.print_memory_report(RESULTS) in (True, False)
    assert "heaviest needs" in capsys.readouterr().out
    envcheck.print_memory_report(tmp_path / "missing.md")
    assert "budget" in capsys.readouterr().out
    line = envcheck._memory()
    assert line.ok and "memory report below" in line.detail        # advice, never a failed check


def test_container_limit_caps_what_the_host_reports(monkeypatch):
    """Binder: /proc/meminfo shows the host's memory; the container's limit is what counts."""
    if sys.platform != "linux":
        pytest.skip("Linux only")
    monkeypatch.setattr(envcheck, "_cgroup_limit", lambda: (0.7, 2.0))
    monkeypatch.setattr(envcheck, "_meminfo", lambda text: (50.0, 64.0))
    info = envcheck.read_memory()
    assert (info.available_gb, info.total_gb, info.source) == (0.7, 2.0, "container limit")


def test_kernel_memory_without_proc(monkeypatch):
    monkeypatch.setattr(envcheck.os, "sysconf", lambda name: (_ for _ in ()).throw(ValueError))
    assert envcheck._kernel_gb() > 0                                # from resource's peak
