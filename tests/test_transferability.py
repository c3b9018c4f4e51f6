import numpy as np
import pytest

from course_lib import transferability as tr
from course_lib.data import load_digits
from course_lib.errors import LayerNotFoundError
from course_lib.pretrain import SmallCNN


def _truncated_reference_evidence(F, y, alpha, beta):
    """The reference implementation's evidence: log|A| over the min(n, d) SVD values only."""
    n, d = F.shape
    U, s, _ = np.linalg.svd(F, full_matrices=False)
    z = U.T @ y
    shrink = alpha + beta * s ** 2
    m2 = np.sum((beta * s * z / shrink) ** 2)
    res = np.sum((alpha * z / shrink) ** 2) + max(y @ y - z @ z, 0)
    return (0.5 * n * np.log(beta) + 0.5 * d * np.log(alpha) - 0.5 * n * np.log(2 * np.pi)
            - 0.5 * beta * res - 0.5 * alpha * m2 - 0.5 * np.sum(np.log(shrink)))


@pytest.mark.parametrize("n,d", [(40, 5), (30, 30), (12, 50), (8, 200)])
def test_evidence_equals_brute_force_for_any_shape(n, d):
    rng = np.random.default_rng(n * d)
    F = rng.standard_normal((n, d))
    y = (rng.random(n) > 0.5).astype(float)
    for alpha, beta in ((0.5, 2.0), (3.0, 0.7)):
        exact = tr.log_evidence(F, y, alpha, beta)
        assert exact == pytest.approx(tr.brute_force_log_evidence(F, y, alpha, beta), rel=1e-9, abs=1e-9)
        truncated = _truncated_reference_evidence(F, y, alpha, beta)
        if d > n:   # the reference drops (d - n) log(alpha) / 2: our test would catch that mistake
            assert abs(truncated - exact) == pytest.approx(0.5 * (d - n) * abs(np.log(alpha)), rel=1e-6)
        else:
            assert truncated == pytest.approx(exact, rel=1e-9)


@pytest.mark.parametrize("n,d", [(50, 8), (15, 60)])
def test_fixed_point_is_a_maximum(n, d):
    rng = np.random.default_rng(1)
    F = rng.standard_normal((n, d))
    y = (F[:, 0] + 0.5 * rng.standard_normal(n) > 0).astype(float)
    alpha, beta, best = tr.maximise_evidence(F, y)
    assert best == pytest.approx(tr.brute_force_log_evidence(F, y, alpha, beta), rel=1e-8)
    for fa, fb in ((1.3, 1), (0.7, 1), (1, 1.3), (1, 0.7)):
        assert tr.log_evidence(F, y, alpha * fa, beta * fb) <= best + 1e-9


def test_logme_prefers_informative_features():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 120)
    good = np.eye(3)[y] * 3 + 0.3 * rng.standard_normal((120, 3))
    noise = rng.standard_normal((120, 3))
    assert tr.logme(good, y) > tr.logme(noise, y)
    wide = np.c_[good, rng.standard_normal((120, 400))]       # d > n still works
    assert np.isfinite(tr.logme(wide, y))
    with pytest.raises(ValueError, match="two classes"):
        tr.logme(good, np.zeros(120))
    with pytest.raises(ValueError, match="one label per row"):
        tr.logme(good, y[:5])


def test_leep_by_hand_and_properties():
    theta = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    y = np.array([0, 1, 0])
    joint = np.array([[0.9 + 0.6, 0.1 + 0.4], [0.2, 0.8]]) / 3
    cond = joint / joint.sum(0)
    expected = np.mean(np.log([theta[i] @ cond[y[i]] for i in range(3)]))
    assert tr.leep(theta, y) == pytest.approx(expected)
    assert tr.leep(theta, y) <= 0
    perfect = np.eye(2)[np.array([0, 1, 0, 1])]
    blurry = np.full((4, 2), 0.5)
    assert tr.leep(perfect, [0, 1, 0, 1]) > tr.leep(blurry, [0, 1, 0, 1])
    assert tr.leep(perfect, [0, 1, 0, 1]) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="apply softmax"):
        tr.leep(np.array([[2.0, -1.0]]), [0])
    with pytest.raises(ValueError, match="one label per row"):
        tr.leep(theta, [0])


def test_knn_probe_and_rank_agreement():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 40)
    good = np.c_[y * 2 - 1, np.zeros(80)] + 0.3 * rng.standard_normal((80, 2))
    bad = rng.standard_normal((80, 2))
    assert tr.knn_score(good, y) > 0.9 > tr.knn_score(bad, y)
    assert tr.linear_probe_score(good, y) > 0.9 > tr.linear_probe_score(bad, y)
    assert tr.knn_score(good, y, seed=3) == tr.knn_score(good, y, seed=3)
    acc = {"a": 0.9, "b": 0.7, "c": 0.5, "d": 0.3}
    assert tr.rank_agreement({"a": 4, "b": 3, "c": 2, "d": 1}, acc) == pytest.approx(1.0)
    assert tr.rank_agreement({"a": 1, "b": 2, "c": 3, "d": 4}, acc) == pytest.approx(-1.0)
    assert tr.rank_agreement({"a": 4, "b": 3, "c": 2, "d": float("nan")}, acc) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least 3"):
        tr.rank_agreement({"a": 1, "b": 2}, acc)


