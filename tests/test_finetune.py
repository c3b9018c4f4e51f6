"""course_lib.finetune: every arm on the fair protocol (tuned, counted, audited), the article's loop."""
import copy

import numpy as np
import pytest
import torch
from torch import nn

from course_lib import compare, data, finetune, loop, models
from course_lib.compare import Budget, UnequalBudgetError, run_paired, trials_by_seed
from course_lib.pretrain import SmallCNN

GRID = (1e-3, 3e-3, 1e-2)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models: one thread is as fast, and a loaded machine does not slow it to a crawl."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def digits():
    return data.load_digits([0, 1, 2])


@pytest.fixture(scope="module")
def xy(digits):
    return finetune.tensors(digits)


@pytest.fixture(scope="module")
def trials(digits):
    return trials_by_seed(digits.labels, 5, [0, 1], val_per_class=3)


def make_cnn():
    torch.manual_seed(0)
    return SmallCNN(num_classes=3)


def test_discriminative_groups_skip_frozen_and_decay():
    model = SmallCNN(num_classes=3)
    models.freeze_all_but_last(model, 2)
    groups = finetune.discriminative_param_groups(model, 1e-2, decay=0.5)
    assert [g["name"] for g in groups] == ["conv3", "fc"]
    assert [g["lr"] for g in groups] == [5e-3, 1e-2]


def test_head_rate_groups_put_the_new_head_at_the_grid_rate():
    model = SmallCNN(num_classes=3)
    groups = finetune.head_rate_groups(0.1)(model, 1e-2)
    head = {id(p) for p in model.fc.parameters()}
    assert groups[0]["lr"] == 1e-2 and {id(p) for p in groups[0]["params"]} == head
    assert groups[1]["lr"] == pytest.approx(1e-3) and not head & {id(p) for p in groups[1]["params"]}
    models.freeze_all_but_last(model, 1)                       # a frozen body leaves one group
    assert len(finetune.head_rate_groups(0.1)(model, 1e-2)) == 1


def test_tensors_apply_the_transform_to_the_batch(digits):
    x, y = finetune.tensors(digits, finetune.as_stored)
    assert torch.equal(x, digits.images * 16) and torch.equal(y, digits.labels)
    x, _ = finetune.tensors(digits.with_transform(finetune.as_stored))   # the dataset's own transform
    assert torch.equal(x, digits.images * 16)


def test_regime_arms_are_tuned_counted_and_pass_the_audit(xy, trials):
    x, y = xy
    arms = finetune.regime_arms(make_cnn, x, y, trials, n_last=2, body_factor=1.0, batch_size=8, patience=2)
    assert list(arms) == list(finetune.REGIMES)
    budget = Budget(steps=6, lr_grid=GRID, scale=1)
    runs = run_paired(arms, [0, 1], budget)                   # run_paired audits every arm
    fx, last, full = (runs[name] for name in finetune.REGIMES)
    assert all(r.steps == 0 and r.cs == budget.c_grid and "C" in r.extra for r in fx)   # converged, no steps
    for results in (last, full):
        for r in results:
            assert sorted(r.lrs) == sorted(GRID) and r.extra["lr"] in GRID
            assert all(run.steps <= budget.cap for run in r.runs) and r.steps <= budget.cap * len(GRID)
            assert sum(run.selected for run in r.runs) == 1
    assert full[0].extra["trainable"] > last[0].extra["trainable"]
    assert all(0 <= r.score <= 1 for rs in runs.values() for r in rs)


def test_an_arm_that_spends_more_than_the_budget_is_refused(xy, trials):
    x, y = xy
    full = finetune.tuned_arm(make_cnn, x, y, trials, batch_size=8)
    greedy = {"fair": full, "greedy": lambda seed, budget: full(seed, Budget(budget.steps * 2, budget.lr_grid))}
    with pytest.raises(UnequalBudgetError, match="optimizer steps at learning rate"):
        run_paired(greedy, [0], Budget(steps=2, lr_grid=GRID))
    other_grid = {"fair": full, "other": lambda seed, budget: full(seed, Budget(budget.steps, (0.1, 0.2, 0.3)))}
    with pytest.raises(UnequalBudgetError, match="searched the learning rates"):
        run_paired(other_grid, [0], Budget(steps=2, lr_grid=GRID))


