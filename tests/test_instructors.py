"""INSTRUCTORS.md stays true: one section per notebook, with the measured time and memory."""
from __future__ import annotations

import re

from conftest import REPO_DIR as REPO  # the repository path lives in conftest.py
GUIDE = (REPO / "INSTRUCTORS.md").read_text(encoding="utf-8")


def _measured() -> dict[str, tuple[float, float]]:
    """{"06": (minutes, peak GB)} from the benchmark table (benchmarks/results.md)."""
    table = (REPO / "benchmarks" / "results.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\|\s*`(\d\d)_\w+`\s*\|\s*([\d.]+)\s*\|\s*([\d.]+)\s*\|", table, re.M)
    return {nb: (float(minutes), float(peak)) for nb, minutes, peak in rows}


def test_every_notebook_has_a_section_with_its_measured_time_and_peak():
    measured = _measured()
    notebooks = sorted(p.name[:2] for p in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    sections = dict(re.findall(r"^### (\d\d) · .*?— run ([\d.]+ min, peak [\d.]+ GB)", GUIDE, re.M))
    for nb in notebooks:
        if nb not in measured:      # a new notebook before its first `./run.sh bench`
            assert re.search(rf"^### {nb} · ", GUIDE, re.M), f"INSTRUCTORS.md has no section for {nb}"
            continue
        minutes, peak = measured[nb]
        assert sections.get(nb) == f"{minutes:.2f} min, peak {peak:.2f} GB", (
            f"INSTRUCTORS.md's section for notebook {nb} should say "
            f"'run {minutes:.2f} min, peak {peak:.2f} GB' (benchmarks/results.md)")


def test_the_heaviest_notebook_is_the_one_measured_heaviest():
    measured = _measured()
    heaviest = max(measured, key=lambda nb: measured[nb][1])
    assert re.search(rf"^### {heaviest} · .*\(the heaviest\)$", GUIDE, re.M)


def test_each_measured_section_has_objectives_exercises_discussion_and_problems():
    for block in re.split(r"^### ", GUIDE, flags=re.M)[1:]:
        if " — run " not in block.splitlines()[0]:
            continue
        for part in ("**Objectives.**", "**Exercises (", "**Discuss.**", "**Common problems.**"):
            assert part in block, f"{block.splitlines()[0]}: missing {part}"


def test_plans_and_checklist_are_there():
    for heading in ("### 3 hours", "### Full day", "### Send learners this checklist",
                    "## Showing a solution", "### The room kit"):
        assert heading in GUIDE
    assert "show_solution(" in GUIDE and "course.py wheelhouse" in GUIDE
