"""Verdict records: written per notebook and budget scale, checked against the bench, rendered in Chinese."""
import json

import pytest

from course_lib import verdicts
from course_lib.compare import paired_comparison

BETTER = paired_comparison([0.9, 0.92, 0.95, 0.9], [0.8, 0.85, 0.86, 0.8], "pretrained", "scratch")
TIE = paired_comparison([0.5, 0.6, 0.7, 0.6], [0.52, 0.58, 0.71, 0.6], "pretrained", "scratch")


def test_records_are_written_per_notebook_and_scale(monkeypatch):
    verdicts.record("t1", "cmp", BETTER, en="pretrained vs scratch", claim="fewer-labels", supports="a",
                    quiet=True)
    verdicts.record("t1", "acc", 0.93, en="test accuracy", zh="准确率 {value:.2f}", quiet=True)
    stored = json.loads(verdicts.records_file("t1", 1.0).read_text(encoding="utf-8"))
    assert list(stored) == ["cmp", "acc"] and stored["cmp"]["data"]["verdict"] == "pretrained better"
    monkeypatch.setenv("COURSE_BUDGET_SCALE", "4")
    verdicts.record("t1", "cmp", TIE, en="pretrained vs scratch", quiet=True)
    assert verdicts.records_file("t1").name == "t1@4x.json"
    ones, fours = verdicts.load(scale=1.0), verdicts.load(scale=4.0)
    rows = verdicts.robustness_rows(ones, fours)
    assert [(r.key, r.at_1x, r.changes) for r in rows] == [("cmp", "pretrained better", True)]
    assert not rows[0].consistent
    table = verdicts.robustness_markdown(rows, "today")
    assert "| t1 | pretrained vs scratch |" in table and "| yes |" in table


def test_a_declaration_that_the_bench_contradicts_fails(tmp_path, monkeypatch):
    bench = tmp_path / "robustness.json"
    bench.write_text(json.dumps({"date": "d", "verdicts": {"t2/cmp": {
        "at_1x": "pretrained better", "at_4x": "no detectable difference with n = 4"}}}), encoding="utf-8")
    monkeypatch.setattr(verdicts, "ROBUSTNESS_FILE", bench)
    monkeypatch.setattr(verdicts.robustness_at, "__defaults__", (bench,))
    with pytest.raises(AssertionError, match="declared budget_dependent=False"):
        verdicts.record("t2", "cmp", BETTER, en="x", quiet=True)
    rec = verdicts.record("t2", "cmp", BETTER, en="x", budget_dependent=True, quiet=True)
    assert rec.budget_dependent


def test_a_verdict_other_than_the_benchs_is_never_told_the_same_at_4x(tmp_path, monkeypatch, capsys):
    """Another CPU rounds differently: its verdict may differ from the bench's, whose 4× check then does not apply."""
    bench = tmp_path / "robustness.json"
    bench.write_text(json.dumps({"date": "d", "verdicts": {"t5/cmp": {
        "at_1x": "no detectable difference with n = 4", "at_4x": "no detectable difference with n = 4"}}}),
        encoding="utf-8")
    monkeypatch.setattr(verdicts, "ROBUSTNESS_FILE", bench)
    monkeypatch.setattr(verdicts.robustness_at, "__defaults__", (bench,))
    verdicts.record("t5", "cmp", TIE, en="x")
    assert "at 4× the budget (bench of d): the same verdict" in capsys.readouterr().out
    verdicts.record("t5", "cmp", BETTER, en="x")                  # the bench's verdict was another
    out = capsys.readouterr().out
    assert "the same verdict" not in out and "this run's verdict differs" in out


def test_chinese_lines_render_from_the_numbers_and_bad_templates_fail_early():
    rec = verdicts.record("t3", "cmp", TIE, en="x", names_zh=("预训练", "从零训练"),
                          zh="预训练 − 从零训练 = {diff:+.3f}：{verdict}", quiet=True)
    assert rec.zh_line() == "预训练 − 从零训练 = -0.003：无可检测差异（n = 4）"
    assert verdicts.summary_zh("t3").splitlines()[0] == "中文小结"
    with pytest.raises(KeyError):
        verdicts.record("t3", "bad", TIE, en="x", zh="{no_such_number}", quiet=True)
    with pytest.raises(ValueError, match="no result with a Chinese line"):
        verdicts.summary_zh("t-none")


def test_claim_status_follows_the_verdict_and_the_side():
    assert verdicts.record("t4", "a", BETTER, en="x", claim="fewer-labels", supports="a",
                           quiet=True).claim_status() == "supported"
    assert verdicts.record("t4", "b", BETTER, en="x", claim="fewer-labels", supports="b",
                           quiet=True).claim_status() == "contradicted"
    assert verdicts.record("t4", "c", TIE, en="x", claim="fewer-labels", supports="a",
                           quiet=True).claim_status() == "not supported"
    with pytest.raises(ValueError, match="Unknown claim"):
        verdicts.record("t4", "d", TIE, en="x", claim="no-such-claim")


def test_the_claims_table_reads_the_records_and_their_4x_twins(monkeypatch):
    verdicts.record("t5", "labels", BETTER, en="pretrained vs scratch, k = 5", claim="fewer-labels",
                    supports="a", quiet=True)
    verdicts.record("t5", "speed", {"speed_up": 45.0}, en="cached vs naive", claim="less-compute",
                    status="supported", quiet=True)
    monkeypatch.setenv("COURSE_BUDGET_SCALE", "4")
    verdicts.record("t5", "labels", TIE, en="pretrained vs scratch, k = 5", claim="fewer-labels",
                    supports="a", quiet=True)
    rows = verdicts.claim_rows(verdicts.load(scale=1.0), verdicts.load(scale=4.0))
    by_id = {}
    for row in rows:
        by_id.setdefault(row.claim_id, []).append(row)
    assert by_id["fewer-labels"][0].status == "depends on the budget"
    assert by_id["less-compute"][0].status == "supported"
    assert by_id["breaks-limits"][0].status == "not testable here"
    assert list(by_id) == list(verdicts.CLAIMS)
    table = verdicts.claims_markdown(rows, "today")
    assert "取决于训练预算" in table and "speed_up = 45" in table and "“它打破了传统机器学习的局限性”" in table
    with pytest.raises(ValueError, match="status must be"):
        verdicts.record("t5", "x", 1.0, en="x", status="proved")


def test_a_claim_links_records_made_without_it_and_reads_them_from_the_named_side():
    from course_lib.compare import paired_comparison

    better = paired_comparison([0.9, 0.92, 0.95, 0.93], [0.8, 0.85, 0.86, 0.84], "pretrained", "random")
    rec = verdicts.Record("08", "gap/imagenet-vs-random-weights/k=5", "x", "comparison", better.to_dict())
    rows = [r for r in verdicts.claim_rows({"08": {rec.key: rec}}, {"08": {rec.key: rec}})
            if r.claim_id == "general-features"]
    assert [r.status for r in rows] == ["supported"] and rows[0].record.claim == "general-features"
    worse = verdicts.Record("08", rec.key, "x", "comparison",
                            paired_comparison([0.8, 0.85, 0.86, 0.84], [0.9, 0.92, 0.95, 0.93], "a", "b").to_dict())
    rows = [r for r in verdicts.claim_rows({"08": {rec.key: worse}}, {}) if r.claim_id == "general-features"]
    assert [r.status for r in rows] == ["contradicted"]
