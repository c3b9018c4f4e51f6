"""benchmarks/run_notebooks.py: its check that a fresh run prints what is committed."""
import importlib.util

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from conftest import REPO_DIR

_spec = importlib.util.spec_from_file_location("run_notebooks", REPO_DIR / "benchmarks" / "run_notebooks.py")
runner = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(runner)


def _notebook(*texts):
    cells = [new_markdown_cell("# title")]
    for text in texts:
        cell = new_code_cell("print(...)")
        cell.outputs = [new_output("stream", name="stdout", text=text),
                        new_output("stream", name="stderr", text="a warning that may vary\n")]
        cells.append(cell)
    return new_notebook(cells=cells)


def test_a_changed_result_line_is_reported_and_timings_are_not():
    committed = _notebook("accuracy 0.912 in 3.2 s\n", "verdict: A better\n")
    same = _notebook("accuracy 0.912 in 7.9 s\n", "verdict: A better\n")
    changed = _notebook("accuracy 0.912 in 3.2 s\n", "verdict: no detectable difference\n")
    assert runner.differing_cells(committed, same) == []
    assert runner.differing_cells(committed, changed) == [2]


def test_the_table_reports_what_differs():
    rows = [{"notebook": "06_x", "seconds": 60.0, "peak_gb": 1.0, "error": None, "differ": [4]},
            {"notebook": "07_y", "seconds": 30.0, "peak_gb": 0.9, "error": None, "differ": []}]
    text = runner.table(rows)
    assert "| ✗ cells 4 |" in text and "| 0.50 | 0.90 | ✓ | ✓ |" in text
    assert nbformat.validate(_notebook("x\n")) is None


def test_guides_follow_the_measurements(tmp_path):
    guide, readme = tmp_path / "INSTRUCTORS.md", tmp_path / "README.md"
    guide.write_text("### 06 · Fine-tuning — run 1.16 min, peak 1.22 GB\n"
                     "### 09 · Text — run 0.79 min, peak 1.38 GB (the heaviest)\n")
    readme.write_text("Measured kernel peaks run from 0.84 to 1.38 GB per\n"
                      "notebook; the heaviest is `09_text` at 1.38 GB. Every notebook fits.\n")
    rows = [{"notebook": "06_fine", "seconds": 90.0, "peak_gb": 1.41, "error": None},
            {"notebook": "09_text", "seconds": 60.0, "peak_gb": 1.2, "error": None}]
    runner.update_guides(rows, guide, readme)
    assert guide.read_text() == ("### 06 · Fine-tuning — run 1.50 min, peak 1.41 GB (the heaviest)\n"
                                 "### 09 · Text — run 1.00 min, peak 1.20 GB\n")
    assert "from 1.20 to 1.41 GB per\nnotebook; the heaviest is `06_fine` at 1.41 GB." in readme.read_text()
    # a tie as printed (1.27 GB both): the first in course order, as a reader of the table finds it
    rows = [{"notebook": "06_fine", "seconds": 90.0, "peak_gb": 1.2651, "error": None},
            {"notebook": "09_text", "seconds": 60.0, "peak_gb": 1.2699, "error": None}]
    runner.update_guides(rows, guide, readme)
    assert "(the heaviest)" in guide.read_text().splitlines()[0]
    assert "the heaviest is `06_fine` at 1.27 GB" in readme.read_text()


def test_machine_dependent_numbers_are_sanitized():
    committed = _notebook("one epoch ≈ 904,555 s ≈ 251 h; 8.6 years; 159,875× less; /tmp/tmpab12/evil.pt\n")
    fresh = _notebook("one epoch ≈ 1,815,757 s ≈ 504 h; 17.3 years; 133,958× less; /tmp/tmpzz9/evil.pt\n")
    assert runner.differing_cells(committed, fresh) == []


def test_verdicts_are_kept_and_paired_across_budget_scales(tmp_path, monkeypatch):
    import json

    from course_lib import verdicts
    from course_lib.compare import paired_comparison

    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path / "out"))
    better = paired_comparison([0.9, 0.92, 0.95], [0.8, 0.85, 0.86], "a", "b")
    tie = paired_comparison([0.5, 0.6, 0.7], [0.52, 0.58, 0.71], "a", "b")
    verdicts.record("06", "x", better, en="a vs b", quiet=True)
    kept = tmp_path / "kept"
    assert [p.name for p in runner.keep_verdicts("06", into=kept)] == ["06@1x.json"]
    monkeypatch.setenv("COURSE_BUDGET_SCALE", "4")
    verdicts.record("06", "x", tie, en="a vs b", quiet=True)
    assert [p.name for p in runner.keep_verdicts("06", into=kept)] == ["06@4x.json"]
    rows = verdicts.robustness_rows(verdicts.load(kept, 1.0), verdicts.load(kept, 4.0))
    assert [(r.at_1x, r.at_4x, r.changes) for r in rows] == [("a better", "no detectable difference with n = 3",
                                                              True)]
    table = verdicts.robustness_json(rows, "now")
    assert json.loads(json.dumps(table))["verdicts"]["06/x"]["at_4x"].startswith("no detectable")


