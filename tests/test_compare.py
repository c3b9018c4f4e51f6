"""The comparison protocol: paired intervals that cover, verdicts from numbers, budgets enforced."""
import numpy as np
import pytest
import torch
from torch import nn

from course_lib import compare, loop
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


GRID = (1e-3, 1e-2, 1e-1)


def _data(seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(60, 3, generator=g)
    y = (X[:, 0] > 0).long()
    return (X[:40], y[:40]), (X[40:], y[40:])


def _tuned(seed, budget):
    train, val = _data(seed)
    return RunResult(loop.tune(lambda: nn.Linear(3, 2), train, budget, val=val, seed=seed).val_score)


def test_run_paired_reads_the_steps_the_loop_counted_not_what_an_arm_says():
    def liar(seed, budget):            # reports nothing, steps in a loop of its own
        m = nn.Linear(3, 2)
        opt = torch.optim.SGD(m.parameters(), lr=0.1)
        for _ in range(3):
            opt.zero_grad()
            m(torch.ones(1, 3)).sum().backward()
            opt.step()
        return RunResult(score=0.99, steps=0)

    budget = Budget(steps=20, lr_grid=GRID, scale=1)
    results = compare.run_paired({"a": _tuned, "b": _tuned}, seeds=[0, 1], budget=budget)
    for r in results["a"]:
        assert r.lrs == GRID and 0 < r.steps <= 3 * budget.cap
        assert sum(run.steps for run in r.runs) == r.steps
    with pytest.raises(UnequalBudgetError, match="outside course_lib.loop.train"):
        compare.run_paired({"a": _tuned, "b": liar}, seeds=[0], budget=budget)


def test_an_arm_that_steps_more_than_its_budget_or_searches_another_grid_is_refused():
    budget = Budget(steps=20, lr_grid=GRID, scale=1)

    def greedy(seed, budget):          # the one loop, but a cap of its own
        train, val = _data(seed)
        for lr in budget.lr_grid:
            loop.train(nn.Linear(3, 2), train, lr=lr, cap=budget.cap * 2, val=val)
        return 0.9

    def other_grid(seed, budget):
        train, val = _data(seed)
        loop.tune(lambda: nn.Linear(3, 2), train, Budget(20, (1e-4, 1e-3, 1e-2), scale=1), val=val)
        return 0.9

    def half_grid(seed, budget):
        train, val = _data(seed)
        loop.train(nn.Linear(3, 2), train, lr=budget.lr_grid[0], cap=budget.cap, val=val)
        return 0.9

    def convex_other(seed, budget):
        (xt, yt), (xv, yv) = _data(seed)
        return loop.fit_convex(xt, yt, xv, yv, Budget(20, GRID, c_grid=(1.0, 2.0, 3.0), scale=1)).val_score

    def silent(seed, budget):
        return 0.5

    with pytest.raises(UnequalBudgetError, match="40 optimizer steps at learning rate"):
        compare.run_paired({"a": _tuned, "b": greedy}, seeds=[0], budget=budget)
    for arm in (other_grid, half_grid):
        with pytest.raises(UnequalBudgetError, match="same grid"):
            compare.run_paired({"a": _tuned, "b": arm}, seeds=[0], budget=budget)
    with pytest.raises(UnequalBudgetError, match="c_grid"):
        compare.run_paired({"a": _tuned, "b": convex_other}, seeds=[0], budget=budget)
    with pytest.raises(UnequalBudgetError, match="no_training"):
        compare.run_paired({"a": _tuned, "b": silent}, seeds=[0], budget=budget)


def test_convex_and_untrained_arms_pass_the_audit():
    budget = Budget(steps=20, lr_grid=GRID, scale=1)

    def convex(seed, budget):
        (xt, yt), (xv, yv) = _data(seed)
        fit = loop.fit_convex(xt, yt, xv, yv, budget)
        assert fit.converged
        return fit.val_score

    def rule(seed, budget):
        loop.no_training("the sign of the first feature")
        return 0.9

    results = compare.run_paired({"convex": convex, "rule": rule}, seeds=[0, 1], budget=budget)
    assert results["convex"][0].cs == budget.c_grid and results["convex"][0].steps == 0
    assert "convex head solved to convergence" in compare.budget_report(results)


def test_budgets_are_checked_and_scaled(monkeypatch):
    with pytest.raises(ValueError, match="positive int"):
        Budget(steps=0)
    with pytest.raises(ValueError, match="distinct positive"):
        Budget(10, (1e-3, 1e-3, 1e-2))
    with pytest.raises(ValueError, match="at least 3 rates"):
        compare.run_paired({"a": _tuned, "b": _tuned}, [0], Budget(10, (1e-3, 1e-2)))
    monkeypatch.setenv("COURSE_BUDGET_SCALE", "4")
    assert Budget(10, GRID).cap == 40 and compare.scaled(100) == 400
    assert "budget scale 4" in Budget(10, GRID).describe()
    monkeypatch.setenv("COURSE_BUDGET_SCALE", "zero")
    with pytest.raises(ValueError, match="COURSE_BUDGET_SCALE must be a positive number"):
        Budget(10, GRID)


def test_run_paired_calls_every_arm_on_the_same_seeds_in_order():
    calls = []

    def arm(name):
        def run(seed, budget):
            calls.append((name, seed))
            loop.no_training("a constant")
            return RunResult(score=seed)
        return run

    results = compare.run_paired({"a": arm("a"), "b": arm("b")}, seeds=[3, 4], budget=Budget(1, GRID))
    assert calls == [("a", 3), ("b", 3), ("a", 4), ("b", 4)]
    assert compare.compare_results(results, "a", "b").mean_difference == 0


def test_holm_adjusts_a_family_and_never_changes_a_lone_comparison():
    rng = np.random.default_rng(0)
    lone = compare.paired_comparison([0.62, 0.60, 0.66, 0.61, 0.64], [0.60, 0.55, 0.61, 0.60, 0.58])
    assert compare.holm([lone])[0].verdict == "A better" and "Holm" not in str(lone)
    # 20 null comparisons: unadjusted, about one is "significant"; Holm keeps the family's error at 5 %
    false_unadjusted = false_holm = 0
    for _ in range(200):
        family = [compare.paired_comparison(rng.normal(0, 1, 5), rng.normal(0, 1, 5)) for _ in range(20)]
        false_unadjusted += any(c.p_value < 0.05 for c in family)
        false_holm += any("better" in c.verdict for c in compare.holm(family))
    assert false_unadjusted / 200 > 0.4 and false_holm / 200 <= 0.09
    p = compare.paired_comparison([0.7, 0.8, 0.9], [0.6, 0.65, 0.85])
    low, high = p.interval
    assert (p.p_value < 0.05) == (low > 0 or high < 0)


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
