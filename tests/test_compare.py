"""The comparison protocol: paired intervals that cover, verdicts from numbers, budgets enforced."""
import numpy as np
import pytest

from course_lib import compare
from course_lib.compare import Budget, RunResult, UnequalBudgetError


def test_interval_covers_the_true_difference_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    true_diff, covered, trials = 0.03, 0, 2000
    for _ in range(trials):
        base = rng.normal(0.8, 0.05, size=8)                       # the split's luck, shared by both arms
        a = base + true_diff + rng.normal(0, 0.02, size=8)
        b = base + rng.normal(0, 0.02, size=8)
        low, high = compare.paired_comparison(a, b).interval
        covered += low <= true_diff <= high
    assert 0.93 <= covered / trials <= 0.97


def test_verdicts_follow_the_interval():
    assert compare.paired_comparison([1, 1.1, 1.2], [0, 0.1, 0.15], "a", "b").verdict == "a better"
    assert compare.paired_comparison([0, 0.1, 0.15], [1, 1.1, 1.2], "a", "b").verdict == "b better"
    tie = compare.paired_comparison([0.5, 0.6, 0.7, 0.6], [0.52, 0.58, 0.71, 0.6], "a", "b")
    assert tie.verdict == "no detectable difference with n = 4"
    assert "95 % CI" in str(tie) and "n = 4 paired seeds" in str(tie)


def test_pairing_finds_what_an_unpaired_test_misses():
    rng = np.random.default_rng(1)
    base = rng.normal(0.8, 0.1, size=10)
    c = compare.paired_comparison(base + 0.02, base + rng.normal(0, 0.002, 10))
    assert c.verdict == "A better"


@pytest.mark.parametrize("a, b, message", [
    ([0.5], [0.4], "at least 2 seeds"),
    ([0.5, 0.6], [0.4], "one B value per A value"),
    ([0.5, float("nan")], [0.4, 0.5], "NaN"),
])
def test_bad_input_says_what_is_wrong(a, b, message):
    with pytest.raises(ValueError, match=message):
        compare.paired_comparison(a, b)


def test_equal_budgets_are_enforced():
    def fair(seed, budget):
        return RunResult(score=0.9, steps=budget.steps, lr_grid=budget.lr_grid)

    def greedy(seed, budget):
        return RunResult(score=0.95, steps=budget.steps * 2, lr_grid=budget.lr_grid)

    def other_grid(seed, budget):
        return RunResult(score=0.95, steps=budget.steps, lr_grid=(0.1,))

    budget = Budget(steps=50, lr_grid=(1e-3, 1e-2))
    results = compare.run_paired({"a": fair, "b": fair}, seeds=[0, 1, 2], budget=budget)
    assert [len(v) for v in results.values()] == [3, 3]
    with pytest.raises(UnequalBudgetError, match="100 optimizer steps"):
        compare.run_paired({"a": fair, "b": greedy}, seeds=[0], budget=budget)
    with pytest.raises(UnequalBudgetError, match="same grid"):
        compare.run_paired({"a": fair, "b": other_grid}, seeds=[0], budget=budget)
    with pytest.raises(ValueError, match="positive int"):
        Budget(steps=0)


def test_run_paired_calls_every_arm_on_the_same_seeds_in_order():
    calls = []

    def arm(name):
        def run(seed, budget):
            calls.append((name, seed))
            return RunResult(score=seed, steps=1)
        return run

    results = compare.run_paired({"a": arm("a"), "b": arm("b")}, seeds=[3, 4], budget=Budget(1))
    assert calls == [("a", 3), ("b", 3), ("a", 4), ("b", 4)]
    assert compare.compare_results(results, "a", "b").mean_difference == 0


def test_few_shot_trials_are_paired_and_disjoint():
    y = np.repeat([0, 1, 2], 30)
    trials = list(compare.few_shot_trials(y, ks=[1, 5], seeds=[0, 1], val_per_class=2))
    assert [(t["seed"], t["k"]) for t in trials] == [(0, 1), (0, 5), (1, 1), (1, 5)]
    for t in trials:
        assert not set(t["train"]) & set(t["test"]) and not set(t["val"]) & set(t["train"])
        assert not set(t["val"]) & set(t["test"])
        assert np.bincount(y[t["train"]]).tolist() == [t["k"]] * 3
    again = list(compare.few_shot_trials(y, ks=[1, 5], seeds=[0, 1], val_per_class=2))
    assert all((x["train"] == z["train"]).all() for x, z in zip(trials, again))
    assert (trials[0]["test"] == trials[1]["test"]).all()      # one test part per seed, every k
