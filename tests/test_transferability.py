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


def test_block_features_pools_each_depth():
    ds = load_digits([0, 1])
    out = tr.block_features(SmallCNN(), ds, ["conv1", "conv3", "fc"])
    assert out["conv1"].shape == (len(ds), 16) and out["conv3"].shape == (len(ds), 64) and out["fc"].shape == (len(ds), 5)
    with pytest.raises(LayerNotFoundError, match="No layer named 'nope'"):
        tr.block_features(SmallCNN(), ds, ["nope"])


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


def test_finetune_tail_keeps_to_the_budget_and_picks_on_validation():
    import torch

    from course_lib.compare import Budget, check_budget

    torch.manual_seed(0)
    X = torch.randn(60, 3, 4, 4)
    y = (X[:, 0].mean((1, 2)) > 0).long()
    make = tr.PooledTail(torch.nn.Conv2d(3, 4, 1))
    budget = Budget(40, (1e-3, 1e-2))
    r = tr.finetune_tail(make, X, y, _toy_split(), budget, seed=0)
    check_budget("tail", r, budget)
    assert r.steps == 40 and r.lr in budget.lr_grid and r.extra["trainable"] == 3 * 4 + 4 + 4 * 2 + 2
    assert len(r.extra["correct"]) == 14 and r.score == r.extra["correct"].mean()
    again = tr.finetune_tail(make, X, y, _toy_split(), budget, seed=0)
    assert again.score == r.score                      # seeded: the same run twice
    no_val = dict(_toy_split(), val=np.array([], dtype=int))
    with pytest.raises(ValueError, match="validation"):
        tr.finetune_tail(make, X, y, no_val, budget)
    assert tr.finetune_tail(make, X, y, no_val, Budget(10, (1e-2,))).steps == 10


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


def test_bootstrap_interval_of_rank_agreement():
    rng = np.random.default_rng(0)
    ps = {"a": 0.95, "b": 0.8, "c": 0.6, "d": 0.4}
    correct = {n: [rng.random(400) < p for _ in range(3)] for n, p in ps.items()}
    tau, low, high = tr.bootstrap_rank_agreement(dict(ps), correct, replicates=200)
    assert tau == pytest.approx(1.0) and low > 0.9          # well separated: a tight interval
    close = {n: [rng.random(30) < 0.7 for _ in range(3)] for n in ps}
    tau, low, high = tr.bootstrap_rank_agreement(dict(ps), close, replicates=200)
    assert low <= tau <= high and high - low > 0.5          # indistinguishable: a wide interval