def test_technique_arms_pass_the_audit_and_lp_ft_starts_from_the_probe(xy, trials):
    x, y = xy
    arms = finetune.technique_arms(make_cnn, x, y, trials, batch_size=8, patience=2)
    assert list(arms) == list(finetune.TECHNIQUES)
    budget = Budget(steps=4, lr_grid=GRID, scale=1)
    runs = run_paired(arms, [0], budget)
    for name, (result,) in runs.items():
        assert sorted(result.lrs) == sorted(GRID)
    lp_ft = runs[finetune.TECHNIQUES[2]][0]
    assert lp_ft.cs == budget.c_grid                          # the probe: a convex fit, C on validation


def test_lp_ft_starts_every_rate_from_the_probe(xy, trials):
    x, y = xy
    features = finetune.body_features(make_cnn, x)
    budget = Budget(steps=2, lr_grid=GRID, scale=1)
    probe = finetune.linear_probe_head(features, y, trials[0], budget, 3)
    starts = []
    original = loop.train

    def spy(model, *args, **kwargs):
        starts.append(model.fc.weight.detach().clone())
        return original(model, *args, **kwargs)

    loop.train = spy
    try:
        finetune.technique_arms(make_cnn, x, y, trials, batch_size=8)[finetune.TECHNIQUES[2]](0, budget)
    finally:
        loop.train = original
    assert len(starts) == len(GRID) and all(torch.equal(s, probe.weight) for s in starts)


def test_linear_probe_head_matches_the_logistic_regression():
    g = torch.Generator().manual_seed(0)
    f = torch.randn(60, 4, generator=g)
    y = (f[:, 0] + f[:, 1] > 0).long()
    trial = {"train": np.arange(40), "val": np.arange(40, 60)}
    head = finetune.linear_probe_head(f, y, trial, Budget(5, GRID, scale=1), 2)
    fit = loop.fit_convex(f[:40], y[:40], f[40:], y[40:], Budget(5, GRID, scale=1), scale=None)
    with torch.no_grad():
        assert np.array_equal(head(f).argmax(1).numpy(), fit.predict(f))


def test_article_loop_is_the_articles_lines_counted(digits):
    loader = lambda: data.make_loader(digits, 64, shuffle=True, seed=0)   # noqa: E731
    torch.manual_seed(0)
    by_hand = SmallCNN(num_classes=3).train()
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(by_hand.parameters(), lr=0.001)
    dataloader = loader()
    for _ in range(2):
        for inputs, labels in dataloader:
            optimizer.zero_grad()
            criterion(by_hand(inputs), labels).backward()
            optimizer.step()
    torch.manual_seed(0)
    counted = SmallCNN(num_classes=3)
    with loop.Ledger() as ledger:
        run = finetune.article_loop(counted, loader(), epochs=2)
    assert run["steps"] == ledger.steps == 2 * len(loader()) and ledger.undeclared_steps == 0
    assert len(run["losses"]) == 2 and counted.training                     # left in train mode
    assert all(torch.equal(a, b) for a, b in zip(by_hand.state_dict().values(), counted.state_dict().values()))


def test_accuracy_as_left_and_reestimated_batchnorm_leave_the_model_alone(digits):
    model = SmallCNN(num_classes=3)
    finetune.article_loop(model, data.make_loader(digits, 64, shuffle=True), epochs=1)
    before = copy.deepcopy(model.state_dict())
    x, y = digits.images, digits.labels
    whole, small = finetune.accuracy_as_left(model, x, y), finetune.accuracy_as_left(model, x, y, batch_size=4)
    fresh = finetune.reestimated_batchnorm(model, x[:50])
    assert 0 <= small <= 1 and 0 <= whole <= 1 and model.training and not fresh.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    with torch.no_grad():
        features = model.conv1[0](x[:50])
    assert torch.allclose(fresh.conv1[1].running_mean, features.mean(dim=(0, 2, 3)), atol=1e-5)
    assert not torch.allclose(model.conv1[1].running_mean, fresh.conv1[1].running_mean)


