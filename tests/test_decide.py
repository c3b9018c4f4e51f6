"""The decision report on one's own folder (course_lib.decide, `python -m course_lib.train --compare`):
written from the numbers, on the course's counted protocol, from Python and from the shell."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from course_lib import decide, splits
from course_lib.compare import Budget, UnequalBudgetError, holm, paired_comparison, run_paired

from test_train import _folder, _run

TINY = dict(image_size=32, seeds=(0, 1), steps=3, max_per_class=None, say=lambda line: None)


def test_recommendation_is_the_cheapest_option_no_other_beats():
    tie = [paired_comparison([0.8, 0.9, 0.85], [0.81, 0.88, 0.86], a, b)
           for a, b in (("last block", "frozen head"), ("full fine-tuning", "frozen head"),
                        ("full fine-tuning", "last block"))]
    choice, reason = decide.recommend(holm(tie))
    assert choice == "frozen head" and "cannot tell the options apart" in reason
    win = [paired_comparison([0.90, 0.95, 0.93, 0.94], [0.80, 0.84, 0.83, 0.82], "full fine-tuning", "frozen head"),
           paired_comparison([0.90, 0.95, 0.93, 0.94], [0.91, 0.94, 0.92, 0.95], "full fine-tuning", "last block"),
           paired_comparison([0.91, 0.94, 0.92, 0.95], [0.80, 0.84, 0.83, 0.82], "last block", "frozen head")]
    choice, reason = decide.recommend(win)
    assert choice == "last block" and "cheapest option that no other option beats" in reason


def test_decision_report_is_written_and_follows_its_numbers(tmp_path):
    folder = _folder(tmp_path / "colours", n=10)
    split = splits.split_folder(folder, split_file=tmp_path / "split.json")
    decision = decide.decision_report(split, tmp_path / "model", **TINY)
    files = {p.name for p in (tmp_path / "model").iterdir()}
    assert files == {"decision_report.md", "decision_report.png", "decision_report.json"}
    assert (tmp_path / "model" / "decision_report.png").read_bytes()[:4] == b"\x89PNG"
    assert decision.recommendation == decide.recommend(decision.comparisons)[0]
    assert all(c.family == 3 and c.adjusted_p is not None for c in decision.comparisons)
    if decision.undecided:
        assert decision.recommendation == "frozen head" and "cannot tell" in decision.reason
    cap, grid = decision.budget.cap, decision.budget.lr_grid
    for name in ("last block", "full fine-tuning"):
        for r in decision.results[name]:
            assert sorted(r.lrs) == sorted(grid) and 0 < r.steps <= cap * len(grid)   # counted by the loop
    assert all(r.cs == decision.budget.c_grid and r.steps == 0 for r in decision.results["frozen head"])
    text = (tmp_path / "model" / "decision_report.md").read_text()
    assert f"**Recommendation: {decision.recommendation}.**" in text and "Holm" in text
    for c in decision.comparisons:
        assert f"{c.mean_difference:+.3f}" in text
    stored = json.loads((tmp_path / "model" / "decision_report.json").read_text())
    assert stored["recommendation"] == decision.recommendation and len(stored["logme"]) == 3
    assert all(np.isfinite(row["logme"]) for row in decision.logme.values())
    costs = decision.costs
    assert 0 < costs["last block"]["train_per_image"] < costs["full fine-tuning"]["train_per_image"]
    again = decide.decision_report(split, tmp_path / "model", **TINY)   # a second run, same folder
    assert {p.name for p in (tmp_path / "model").iterdir()} == files
    assert [c.mean_difference for c in again.comparisons] == [c.mean_difference for c in decision.comparisons]


def test_an_option_that_spends_more_or_searches_another_grid_is_refused():
    x = torch.randn(48, 3)
    y = (x[:, 0] > 0).long()
    trials = decide.decision_trials(y.numpy(), [0, 1])
    make = lambda: decide.with_head(nn.Identity(), 3, 2)              # noqa: E731
    fair = decide.gradient_arm(make, x, y, trials, patience=None)
    budget = Budget(4, (1e-3, 1e-2, 1e-1), scale=1)

    def greedy(seed, b):                                                # four times the cap
        return fair(seed, Budget(b.steps * 4, b.lr_grid, scale=1))

    def other_grid(seed, b):
        return fair(seed, Budget(b.steps, (1e-4, 1e-3, 1e-2), scale=1))

    assert len(run_paired({"a": fair, "b": fair}, [0, 1], budget)["a"]) == 2
    with pytest.raises(UnequalBudgetError, match="optimizer steps at learning rate"):
        run_paired({"fair": fair, "greedy": greedy}, [0, 1], budget)
    with pytest.raises(UnequalBudgetError, match="searched the learning rates"):
        run_paired({"fair": fair, "other grid": other_grid}, [0, 1], budget)


def test_compare_command_and_its_help(tmp_path):
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    env = {"COURSE_OUTPUT_DIR": str(outputs)}
    helped = _run("course_lib.train", "--help", env_extra=env)
    assert helped.returncode == 0 and "--compare" in helped.stdout and "decision report" in helped.stdout
    assert list(outputs.iterdir()) == []
    folder = _folder(tmp_path / "colours", n=10)
    refused = _run("course_lib.train", folder, tmp_path / "m", "--compare", "--backbone", "resnet18", env_extra=env)
    assert refused.returncode == 2 and "efficientnet_lite0" in refused.stderr and "Traceback" not in refused.stderr
    done = _run("course_lib.train", folder, tmp_path / "m", "--size", "32", "--quiet", "--compare",
                "--compare-size", "32", "--compare-splits", "2", "--compare-steps", "2", env_extra=env)
    assert done.returncode == 0, done.stderr
    assert "[6/6] export" in done.stdout and "Recommended:" in done.stdout, done.stdout
    report = (tmp_path / "m" / "decision_report.md").read_text()
    assert "Recommendation:" in report and (tmp_path / "m" / "decision_report.png").exists()
    assert (tmp_path / "m" / "classifier.json").exists()                 # the model is exported too
