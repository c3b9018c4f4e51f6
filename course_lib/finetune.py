"""Fine-tuning regimes and experiments for notebook 06 and the benchmarks, all on the course's
comparison protocol (:mod:`course_lib.compare`): paired seeds, the same budget for every arm,
a 95 % interval and a printed verdict.

The recipe's step 3, "fine-tune part or all of the parameters", in three regimes:

- ``"feature extractor"``: freeze the backbone, cache its features once, train a new head on them;
- ``"last block(s)"``: also train the last ``n`` layer groups;
- ``"full fine-tuning"``: train everything.

>>> groups = discriminative_param_groups(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)),
...                                      base_lr=1e-2, decay=0.1)
>>> [g["lr"] for g in groups]
[0.001, 0.01]
>>> epochs_within(Budget(steps=60), n_train=76, batch_size=32)   # 3 steps per epoch
20
"""
from __future__ import annotations

import copy
import math
import time
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset

from . import data, models, training
from .compare import Budget, Comparison, RunResult, few_shot_trials, paired_comparison
from .repro import seed_everything

REGIMES = ("feature extractor", "last block(s)", "full fine-tuning")


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


# --------------------------------------------------------------------------- budgeted training

def epochs_within(budget: Budget, n_train: int, batch_size: int) -> int:
    """How many whole epochs fit in ``budget.steps`` optimizer steps (at least one step per batch)."""
    per_epoch = math.ceil(n_train / batch_size)
    if budget.steps < per_epoch:
        raise ValueError(f"A budget of {budget.steps} steps is less than one epoch ({per_epoch} batches "
                         f"of {batch_size} from {n_train} examples). Raise Budget.steps.")
    return budget.steps // per_epoch


def fit_within(model: nn.Module, train_set, budget: Budget, *, lr: float, val_set=None,
               batch_size: int = 32, seed: int = 0, optimizer_fn: Callable | None = None,
               bn_eval: bool = False) -> tuple[training.History, int]:
    """:func:`training.fit` for as many epochs as ``budget`` allows; returns ``(history, steps used)``.

    With ``val_set`` the best validation epoch's weights are kept (``fit``'s ``keep_best``).
    """
    epochs = epochs_within(budget, len(train_set), batch_size)
    optimizer = optimizer_fn(model) if optimizer_fn else None
    history = training.fit(model, data.make_loader(train_set, batch_size, shuffle=True, seed=seed),
                           data.make_loader(val_set, 256) if val_set is not None else None,
                           epochs=epochs, lr=lr, optimizer=optimizer, bn_eval=bn_eval, progress=False)
    return history, history.epochs * math.ceil(len(train_set) / batch_size)


def accuracy_on(model: nn.Module, test_set) -> float:
    """Accuracy on ``test_set`` in eval mode, without gradients."""
    return training.evaluate(model, data.make_loader(test_set, 256))["accuracy"]


def head_within(features: torch.Tensor, labels: torch.Tensor, trial: dict[str, Any], num_classes: int,
                budget: Budget, *, lr: float, batch_size: int = 32, use_val: bool = True,
                optimizer: str = "adam", seed: int = 0) -> RunResult:
    """A linear head trained on cached ``features`` (rows indexed by ``trial``) within ``budget``;
    scored on the trial's test rows. ``optimizer``: ``"adam"`` or ``"sgd"`` (plain, as the article)."""
    train, test = trial["train"], trial["test"]
    epochs = epochs_within(budget, len(train), batch_size)
    torch.manual_seed(seed)
    head = nn.Linear(features.shape[1], num_classes)
    opt = (torch.optim.Adam(head.parameters(), lr=lr) if optimizer == "adam"
           else torch.optim.SGD(head.parameters(), lr=lr))
    val = None
    if use_val and len(trial["val"]):
        val = data.make_loader(TensorDataset(features[trial["val"]], labels[trial["val"]]), 256)
    history = training.fit(head, data.make_loader(TensorDataset(features[train], labels[train]), batch_size,
                                                  shuffle=True, seed=seed),
                           val, epochs=epochs, optimizer=opt, progress=False)
    with torch.no_grad():
        accuracy = training.accuracy(head(features[test]), labels[test])
    return RunResult(accuracy, history.epochs * math.ceil(len(train) / batch_size), budget.lr_grid, lr,
                     {"history": history, "trainable": sum(p.numel() for p in head.parameters())})