@pytest.mark.parametrize("n,d", [(30, 6), (10, 40)])
def test_evidence_exact_for_rank_deficient_features(n, d):
    rng = np.random.default_rng(7)
    F = rng.standard_normal((n, 3)) @ rng.standard_normal((3, d))    # rank 3 < min(n, d)
    y = rng.standard_normal(n)
    assert tr.log_evidence(F, y, 0.8, 1.5) == pytest.approx(tr.brute_force_log_evidence(F, y, 0.8, 1.5), rel=1e-8)
    alpha, beta, best = tr.maximise_evidence(F, y)
    assert best == pytest.approx(tr.brute_force_log_evidence(F, y, alpha, beta), rel=1e-8)


def test_logme_is_mean_per_sample_evidence_over_classes_and_rejects_bad_input():
    rng = np.random.default_rng(3)
    F = rng.standard_normal((20, 70))                         # d > n
    y = rng.integers(0, 3, 20)
    y[:3] = [0, 1, 2]
    per_class = [tr.maximise_evidence(F, (y == c).astype(float))[2] / 20 for c in range(3)]
    assert tr.logme(F, y) == pytest.approx(np.mean(per_class), rel=1e-12)
    alpha, beta, _ = tr.maximise_evidence(F, (y == 0).astype(float))
    assert per_class[0] * 20 == pytest.approx(tr.brute_force_log_evidence(F, (y == 0).astype(float), alpha, beta), rel=1e-8)
    with pytest.raises(ValueError, match="NaN"):
        tr.logme(np.full((20, 3), np.nan), y)
    with pytest.raises(ValueError, match="must be > 0"):
        tr.log_evidence(F, y.astype(float), 0.0, 1.0)
    with pytest.raises(ValueError, match="one label per row"):
        tr.knn_score(F, y[:4])


def _toy_split(n=60):
    return {"train": np.arange(0, 36), "val": np.arange(36, 46), "test": np.arange(46, n)}


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny tensors: one thread, so a busy shared machine does not stall every operation."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _toy_task():
    import torch

    torch.manual_seed(0)
    X = torch.randn(60, 3, 4, 4)
    y = (X[:, 0].mean((1, 2)) > 0).long()
    return X, y


def test_finetune_tail_runs_in_the_counted_loop_and_passes_the_audit():
    import torch

    from course_lib.compare import Budget, run_paired

    X, y = _toy_task()
    make = tr.PooledTail(torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4))
    budget = Budget(20, (1e-3, 1e-2, 1e-1), scale=1)
    arms = {"tail": lambda seed, b: tr.finetune_tail(make, X, y, _toy_split(), b, seed=seed),
            "same again": lambda seed, b: tr.finetune_tail(make, X, y, _toy_split(), b, seed=seed)}
    out = run_paired(arms, [0, 1], budget)                  # audit: no step outside loop.train, ≤ cap per rate
    r = out["tail"][0]
    assert sorted(r.lrs) == sorted(budget.lr_grid) and r.lr in budget.lr_grid
    assert 0 < r.steps <= budget.cap * len(budget.lr_grid)
    assert r.extra["trainable"] == 3 * 4 + 4 + 2 * 4 + 4 * 2 + 2   # conv, BatchNorm scale/shift, new head
    assert r.score == out["same again"][0].score           # seeded: the same run twice
    assert 0.0 <= r.extra["val"] <= 1.0


def test_finetune_tail_leaves_the_copied_block_statistics_alone_and_needs_validation():
    import torch

    X, y = _toy_task()
    block = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4))
    before = block[1].running_mean.clone()
    model = tr.tail_classifier(tr.PooledTail(*block), X, 2)
    assert torch.equal(model[0][1].running_mean, before)   # sizing the head ran in eval mode
    assert torch.equal(block[1].running_mean, before)      # the candidate itself is never touched
    from course_lib.compare import Budget

    no_val = dict(_toy_split(), val=np.array([], dtype=int))
    with pytest.raises(ValueError, match="validation"):
        tr.finetune_tail(tr.PooledTail(*block), X, y, no_val, Budget(10, (1e-3, 1e-2, 1e-1), scale=1))
    with pytest.raises(ValueError, match="one row per image"):
        tr.finetune_tail(tr.PooledTail(*block), X, y[:10], _toy_split(), Budget(10, (1e-3, 1e-2, 1e-1), scale=1))