def _robustness_module():
    """benchmarks/robustness.py, imported as a module."""
    import sys

    sys.path.insert(0, str(REPO_DIR / "benchmarks"))
    spec = importlib.util.spec_from_file_location("robustness", REPO_DIR / "benchmarks" / "robustness.py")
    robustness = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(robustness)
    return robustness


def test_robustness_tables_come_from_the_kept_records_without_running_anything(tmp_path, monkeypatch):
    from course_lib import verdicts
    from course_lib.compare import paired_comparison

    robustness = _robustness_module()
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path / "out"))
    kept, readme = tmp_path / "kept", tmp_path / "README.md"
    readme.write_text("\n\n".join(f"{a}\nold\n{b}" for a, b in (
        (robustness.START, robustness.END), robustness.CLAIMS, robustness.SUMMARIES)))
    better = paired_comparison([0.9, 0.92, 0.95], [0.8, 0.85, 0.86], "a", "b")
    for scale in ("1", "4"):
        monkeypatch.setenv("COURSE_BUDGET_SCALE", scale)
        verdicts.record("06", "x", better, en="a vs b", quiet=True)
        runner.keep_verdicts("06", into=kept)
    monkeypatch.setattr(robustness, "HERE", tmp_path)
    monkeypatch.setattr(robustness.run_notebooks, "VERDICTS", kept)
    monkeypatch.setattr(robustness.run_notebooks, "update_readme",
                        lambda block, start, end: runner.update_readme(block, readme, start, end))
    monkeypatch.setattr(robustness, "run_at", lambda *a, **k: pytest.fail("--tables must not run a notebook"))
    (tmp_path / "robustness.json").write_text('{"date": "the last 4x run", "verdicts": {}}')
    assert robustness.main(["--tables"]) == 0
    assert '"date": "the last 4x run"' in (tmp_path / "robustness.json").read_text()   # runs nothing
    text = readme.read_text()
    assert "old" not in text and "a vs b" in text
    assert "06/x" in (tmp_path / "robustness.json").read_text()


def test_each_verdict_keeps_the_date_of_the_bench_run_that_checked_it(tmp_path, monkeypatch):
    """Re-running one notebook at 4× dates its verdicts, not the others' (each notebook prints its own)."""
    import json

    from course_lib import verdicts
    from course_lib.compare import paired_comparison

    robustness = _robustness_module()
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path / "out"))
    kept = tmp_path / "kept"
    better = paired_comparison([0.9, 0.92, 0.95], [0.8, 0.85, 0.86], "a", "b")
    for scale in ("1", "4"):
        monkeypatch.setenv("COURSE_BUDGET_SCALE", scale)
        for nb in ("06", "07"):
            verdicts.record(nb, "x", better, en="a vs b", quiet=True)
            runner.keep_verdicts(nb, into=kept)
    monkeypatch.setattr(robustness, "HERE", tmp_path)
    monkeypatch.setattr(robustness.run_notebooks, "VERDICTS", kept)
    table = tmp_path / "robustness.json"
    table.write_text(json.dumps({"date": "monday", "verdicts": {"06/x": {"at_1x": "a better"}, "07/x": {}}}))
    robustness.build("tuesday", ("07",))                         # notebook 07 alone at 4×
    entries = json.loads(table.read_text())["verdicts"]
    assert (entries["06/x"]["date"], entries["07/x"]["date"]) == ("monday", "tuesday")
    monkeypatch.setattr(verdicts, "ROBUSTNESS_FILE", table)
    assert verdicts.robustness_at("06", "x", table)["date"] == "monday"
    robustness.build("wednesday", keep_date=True)                  # --tables: runs nothing, dates stay
    entries = json.loads(table.read_text())["verdicts"]
    assert (entries["06/x"]["date"], entries["07/x"]["date"]) == ("monday", "tuesday")
    robustness.build("thursday")                                   # every notebook run at 4×
    assert {e["date"] for e in json.loads(table.read_text())["verdicts"].values()} == {"thursday"}


def test_the_benchmarks_readme_states_the_budgets_the_runner_checks():
    text = (REPO_DIR / "benchmarks" / "README.md").read_text(encoding="utf-8")
    assert f"**≤ {runner.MINUTES_BUDGET:g} minutes**" in text
    assert f"**≤ {runner.GB_BUDGET:g} GB**" in text
    assert f"**≤ {runner.TOTAL_BUDGET:g} minutes**" in text
