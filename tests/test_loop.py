"""The one training loop: it counts every step, stops on validation, keeps the best weights."""
import numpy as np
import pytest
import torch
from torch import nn

from course_lib import loop
from course_lib.errors import NothingToTrainError
from course_lib.loop import Budget, Ledger


def _separable(n=90, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 4, generator=g)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).long()
    return (X[:60], y[:60]), (X[60:], y[60:])


def test_steps_are_counted_by_the_optimizer_hook_and_never_exceed_the_cap():
    train, val = _separable()
    with Ledger() as ledger:
        run = loop.train(nn.Linear(4, 2), train, lr=0.05, cap=37, val=val, batch_size=8)
    assert run.steps == ledger.steps == 37 and ledger.undeclared_steps == 0
    assert run.curve[-1][0] == 37 and 1 <= run.best_step <= 37


def test_early_stopping_keeps_the_weights_of_the_best_step():
    train, val = _separable()
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    run = loop.train(model, train, lr=0.5, cap=400, val=val, eval_every=5, patience=3, batch_size=8)
    assert run.stopped_early and run.steps < 400
    assert loop.accuracy_score(*val)(model) == pytest.approx(run.best_score)
    assert run.best_step == max(run.curve, key=lambda sv: sv[1])[0]


def test_a_run_without_validation_keeps_its_last_weights():
    train, _ = _separable()
    run = loop.train(nn.Linear(4, 2), train, lr=0.1, cap=10)
    assert run.best_step == run.steps == 10 and run.curve == []


def test_tune_tries_every_rate_from_the_same_start_and_keeps_the_best():
    train, val = _separable()
    starts = []

    def make():
        m = nn.Linear(4, 2)
        starts.append(m.weight.detach().clone())
        return m

    tuned = loop.tune(make, train, Budget(30, (1e-4, 1e-2, 1.0), scale=1), val=val, seed=3)
    assert len(tuned.runs) == 3 and all(torch.equal(starts[0], s) for s in starts)
    assert tuned.run.best_score == max(r.best_score for r in tuned.runs)
    assert [r.selected for r in tuned.runs].count(True) == 1
    with pytest.raises(ValueError, match="validation"):
        loop.tune(make, train, Budget(30, (1e-3, 1e-2, 1e-1)), val=None)


def test_param_groups_give_the_new_head_the_grid_rate_and_the_body_a_fraction():
    body, head = nn.Linear(4, 4), nn.Linear(4, 2)
    model = nn.Sequential(body, nn.ReLU(), head)
    train, val = _separable()
    seen = []
    loop.train(model, train, lr=0.01, cap=3, val=val,
               param_groups=loop.head_and_body(head, 0.1),
               optimizer=lambda groups: seen.append([g["lr"] for g in groups]) or torch.optim.Adam(groups))
    assert seen == [[0.01, 0.001]]


def test_warmup_linear_schedule_rises_then_decays_to_zero():
    model = nn.Linear(4, 2)
    train, _ = _separable()
    rates = []
    loop.train(model, train, lr=0.1, cap=20, schedule="warmup-linear",
               optimizer=lambda g: _Spy(g, rates))
    assert rates[0] < rates[1] and max(rates) == pytest.approx(0.1) and rates[-1] < 0.01


class _Spy(torch.optim.SGD):
    def __init__(self, groups, rates):
        super().__init__(groups)
        self._rates = rates

    def step(self, closure=None):
        self._rates.append(self.param_groups[0]["lr"])
        return super().step(closure)


def test_frozen_batchnorm_keeps_its_statistics_and_bn_eval_keeps_all():
    model = nn.Sequential(nn.BatchNorm1d(4), nn.Linear(4, 2))
    model[0].requires_grad_(False)
    before = model[0].running_mean.clone()
    train, _ = _separable()
    loop.train(model, train, lr=0.1, cap=5)
    assert torch.equal(before, model[0].running_mean)
    trainable = nn.Sequential(nn.BatchNorm1d(4), nn.Linear(4, 2))
    before = trainable[0].running_mean.clone()
    loop.train(trainable, train, lr=0.1, cap=5, bn_eval=True)
    assert torch.equal(before, trainable[0].running_mean)


def test_per_token_and_per_pixel_losses_and_ignored_labels():
    tokens = torch.randn(6, 5, 3)                      # 6 sentences, 5 tokens, 3 features
    tags = torch.randint(0, 2, (6, 5))
    tags[:, -1] = -100                                 # padding
    run = loop.train(nn.Linear(3, 2), (tokens, tags), lr=0.1, cap=4, batch_size=3,
                     val=(tokens, tags))
    assert run.steps == 4 and 0 <= run.best_score <= 1
    pixels = torch.randn(4, 3, 8, 8)
    masks = torch.randint(0, 2, (4, 8, 8))
    run = loop.train(nn.Conv2d(3, 2, 1), (pixels, masks), lr=0.1, cap=3, batch_size=2)
    assert run.steps == 3


def test_loaders_are_cycled_and_dict_inputs_work():
    from torch.utils.data import DataLoader, TensorDataset

    train, val = _separable()
    loader = DataLoader(TensorDataset(*train), batch_size=32)     # 2 batches per pass
    run = loop.train(nn.Linear(4, 2), loader, lr=0.1, cap=5, val=val)
    assert run.steps == 5

    class DictModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 2)

        def forward(self, features):
            return self.lin(features)

    def loss(model, batch):
        x, y = batch
        return nn.functional.cross_entropy(model(features=x), y)

    assert loop.train(DictModel(), train, lr=0.1, cap=2, loss=loss).steps == 2


def test_bad_calls_say_what_is_wrong():
    train, _ = _separable()
    frozen = nn.Linear(4, 2).requires_grad_(False)
    with pytest.raises(NothingToTrainError, match="frozen"):
        loop.train(frozen, train, lr=0.1, cap=3)
    with pytest.raises(NothingToTrainError, match="cap"):
        loop.train(nn.Linear(4, 2), train, lr=0.1, cap=0)
    with pytest.raises(ValueError, match="optimizer must be"):
        loop.train(nn.Linear(4, 2), train, lr=0.1, cap=1, optimizer="rmsprop")
    with pytest.raises(ValueError, match="equal length"):
        loop.train(nn.Linear(4, 2), (torch.zeros(3, 4), torch.zeros(2).long()), lr=0.1, cap=1)


def test_fit_convex_converges_and_picks_the_strength_on_validation():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 10))
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    budget = Budget(10, (1e-3, 1e-2, 1e-1), c_grid=(1e-4, 1.0, 100.0), scale=1)
    with Ledger() as ledger:
        fit = loop.fit_convex(X[:100], y[:100], X[100:150], y[100:150], budget, scale=None)
    assert fit.converged and fit.C != 1e-4 and fit.score(X[150:], y[150:]) > 0.85
    assert ledger.tried("convex") == budget.c_grid and ledger.steps == 0
    with pytest.raises(ValueError, match="one class"):
        loop.fit_convex(X[:5], np.zeros(5), X[5:9], y[5:9], budget)


def test_late_best_steps_are_reported():
    runs = [loop.Run(1e-3, 100, best_step=s, selected=True) for s in (10, 85, 100)]
    assert loop.late_fraction(runs) == (2, 3)
