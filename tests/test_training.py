"""course_lib.training: fit loop modes, frozen BatchNorm, early stopping, features, heads."""
import copy

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from course_lib import data, models, training
from course_lib.compare import few_shot_trials
from course_lib.errors import ClassCountMismatchError, EmptyDataError, NothingToTrainError
from course_lib.pretrain import SmallCNN


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models: one thread is as fast, and a loaded machine does not slow it to a crawl."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _blobs(n=80, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 4, generator=g)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).long()
    return X, y


def _loaders(seed=0):
    X, y = _blobs(seed=seed)
    ds = TensorDataset(X, y)
    return data.make_loader(ds, 16, shuffle=True, seed=seed), data.make_loader(ds, 64)


class ModeSpy(nn.Module):
    """Records whether it was called in train mode and with gradients enabled."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 2)
        self.calls = []

    def forward(self, x):
        self.calls.append((self.training, torch.is_grad_enabled()))
        return self.lin(x)


def test_fit_uses_train_mode_for_training_and_eval_no_grad_for_validation():
    spy = ModeSpy()
    train_loader, val_loader = _loaders()
    history = training.fit(spy, train_loader, val_loader, epochs=2, lr=0.05, progress=False)
    n_train = len(train_loader)
    assert spy.calls[:n_train] == [(True, True)] * n_train
    assert spy.calls[n_train] == (False, False)  # validation
    assert history.epochs == 2 and len(history.val_acc) == 2 and len(history.seconds) == 2
    assert not spy.training  # left in eval mode, ready for predictions


def test_fit_learns_and_keeps_best_weights():
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    train_loader, val_loader = _loaders()
    history = training.fit(model, train_loader, val_loader, epochs=15, lr=0.1, progress=True)
    assert history.best_val_acc >= 0.9
    final = training.evaluate(model, val_loader)
    assert final["accuracy"] == pytest.approx(history.best_val_acc)
    assert "best epoch" in repr(history)


def test_fit_early_stopping():
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    train_loader, val_loader = _loaders()
    history = training.fit(model, train_loader, val_loader, epochs=200, lr=0.5, patience=3, progress=False)
    assert history.stopped_early and history.epochs < 200
    assert history.epochs - history.best_epoch == 3


def test_same_seed_same_history():
    def run():
        torch.manual_seed(1)
        model = SmallCNN(num_classes=2)
        ds = data.load_digits([0, 1])
        return training.fit(model, data.make_loader(ds, 32, shuffle=True, seed=1), epochs=2,
                            progress=False).train_loss

    assert run() == run()


def test_frozen_backbone_batchnorm_statistics_do_not_drift():
    """The classic bug: requires_grad=False alone still lets BatchNorm running stats change."""
    torch.manual_seed(0)
    model = SmallCNN(num_classes=2)
    models.freeze_all_but_last(model, 1)
    before = copy.deepcopy({k: v for k, v in model.state_dict().items() if "running" in k})
    assert before, "the model must have BatchNorm running statistics"
    ds = data.load_digits([0, 1])
    training.fit(model, data.make_loader(ds, 32, shuffle=True), epochs=2, progress=False)
    after = {k: v for k, v in model.state_dict().items() if "running" in k}
    for key in before:
        assert torch.equal(before[key], after[key]), f"{key} drifted although the backbone is frozen"
    # ...whereas a naive loop (model.train() only) does change them: the test can fail.
    naive = SmallCNN(num_classes=2)
    models.freeze_all_but_last(naive, 1)
    stats = naive.conv1[1].running_mean.clone()
    naive.train()
    naive(ds.images[:32])
    assert not torch.equal(stats, naive.conv1[1].running_mean)


def test_bn_eval_keeps_trainable_batchnorm_on_stored_statistics():
    model = SmallCNN(num_classes=2)
    stats = model.conv1[1].running_mean.clone()
    ds = data.load_digits([0, 1])
    training.fit(model, data.make_loader(ds, 32), epochs=1, bn_eval=True, progress=False)
    assert torch.equal(stats, model.conv1[1].running_mean)
    assert training.set_batchnorm_eval(model) == 3


def test_fit_errors_are_clear():
    train_loader, _ = _loaders()
    frozen = models.freeze(nn.Linear(4, 2))
    with pytest.raises(NothingToTrainError, match="Every parameter is frozen.*freeze_all_but_last"):
        training.fit(frozen, train_loader, epochs=1, progress=False)
    with pytest.raises(NothingToTrainError, match="epochs must be at least 1"):
        training.fit(nn.Linear(4, 2), train_loader, epochs=0)
    assert issubclass(NothingToTrainError, ValueError)      # old `except ValueError` still works
    X = torch.randn(8, 4)
    five_classes = data.make_loader(TensorDataset(X, torch.arange(8) % 5), 8)
    with pytest.raises(ClassCountMismatchError, match="2 outputs but the data has a label 4.*replace_head"):
        training.fit(nn.Linear(4, 2), five_classes, epochs=1, progress=False)
    with pytest.raises(ValueError, match="expected \\(batch, classes\\)"):
        training._check_outputs(torch.zeros(8), torch.zeros(8, dtype=torch.long))
    empty = data.make_loader(TensorDataset(torch.zeros(0, 4), torch.zeros(0, dtype=torch.long)), 4)
    with pytest.raises(EmptyDataError, match="empty"):
        training.evaluate(nn.Linear(4, 2), empty)
    with pytest.raises(EmptyDataError, match="empty"):
        training.fit(nn.Linear(4, 2), empty, epochs=1, progress=False)


def test_dict_inputs_and_logits_outputs_are_supported():
    class Out:
        def __init__(self, logits):
            self.logits = logits

    class DictModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 2)

        def forward(self, features):
            return Out(self.lin(features))

    X, y = _blobs()

    class DictDataset(torch.utils.data.Dataset):
        def __len__(self):
            return len(y)

        def __getitem__(self, i):
            return {"features": X[i]}, y[i]

    loader = data.make_loader(DictDataset(), 16)
    torch.manual_seed(0)
    history = training.fit(DictModel(), loader, loader, epochs=10, lr=0.1, progress=False)
    assert history.best_val_acc > 0.8
    logits, labels = training.predict(DictModel(), loader)
    assert logits.shape == (80, 2) and torch.equal(labels, y)


def test_extract_features_caches_under_a_derived_key(monkeypatch):
    model = SmallCNN(num_classes=2)
    models.remove_head(model)
    ds = data.load_digits([0, 1])
    feats, labels = training.extract_features(model, ds, cache_key="smallcnn/digits01")
    assert feats.shape == (len(ds), 64) and torch.equal(labels, ds.labels)
    from course_lib.paths import output_dir

    stored = list(output_dir("features").glob("smallcnn_digits01-*.safetensors"))
    assert stored, "the features were not cached"
    calls = []
    real_predict = training.predict
    monkeypatch.setattr(training, "predict", lambda *a, **k: calls.append(1) or real_predict(*a, **k))
    again, _ = training.extract_features(model, ds, cache_key="smallcnn/digits01")
    assert torch.equal(again, feats) and calls == []          # same model, same data: a cache hit
    with torch.no_grad():
        model.conv1[0].weight.mul_(0.5)                        # a changed model, same key ...
    changed, _ = training.extract_features(model, ds, cache_key="smallcnn/digits01")
    assert calls == [1] and not torch.equal(changed, feats)   # ... is recomputed, never stale
    subset = ds.subset(list(range(10)))                        # other data under the same key
    part, _ = training.extract_features(model, subset, cache_key="smallcnn/digits01")
    assert calls == [1, 1] and part.shape == (10, 64)


def test_cache_key_follows_the_preprocessing():
    """Changing the image size (notebook 01's ``image_size``) must not reload old features."""
    backbone = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
    images = torch.rand(6, 3, 16, 16)
    small = TensorDataset(nn.functional.interpolate(images, size=8), torch.arange(6))
    large = TensorDataset(images, torch.arange(6))
    key = "toy_pool"
    a, _ = training.extract_features(backbone, small, cache_key=key)
    b, _ = training.extract_features(backbone, large, cache_key=key)
    assert training.fingerprint(backbone, [small[:]]) != training.fingerprint(backbone, [large[:]])
    assert torch.allclose(b, images.mean(dim=(2, 3)))


def test_fit_linear_head_on_features():
    X, y = _blobs(200)
    head, history = training.fit_linear_head(X[:150], y[:150], 2, val=(X[150:], y[150:]), epochs=40, lr=0.05)
    assert isinstance(head, nn.Linear) and history.best_val_acc >= 0.9


def test_label_efficiency_and_summary():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 30)
    good = (2 * y - 1)[:, None] + 0.1 * rng.standard_normal((60, 3))
    noise = rng.standard_normal((60, 3))
    rows = training.label_efficiency({"good": good, "noise": torch.tensor(noise)}, y, ks=(1, 5), seeds=(0, 1))
    assert len(rows) == 2 * 2 * 2
    stats = {(r["name"], r["k"]): r for r in training.summarise(rows)}
    assert stats[("good", 5)]["mean"] == 1.0
    assert stats[("noise", 5)]["mean"] < 0.8
    assert stats[("good", 1)]["n"] == 2
    noise_1 = [r["accuracy"] for r in rows if r["name"] == "noise" and r["k"] == 1]
    assert stats[("noise", 1)]["std"] == pytest.approx(np.std(noise_1, ddof=1))    # the sample std
    assert training.summarise(rows[:1])[0]["std"] == 0.0
    for scale in ("standard", None):
        assert training.label_efficiency({"good": good}, y, ks=(5,), seeds=(0,), scale=scale)[0]["accuracy"] == 1.0
    with pytest.raises(ValueError, match="scale must be"):
        training.label_efficiency({"good": good}, y, scale="minmax")