def test_ablation_arms_change_one_thing_per_step(digits, xy):
    x, y = xy
    trials = trials_by_seed(digits.labels, 7, [0, 1], val_per_class=3)   # pool 30: one batch of 32
    arms = finetune.ablation_arms(make_cnn, x, y, trials, epochs=3, patience=2)
    assert list(arms) == list(finetune.ABLATION_STEPS)
    budget = Budget(steps=3, lr_grid=GRID, scale=1)
    runs = run_paired(arms, [0, 1], budget)
    steps = [[r.steps for r in runs[name]] for name in finetune.ABLATION_STEPS]
    assert steps[:4] == [[3, 3], [0, 0], [3, 3], [3, 3]]              # 3 epochs of 1 batch; step 2 re-scores
    assert all(s <= 3 for s in steps[4]) and all(s <= 9 for s in steps[5])
    assert runs[finetune.ABLATION_STEPS[0]][0].lrs == () and sorted(runs[finetune.ABLATION_STEPS[5]][0].lrs) == sorted(GRID)
    assert len(runs[finetune.ABLATION_STEPS[0]][0].extra["losses"]) == 3
    comparisons = finetune.step_comparisons({name: [r.score for r in rs] for name, rs in runs.items()})
    assert [(c.name_a, c.name_b) for c in comparisons] == list(zip(finetune.ABLATION_STEPS[1:],
                                                                   finetune.ABLATION_STEPS[:-1]))


def test_article_vs_recipe_arms_score_one_model_five_ways(digits):
    class RGB(nn.Module):                         # a tiny "backbone" for 3-channel inputs, head `fc`
        def __init__(self):
            super().__init__()
            self.mix, self.body = nn.Conv2d(3, 1, 1), SmallCNN(num_classes=3)
            self.fc = nn.Linear(64, 3)

        def forward(self, x):
            return self.fc(self.body.features(self.mix(x)))

    backbone = models.Backbone("tiny", RGB(), models.ImagePreprocess(8, (0.5,) * 3, (0.5,) * 3), 64, "fc")
    trials = trials_by_seed(digits.labels, 2, [0, 1], val_per_class=2)
    arms = finetune.article_vs_recipe_arms(backbone, digits, trials, epochs=3, batch_size=12, patience=2)
    assert list(arms) == list(finetune.ARTICLE_ARMS)
    runs = run_paired(arms, [0, 1], Budget(steps=2, lr_grid=GRID, scale=1))
    article = runs[finetune.ARTICLE_ARMS[0]][0]
    assert article.steps == 3 and set(article.extra["scores"]) == set(finetune.ARTICLE_ARMS[:5])
    for name in finetune.ARTICLE_ARMS[1:5]:                    # re-scored, not retrained
        assert runs[name][0].steps == 0 and runs[name][0].score == article.extra["scores"][name]
    assert sorted(runs[finetune.ARTICLE_ARMS[5]][0].lrs) == sorted(GRID)
    assert "C" in runs[finetune.ARTICLE_ARMS[6]][0].extra
    without = finetune.article_vs_recipe_arms(backbone, digits, trials, epochs=1, fine_tune=False)
    assert finetune.ARTICLE_ARMS[5] not in without


def test_curve_helpers_keep_results_and_rows():
    store = {}
    arms = finetune.keeping({"a": lambda s, b: (loop.no_training("constant"), compare.RunResult(0.5 + s / 10))[1],
                             "b": lambda s, b: (loop.no_training("constant"), 0.5)[1]}, store)
    rows = compare.run_curve(lambda k: arms, [1, 2], [0, 1], Budget(2, GRID))
    assert len(store["a"]) == 4 and all(isinstance(r, compare.RunResult) for r in store["b"])
    c = finetune.curve_comparison(rows, "a", "b", 2)
    assert c.mean_difference == pytest.approx(0.05) and finetune.mean_accuracy(rows, "a", 1) == pytest.approx(0.55)
    extra = finetune.rows_from({"a": store["a"][:2], "z": store["b"][:2]}, 5, [0, 1], {"a": "A"})
    assert [(r["name"], r["k"], r["seed"]) for r in extra] == [("A", 5, 0), ("A", 5, 1)]
    assert "picked" not in finetune.report({"a": store["a"][:2]}) and "mean 0.550" in finetune.report({"a": store["a"][:2]})


def test_cached_vs_naive_runs_the_backbone_once_per_image_when_cached(digits):
    calls = []

    class Spy(SmallCNN):
        def features(self, x):
            calls.append(len(x))
            return super().features(x)

    backbone = models.Backbone("spy", Spy(num_classes=3), lambda x: x, 64, "fc")
    train = digits.subset(np.arange(64))                      # 2 batches of 32
    out = finetune.cached_vs_naive(backbone, train, 3, epochs=3)
    naive = sum(calls[:6])
    assert naive == 3 * 64                                     # every image, every epoch
    assert sum(calls[6:]) == 64                                # once, for the cache
    assert set(out) >= {"naive_s", "cached_s", "extract_s", "training_ratio", "end_to_end_ratio"}
