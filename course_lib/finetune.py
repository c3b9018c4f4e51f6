"""Fine-tuning regimes and experiments for notebook 06 and the benchmarks.

The recipe's step 3, "fine-tune part or all of the parameters", in three regimes:

- ``"features"``: freeze the backbone, cache its features once, train a new head on them;
- ``"last"``: also train the last ``n`` layer groups;
- ``"full"``: train everything.

>>> groups = discriminative_param_groups(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)),
...                                      base_lr=1e-2, decay=0.1)
>>> [g["lr"] for g in groups]
[0.001, 0.01]
"""
from __future__ import annotations

import copy
import time
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from . import data, models, training
from .repro import seed_everything


def discriminative_param_groups(model: nn.Module, base_lr: float, decay: float = 0.3) -> list[dict[str, Any]]:
    """Optimizer parameter groups whose learning rate shrinks by ``decay`` per group from the head down.

    The head gets ``base_lr``, the group before it ``base_lr * decay``, and so on: early, general
    layers move little; late, task-specific ones move more. Frozen parameters are left out.
    """
    groups = models.layer_groups(model)
    out = []
    for depth, (name, module) in enumerate(reversed(groups)):
        params = [p for p in module.parameters() if p.requires_grad]
        if params:
            out.append({"params": params, "lr": base_lr * decay ** depth, "name": name})
    return out[::-1]


def train_and_test(model: nn.Module, train_set, test_set, *, val_set=None, epochs: int = 10,
                   lr: float = 1e-3, optimizer_fn: Callable | None = None, bn_eval: bool = False,
                   patience: int | None = None, batch_size: int = 32, seed: int = 0) -> dict[str, float]:
    """Fit ``model`` (whatever is trainable) and return test accuracy, seconds and trainable count."""
    counts = models.count_parameters(model)
    optimizer = optimizer_fn(model) if optimizer_fn else None
    start = time.perf_counter()
    history = training.fit(model, data.make_loader(train_set, batch_size, shuffle=True, seed=seed),
                           data.make_loader(val_set, 256) if val_set is not None else None,
                           epochs=epochs, lr=lr, optimizer=optimizer, bn_eval=bn_eval,
                           patience=patience, progress=False)
    seconds = time.perf_counter() - start
    accuracy = training.evaluate(model, data.make_loader(test_set, 256))["accuracy"]
    return {"accuracy": accuracy, "seconds": seconds, "trainable": counts["trainable"],
            "epochs": history.epochs}


def head_on_cached_features(feature_model: nn.Module, train_set, test_set, num_classes: int, *,
                            val_set=None, epochs: int = 100, lr: float = 1e-2, seed: int = 0,
                            cache_key: str | None = None) -> dict[str, float]:
    """The feature-extractor regime: features once (no gradients), then a linear head on them."""
    start = time.perf_counter()
    key = (lambda part: f"{cache_key}_{part}") if cache_key else (lambda part: None)
    train_x, train_y = training.extract_features(feature_model, train_set, cache_key=key("train"))
    test_x, test_y = training.extract_features(feature_model, test_set, cache_key=key("test"))
    val = training.extract_features(feature_model, val_set, cache_key=key("val")) if val_set is not None else None
    head, history = training.fit_linear_head(train_x, train_y, num_classes, val=val, epochs=epochs, lr=lr,
                                             patience=20 if val is not None else None, seed=seed)
    seconds = time.perf_counter() - start
    with torch.no_grad():
        accuracy = float((head(test_x).argmax(1) == test_y).float().mean())
    return {"accuracy": accuracy, "seconds": seconds, "trainable": sum(p.numel() for p in head.parameters()),
            "epochs": history.epochs}


def cached_vs_naive(backbone: models.Backbone, train_set, num_classes: int, epochs: int = 10,
                    seed: int = 0) -> dict[str, float]:
    """Seconds to train the same linear head for ``epochs`` epochs: images through the frozen
    backbone every epoch (naive) against once-extracted, cached features."""
    seed_everything(seed)
    model = copy.deepcopy(backbone.model)
    models.replace_head(model, num_classes)
    models.freeze_all_but_last(model, 1)
    images = train_set.with_transform(backbone.preprocess)
    start = time.perf_counter()
    training.fit(model, data.make_loader(images, 32, shuffle=True, seed=seed), epochs=epochs,
                 lr=1e-3, progress=False)
    naive = time.perf_counter() - start
    features_model = models.remove_head(model)
    start = time.perf_counter()
    feats, labels = training.extract_features(features_model, images)
    extraction = time.perf_counter() - start
    start = time.perf_counter()
    training.fit_linear_head(feats, labels, num_classes, epochs=epochs, lr=1e-3, batch_size=32, seed=seed)
    cached = time.perf_counter() - start
    return {"epochs": epochs, "naive_s": naive, "extract_s": extraction, "cached_s": cached,
            "training_ratio": naive / cached, "end_to_end_ratio": naive / (extraction + cached)}


def article_loop(model: nn.Module, train_set, epochs: int = 100, lr: float = 0.001, seed: int = 0) -> float:
    """The article's training loop, verbatim in spirit: SGD on every parameter, fixed epochs,
    no validation, and the model never switched to eval mode. Returns the seconds it took."""
    seed_everything(seed)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loader = data.make_loader(train_set, 32, shuffle=True, seed=seed)
    model.train()
    start = time.perf_counter()
    for _ in range(epochs):
        for inputs, labels in loader:
            optimizer.zero_grad()
            loss = criterion(model(inputs), labels)
            loss.backward()
            optimizer.step()
    return time.perf_counter() - start


def accuracy_as_left(model: nn.Module, test_set) -> dict[str, float]:
    """Test accuracy the way the article leaves the model (train mode) and in eval mode."""
    x, y = next(iter(data.make_loader(test_set, len(test_set))))
    with torch.no_grad():
        as_left = float((model(x).argmax(1) == y).float().mean())
        model.eval()
        in_eval = float((model(x).argmax(1) == y).float().mean())
    return {"train_mode": as_left, "eval_mode": in_eval}


def finetune_curve(target, factories: dict[str, Callable[[], nn.Module]], ks=(1, 2, 5, 10, 20),
                   seeds=(0, 1, 2), epochs: int = 30, lr: float = 3e-3, bn_eval: bool = False,
                   test_size: float = 0.5) -> list[dict[str, Any]]:
    """Accuracy against k labels per class for models trained end to end on ``target``.

    ``factories`` maps a name to a function returning a fresh model (e.g. a pretrained network
    with a new head, or the same architecture randomly initialised). Every model gets the same
    splits, epochs and optimiser; the test set is a fixed held-out part per seed. Returns rows
    ``{"name", "k", "seed", "accuracy"}`` (see :func:`course_lib.plots.plot_label_efficiency`).
    """
    rows = []
    for seed in seeds:
        pool, test_idx = data.stratified_split(target.labels, test_size=test_size, seed=seed)
        test_set = target.subset(test_idx)
        for k in ks:
            train_set = target.subset(data.k_per_class(target.labels, k, seed=seed, pool=pool))
            for name, factory in factories.items():
                seed_everything(seed)
                result = train_and_test(factory(), train_set, test_set, epochs=epochs, lr=lr,
                                        bn_eval=bn_eval, batch_size=16, seed=seed)
                rows.append({"name": name, "k": int(k), "seed": int(seed), "accuracy": result["accuracy"]})
    return rows


def mean_accuracy(rows: list[dict[str, Any]], name: str, k: int) -> float:
    """Mean accuracy over seeds for one curve and one k."""
    return float(np.mean([r["accuracy"] for r in rows if r["name"] == name and r["k"] == k]))