def features_of(feature_model: nn.Module, dataset, cache_key: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Features of every item of ``dataset`` (computed once; see :func:`training.extract_features`)."""
    return training.extract_features(feature_model, dataset, cache_key=cache_key)


# --------------------------------------------------------------------------- regimes

def regime_arms(make_model: Callable[[], nn.Module], dataset, trials: dict[int, dict[str, Any]],
                num_classes: int, *, n_last: int, lr: float, batch_size: int = 32,
                head_lr: float | None = None) -> dict[str, Callable[[int, Budget], RunResult]]:
    """The three regimes as arms for :func:`compare.run_paired`.

    ``make_model()`` returns a fresh pretrained model (its old head still on); ``trials`` maps a
    seed to a :func:`compare.few_shot_trials` split (train, val, test indices into ``dataset``).
    Every arm trains with Adam at ``lr`` (the feature extractor's head at ``head_lr``, default
    ``lr``) for the budget's steps and keeps its best epoch on its own validation split.
    """
    feats, labels = features_of(models.remove_head(make_model()), dataset)

    def features_arm(seed: int, budget: Budget) -> RunResult:
        return head_within(feats, labels, trials[seed], num_classes, budget, lr=head_lr or lr,
                           batch_size=batch_size, seed=seed)

    def unfrozen_arm(n_groups: int | None) -> Callable[[int, Budget], RunResult]:
        def arm(seed: int, budget: Budget) -> RunResult:
            trial = trials[seed]
            seed_everything(seed)
            model = make_model()
            models.replace_head(model, num_classes)
            models.freeze_all_but_last(model, n_groups or len(models.layer_groups(model)))
            trainable = models.count_parameters(model)["trainable"]
            history, steps = fit_within(model, dataset.subset(trial["train"]), budget, lr=lr,
                                        val_set=dataset.subset(trial["val"]), batch_size=batch_size, seed=seed)
            return RunResult(accuracy_on(model, dataset.subset(trial["test"])), steps, budget.lr_grid, lr,
                             {"history": history, "trainable": trainable})
        return arm

    return {REGIMES[0]: features_arm, REGIMES[1]: unfrozen_arm(n_last), REGIMES[2]: unfrozen_arm(None)}


def scores(results: dict[str, list[RunResult]]) -> dict[str, list[float]]:
    """``{arm: [score per seed]}`` from :func:`compare.run_paired`'s output."""
    return {name: [r.score for r in runs] for name, runs in results.items()}


def compare_all(scores_by_arm: dict[str, Sequence[float]], pairs: Sequence[tuple[str, str]]) -> list[Comparison]:
    """One :func:`compare.paired_comparison` per ``(a, b)`` pair of arm names."""
    return [paired_comparison(scores_by_arm[a], scores_by_arm[b], a, b) for a, b in pairs]


# --------------------------------------------------------------------------- techniques

TECHNIQUES = ("plain full fine-tuning", "BatchNorm in eval mode", "discriminative learning rates",
              "linear probe, then fine-tune")


def technique_arms(dataset, make_model: Callable[[], nn.Module], trials: dict[int, dict[str, Any]], *,
                   lr: float = 1e-3, batch_size: int = 16) -> dict[str, Callable[[int, Budget], RunResult]]:
    """Full fine-tuning and three small-data techniques, as arms for :func:`compare.run_paired`.

    Every arm gets the same optimizer steps (no validation: each trains its whole budget):
    plain Adam at ``lr``; the same with BatchNorm on its stored statistics; discriminative
    learning rates (head at ``3 × lr``, × 0.3 per group down); LP-FT: the new head alone at
    ``10 × lr`` for half the steps, then every layer at ``lr / 10`` (a gentler stage) for the rest.
    """
    def run(seed: int, budget: Budget, **options) -> RunResult:
        trial = trials[seed]
        train_set, test_set = dataset.subset(trial["train"]), dataset.subset(trial["test"])
        seed_everything(seed)
        model = make_model()
        steps = 0
        if options.get("lp_ft"):
            half = Budget(steps=budget.steps // 2)
            models.freeze_all_but_last(model, 1)
            _, used = fit_within(model, train_set, half, lr=10 * lr, batch_size=batch_size, seed=seed)
            models.unfreeze(model)
            _, more = fit_within(model, train_set, half, lr=lr / 10, batch_size=batch_size, seed=seed)
            steps = used + more
        else:
            make_opt = None
            if options.get("groups"):
                def make_opt(m):
                    return torch.optim.Adam(discriminative_param_groups(m, 3 * lr, decay=0.3))
            _, steps = fit_within(model, train_set, budget, lr=lr, batch_size=batch_size, seed=seed,
                                  optimizer_fn=make_opt, bn_eval=bool(options.get("bn_eval")))
        return RunResult(accuracy_on(model, test_set), steps, budget.lr_grid, lr)

    options = ({}, {"bn_eval": True}, {"groups": True}, {"lp_ft": True})
    return {name: (lambda seed, budget, o=o: run(seed, budget, **o)) for name, o in zip(TECHNIQUES, options)}


# --------------------------------------------------------------------------- label-efficiency curves

def cnn_arm(dataset, make_model: Callable[[], nn.Module], budget: Budget, *, lr: float,
            batch_size: int = 16) -> Callable[[dict[str, Any]], float]:
    """An arm for :func:`finetune_curve`: train ``make_model()`` end to end within ``budget``,
    keeping the best epoch on the trial's validation split; return test accuracy."""
    def arm(trial: dict[str, Any]) -> float:
        seed_everything(trial["seed"])
        model = make_model()
        val = dataset.subset(trial["val"]) if len(trial["val"]) else None
        fit_within(model, dataset.subset(trial["train"]), budget, lr=lr, val_set=val,
                   batch_size=batch_size, seed=trial["seed"])
        return accuracy_on(model, dataset.subset(trial["test"]))
    return arm


def logistic_arm(features, labels, C: float = 10.0) -> Callable[[dict[str, Any]], float]:
    """An arm for :func:`finetune_curve`: unit-length rows + logistic regression (notebook 01's
    strong baseline), fitted to convergence on the trial's training rows."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import Normalizer

    X = np.asarray(features.reshape(len(features), -1) if torch.is_tensor(features) else features)
    X = X.reshape(len(X), -1)
    y = np.asarray(labels)

    def arm(trial: dict[str, Any]) -> float:
        clf = make_pipeline(Normalizer(), LogisticRegression(C=C, max_iter=5000))
        clf.fit(X[trial["train"]], y[trial["train"]])
        return float(clf.score(X[trial["test"]], y[trial["test"]]))
    return arm


def finetune_curve(labels, arms: dict[str, Callable[[dict[str, Any]], float]], ks=(1, 2, 5, 10, 20),
                   seeds=(0, 1, 2, 3, 4), *, val_per_class: int = 0, test_size: float = 0.5,
                   progress: bool = False) -> list[dict[str, Any]]:
    """Accuracy against k labels per class, for every arm, on :func:`compare.few_shot_trials`.

    Every arm sees the same split for seed ``s`` and ``k`` (so comparisons are paired), and the
    same validation split, carved from the training pool, when ``val_per_class`` > 0.
    Returns rows ``{"name", "k", "seed", "accuracy"}`` (see :func:`plots.plot_label_efficiency`).

    >>> y = np.repeat([0, 1], 10)
    >>> rows = finetune_curve(y, {"half": lambda t: 0.5}, ks=(1, 2), seeds=(0, 1))
    >>> len(rows), rows[0]
    (4, {'name': 'half', 'k': 1, 'seed': 0, 'accuracy': 0.5})
    """
    trials = list(few_shot_trials(labels, ks, seeds, test_size=test_size, val_per_class=val_per_class))
    if progress:
        from tqdm.auto import tqdm

        trials = tqdm(trials, desc="seeds × k")
    rows = []
    for trial in trials:
        for name, arm in arms.items():
            rows.append({"name": name, "k": trial["k"], "seed": trial["seed"], "accuracy": float(arm(trial))})
    return rows


def curve_scores(rows: list[dict[str, Any]], name: str, k: int) -> list[float]:
    """The per-seed accuracies of one curve at one k, in seed order."""
    return [r["accuracy"] for r in sorted(rows, key=lambda r: r["seed"]) if r["name"] == name and r["k"] == k]


def mean_accuracy(rows: list[dict[str, Any]], name: str, k: int) -> float:
    """Mean accuracy over seeds for one curve and one k."""
    return float(np.mean(curve_scores(rows, name, k)))


def curve_comparison(rows: list[dict[str, Any]], a: str, b: str, k: int) -> Comparison:
    """Paired comparison of two curves at one k (same seeds, same splits)."""
    return paired_comparison(curve_scores(rows, a, k), curve_scores(rows, b, k), a, b)


# --------------------------------------------------------------------------- the article's loop

def article_loop(model: nn.Module, train_set, epochs: int = 100, lr: float = 0.001, seed: int = 0,
                 batch_size: int = 32) -> dict[str, Any]:
    """The article's training loop, verbatim in spirit: SGD on every parameter, fixed epochs,
    no validation, and the model never switched to eval mode. Returns the seconds it took, the
    optimizer steps and the mean training loss of every epoch (to see whether it has levelled off)."""
    seed_everything(seed)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loader = data.make_loader(train_set, batch_size, shuffle=True, seed=seed)
    model.train()
    losses, steps = [], 0
    start = time.perf_counter()
    for _ in range(epochs):
        total, n = 0.0, 0
        for inputs, labels in loader:
            optimizer.zero_grad()
            loss = criterion(model(inputs), labels)
            loss.backward()
            optimizer.step()
            total, n, steps = total + loss.item() * len(labels), n + len(labels), steps + 1
        losses.append(total / n)
    return {"seconds": time.perf_counter() - start, "steps": steps, "losses": losses}


def accuracy_as_left(model: nn.Module, test_set) -> dict[str, float]:
    """Test accuracy the way the article leaves the model (train mode: BatchNorm normalises with
    the test batch's own statistics) and in eval mode (the stored running statistics).

    The eval-mode number is taken first, and the train-mode one on a copy, so that neither
    measurement changes the model (a train-mode forward pass updates BatchNorm's running
    statistics). The model is left in the mode it came in.
    """
    x, y = next(iter(data.make_loader(test_set, len(test_set))))
    with models.evaluating(model):
        in_eval = training.accuracy(model(x), y)
    as_left = copy.deepcopy(model).train()
    with torch.no_grad():
        train_mode = training.accuracy(as_left(x), y)
    return {"train_mode": train_mode, "eval_mode": in_eval}


def as_stored(images: torch.Tensor) -> torch.Tensor:
    """Digit pixels as scikit-learn stores them (0–16), not the [0, 1] the CNN was pretrained on.

    The digits analogue of the article's missing ``Normalize``: inputs on another scale than
    the one the pretrained weights expect.

    >>> as_stored(torch.tensor([0.0, 0.5, 1.0])).tolist()
    [0.0, 8.0, 16.0]
    """
    return images * 16.0


ABLATION_STEPS = ("article's loop, as left (train mode)", "+ eval mode", "+ inputs scaled as in pretraining",
                  "+ Adam, lr 3e-3", "+ validation, best epoch", "+ freeze the backbone")


def ablation_arms(make_model: Callable[[], nn.Module], dataset, trials: dict[int, dict[str, Any]], *,
                  raw: Callable = as_stored, epochs: int = 100, batch_size: int = 32, lr: float = 3e-3,
                  head_lr: float = 1e-2) -> dict[str, Callable[[int, Budget], RunResult]]:
    """The article's loop, then one fix added at a time, as arms for :func:`compare.run_paired`.

    ``make_model()`` returns the pretrained model with a new head. Each trial's labelled pool is
    its ``train`` plus ``val`` indices: the article's loop and the next two steps train on the
    whole pool (they validate nothing); from "+ validation" on, ``val`` is held out to pick the
    best epoch. Every step trains ``epochs`` epochs (the same optimizer steps when train and pool
    need the same number of batches) and is scored on the trial's test part:

    1. the article's loop (SGD, lr 1e-3, every layer, inputs through ``raw``), as left (train mode);
    2. the same model in eval mode; 3. inputs as in pretraining; 4. Adam at ``lr``;
    5. validation keeps the best epoch; 6. the backbone frozen (a head on cached features,
    Adam at ``head_lr``, best validation epoch).
    """
    runs: dict[int, dict[str, Any]] = {}
    feats, labels = features_of(models.remove_head(make_model()), dataset)

    def pool(trial):
        return dataset.subset(np.concatenate([trial["train"], trial["val"]]))

    def article(seed: int, budget: Budget) -> RunResult:
        trial = trials[seed]
        seed_everything(seed)
        model = make_model()
        run = article_loop(model, pool(trial).with_transform(raw), epochs=epochs, seed=seed,
                           batch_size=batch_size)
        scored = accuracy_as_left(model, dataset.subset(trial["test"]).with_transform(raw))
        runs[seed] = {**run, **scored}
        return RunResult(scored["train_mode"], run["steps"], budget.lr_grid, 1e-3, {"losses": run["losses"]})

    def eval_mode(seed: int, budget: Budget) -> RunResult:
        return RunResult(runs[seed]["eval_mode"], runs[seed]["steps"], budget.lr_grid, 1e-3)

    def scaled(seed: int, budget: Budget) -> RunResult:
        trial = trials[seed]
        seed_everything(seed)
        model = make_model()
        run = article_loop(model, pool(trial), epochs=epochs, seed=seed, batch_size=batch_size)
        return RunResult(accuracy_on(model, dataset.subset(trial["test"])), run["steps"], budget.lr_grid, 1e-3)

    def adam(seed: int, budget: Budget, use_val: bool = False) -> RunResult:
        trial = trials[seed]
        seed_everything(seed)
        model = make_model()
        train = dataset.subset(trial["train"]) if use_val else pool(trial)
        history, steps = fit_within(model, train, budget, lr=lr, batch_size=batch_size, seed=seed,
                                    val_set=dataset.subset(trial["val"]) if use_val else None)
        return RunResult(accuracy_on(model, dataset.subset(trial["test"])), steps, budget.lr_grid, lr,
                         {"history": history})

    def frozen(seed: int, budget: Budget) -> RunResult:
        return head_within(feats, labels, trials[seed], dataset.num_classes, budget, lr=head_lr,
                           batch_size=batch_size, seed=seed)

    arms = (article, eval_mode, scaled, adam, lambda seed, budget: adam(seed, budget, use_val=True), frozen)
    return dict(zip(ABLATION_STEPS, arms))


def ablation_comparisons(scores_by_step: dict[str, Sequence[float]]) -> list[Comparison]:
    """Each step of :func:`ablation_arms` against the step before it (paired over seeds)."""
    names = list(scores_by_step)
    return [paired_comparison(scores_by_step[b], scores_by_step[a], b, a) for a, b in zip(names, names[1:])]


def article_vs_recipe_arms(backbone: models.Backbone, dataset, trials: dict[int, dict[str, Any]], *,
                           epochs: int = 100, batch_size: int = 32,
                           head_lr: float = 1e-2) -> dict[str, Callable[[int, Budget], RunResult]]:
    """The article's loop against the course's recipe on the same labelled photos, as two arms.

    Article: SGD at lr 1e-3 on every layer of ``backbone.model`` (new head), inputs in [0, 1]
    (no normalisation), ``epochs`` epochs on the whole pool (``train`` + ``val``), scored in
    eval mode (the train-mode score and the loop's losses are kept in ``extra``). Recipe: the
    frozen backbone on normalised inputs, a head trained with Adam at ``head_lr`` on ``train``
    for the same epochs, the best epoch picked on ``val`` (with an empty ``val``, the recipe
    trains on the same photos as the article and keeps its last epoch). Both are scored on the
    trial's test photos.
    """
    raw = models.ImagePreprocess(backbone.preprocess.image_size, (0, 0, 0), (1, 1, 1))
    feats, labels = features_of(models.remove_head(copy.deepcopy(backbone.model)),
                                dataset.with_transform(backbone.preprocess))

    def article(seed: int, budget: Budget) -> RunResult:
        trial = trials[seed]
        seed_everything(seed)
        model = copy.deepcopy(backbone.model)
        models.replace_head(model, dataset.num_classes)
        images = dataset.with_transform(raw)
        run = article_loop(model, images.subset(np.concatenate([trial["train"], trial["val"]])),
                           epochs=epochs, seed=seed, batch_size=batch_size)
        scored = accuracy_as_left(model, images.subset(trial["test"]))
        return RunResult(scored["eval_mode"], run["steps"], budget.lr_grid, 1e-3, {**run, **scored})

    def recipe(seed: int, budget: Budget) -> RunResult:
        return head_within(feats, labels, trials[seed], dataset.num_classes, budget, lr=head_lr,
                           batch_size=batch_size, seed=seed)

    return {"article's loop (eval mode)": article, "recipe": recipe}


# --------------------------------------------------------------------------- speed

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