def test_label_efficiency_uses_the_course_few_shot_trials(monkeypatch):
    """The seed × k loop has one home, course_lib.compare.few_shot_trials."""
    trials = []

    def recorded(*args, **kwargs):
        for trial in few_shot_trials(*args, **kwargs):
            trials.append(trial)
            yield trial

    monkeypatch.setattr(training, "few_shot_trials", recorded)
    y = np.repeat([0, 1], 10)
    rows = training.label_efficiency({"x": np.c_[y, 1 - y]}, y, ks=(1, 3), seeds=(0, 1))
    assert [(r["seed"], r["k"]) for r in rows] == [(t["seed"], t["k"]) for t in trials]
    assert len(trials) == 4


def _seeded_fit(**kwargs):
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    train_loader, val_loader = _loaders()
    history = training.fit(model, train_loader, val_loader, epochs=3, lr=0.1, progress=False, **kwargs)
    return history.to_dict(), model.state_dict()


def test_device_cpu_gives_exactly_the_default_results():
    (h1, w1), (h2, w2) = _seeded_fit(), _seeded_fit(device="cpu")
    h1.pop("seconds"), h2.pop("seconds")
    assert h1 == h2 and all(torch.equal(w1[k], w2[k]) for k in w1)
    X, y = _blobs()
    model = nn.Linear(4, 2)
    assert torch.equal(training.predict(model, _loaders()[1])[0], training.predict(model, _loaders()[1], device="cpu")[0])
    assert training.evaluate(model, _loaders()[1]) == training.evaluate(model, _loaders()[1], device="cpu")
    ds = TensorDataset(X, y)
    assert torch.equal(training.extract_features(model, ds)[0], training.extract_features(model, ds, device="cpu")[0])
    heads = [training.fit_linear_head(X, y, 2, epochs=3, **kw)[0] for kw in ({}, {"device": "cpu"})]
    assert torch.equal(heads[0].weight, heads[1].weight)