def test_finetune_tail_is_refused_when_it_overspends():
    """The audit reads what the loop counted: the same arm with a larger cap than the budget fails."""
    import torch

    from course_lib.compare import Budget, UnequalBudgetError, run_paired

    X, y = _toy_task()
    make = tr.PooledTail(torch.nn.Conv2d(3, 4, 1))
    small, large = Budget(5, (1e-3, 1e-2, 1e-1), scale=1), Budget(12, (1e-3, 1e-2, 1e-1), scale=1)
    greedy = {"greedy": lambda seed, b: tr.finetune_tail(make, X, y, _toy_split(), large, seed=seed),
              "fair": lambda seed, b: tr.finetune_tail(make, X, y, _toy_split(), b, seed=seed)}
    with pytest.raises(UnequalBudgetError, match="greedy"):
        run_paired(greedy, [0], small)


def test_module_inputs_and_tail_features_reproduce_the_forward_pass():
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3), torch.nn.BatchNorm2d(3), torch.nn.ReLU(),
                              torch.nn.Conv2d(3, 2, 1), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    ds = torch.utils.data.TensorDataset(torch.randn(7, 1, 6, 6), torch.zeros(7))
    cached = tr.module_inputs(net, ds, ["3"])["3"]
    assert cached.shape == (7, 3, 4, 4)
    feats = tr.tail_features(tr.PooledTail(net[3]), cached)
    with torch.no_grad():
        expected = net.eval()(ds.tensors[0]).numpy()
    assert np.allclose(feats, expected, atol=1e-6)
    with pytest.raises(ValueError, match="no sub-module"):
        tr.module_inputs(net, ds, ["nope"])


def test_calibrate_batchnorm_gives_real_scale_statistics():
    import torch

    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 1, bias=False), torch.nn.BatchNorm2d(2))
    torch.nn.init.constant_(net[0].weight, 1e-4)          # tiny activations, like an untrained net
    ds = torch.utils.data.TensorDataset(torch.randn(32, 1, 3, 3), torch.zeros(32))
    out_before = net.eval()(ds.tensors[0]).std()
    tr.calibrate_batchnorm(net, ds)
    assert not net.training and net[1].momentum == 0.1
    assert out_before < 1e-2 < net(ds.tensors[0]).std()


def _truth(rng, means, noise, splits=10):
    return {n: m + noise * rng.standard_normal(splits) for n, m in means.items()}


def test_tau_over_splits_interval_reflects_split_noise():
    rng = np.random.default_rng(0)
    means = {"a": 0.95, "b": 0.8, "c": 0.6, "d": 0.4}
    apart = _truth(rng, means, 0.01)
    tau, low, high = tr.tau_over_splits({n: v + 0.001 for n, v in apart.items()}, apart, replicates=300)
    assert tau == pytest.approx(1.0) and low > 0.9                    # well separated: a tight interval
    close = _truth(rng, {n: 0.7 for n in means}, 0.05)
    tau, low, high = tr.tau_over_splits(dict(_truth(rng, means, 0.0)), close, replicates=300)
    assert low <= tau <= high and high - low > 0.5                   # indistinguishable: a wide interval
    with pytest.raises(ValueError, match="one score and one accuracy per split"):
        tr.tau_over_splits({n: [1.0] * 3 for n in means}, {n: [0.5] * 4 for n in means})
    with pytest.raises(ValueError, match="at least 3"):
        tr.tau_over_splits({"a": [1, 2]}, {"a": [1, 2]})


def test_compare_taus_is_a_paired_bootstrap_that_holm_and_verdicts_accept():
    from course_lib import compare, verdicts

    rng = np.random.default_rng(1)
    acc = _truth(rng, {n: m for n, m in zip("abcdef", (.95, .9, .8, .7, .6, .4))}, 0.01)
    good = {n: v + 0.005 * rng.standard_normal(10) for n, v in acc.items()}
    reversed_ = {n: -v for n, v in acc.items()}
    c = tr.compare_taus(good, reversed_, acc, "good", "reversed", replicates=300)
    assert c.verdict == "good better" and c.mean_difference == pytest.approx(c.tau_a - c.tau_b)
    assert c.interval[0] > 0 and c.p_value < 0.05 and c.n == 10
    same = tr.compare_taus(good, good, acc, "A", "B", replicates=300)
    assert same.mean_difference == 0 and same.p_value == 1.0
    assert same.verdict == "no detectable difference with n = 10"
    family = compare.holm([c, same])
    assert family[0].family == 2 and family[0].adjusted_p >= c.p_value
    assert "bootstrap CI over 10 splits" in str(c)
    data = c.to_dict()
    assert data["mean_a"] == pytest.approx(c.tau_a) and data["verdict"] == "good better"
    rec = verdicts.record("99", "test/tau", c, en="test", zh="{diff:+.2f} {verdict}", names_zh=("好", "反"),
                          quiet=True)
    assert rec.zh_line().endswith("好更好")


def test_accuracy_of_choice_shares_ties_and_skips_missing_scores():
    acc = {"a": [0.9, 0.9, 0.9], "b": [0.5, 0.5, 0.5], "c": [0.7, 0.7, 0.7]}
    values = {"a": [1.0, 0.0, 0.5], "b": [0.0, 1.0, 0.5], "c": [float("nan"), 0.0, 0.5]}
    assert tr.accuracy_of_choice(values, acc) == pytest.approx([0.9, 0.5, 0.7])