def test_fit_moves_every_batch_to_the_device(monkeypatch):
    from course_lib import devices

    moved, depth = [], []
    real = devices.to_device

    def spy(batch, device):                 # counts outermost calls (to_device recurses into lists)
        if not depth:
            moved.append(device)
        depth.append(1)
        try:
            return real(batch, device)
        finally:
            depth.pop()

    monkeypatch.setattr(devices, "to_device", spy)          # training batches: course_lib.loop.train
    monkeypatch.setattr(training, "to_device", spy)         # validation batches: training.predict
    train_loader, val_loader = _loaders()
    training.fit(nn.Linear(4, 2), train_loader, val_loader, epochs=1, progress=False, device="cpu")
    assert len(moved) == len(train_loader) + len(val_loader) and set(moved) == {torch.device("cpu")}


def test_fit_asks_pick_device_so_course_device_is_honoured(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert training.fit(nn.Linear(4, 2), _loaders()[0], epochs=1, progress=False).epochs == 1
    monkeypatch.setenv("COURSE_DEVICE", "meta")                  # never an available device
    with pytest.raises(RuntimeError, match="COURSE_DEVICE asks for 'meta'"):
        training.fit(nn.Linear(4, 2), _loaders()[0], epochs=1, progress=False)


def test_history_plot_and_dict():
    import matplotlib

    matplotlib.use("Agg")
    train_loader, val_loader = _loaders()
    history = training.fit(nn.Linear(4, 2), train_loader, val_loader, epochs=2, progress=False)
    axes = history.plot(title="demo")
    assert axes[0].get_xlabel() == "epoch" and axes[1].get_ylabel() == "accuracy"
    assert set(history.to_dict()) >= {"train_loss", "val_acc", "best_epoch"}
    assert repr(training.History()) == "History(0 epochs, empty)"


def test_fit_trains_through_the_counted_loop():
    """fit is course_lib.loop.train run epoch by epoch: every step is counted, none is undeclared."""
    from course_lib.loop import Ledger

    train_loader, val_loader = _loaders()
    with Ledger() as ledger:
        history = training.fit(nn.Linear(4, 2), train_loader, val_loader, epochs=3, progress=False)
    assert ledger.undeclared_steps == 0 and ledger.steps == 3 * len(train_loader)
    (run,) = ledger.runs
    assert run.cap == 3 * len(train_loader) and len(run.curve) == history.epochs == 3
    assert run.best_step == history.best_epoch * len(train_loader)


def test_fit_keep_best_false_keeps_the_last_epoch_and_still_stops_early():
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    train_loader, val_loader = _loaders()
    history = training.fit(model, train_loader, val_loader, epochs=200, lr=0.5, patience=3, keep_best=False,
                           progress=False)
    assert history.stopped_early and history.epochs - history.best_epoch == 3
    assert training.evaluate(model, val_loader)["accuracy"] == pytest.approx(history.val_acc[-1])
