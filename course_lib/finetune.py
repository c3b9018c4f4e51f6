"""Fine-tuning regimes, small-data techniques and the article's loop, as arms of a fair comparison.

Every function that builds arms returns ``{name: arm}`` for :func:`course_lib.compare.run_paired`
(or :func:`course_lib.compare.run_curve`): an arm is ``(seed, budget) -> RunResult``, trains through
the course's one counted loop (:func:`course_lib.loop.tune`, or :func:`course_lib.loop.fit_convex`
for a head on frozen features, solved to convergence) and picks its learning rate (or its
regularisation strength) on the seed's validation split, from the budget's grid. A new head
learns at the grid's rate in every arm; pretrained layers at ``rate × body_factor``
(:func:`head_rate_groups`).

The recipe's step 3, "fine-tune part or all of the parameters", in three regimes
(:func:`regime_arms`): the feature extractor (a converged logistic regression on frozen
features), the last block(s), full fine-tuning. :func:`technique_arms`: BatchNorm in eval mode,
discriminative learning rates and linear probe then fine-tune, each tuned like plain fine-tuning.
:func:`article_loop`: the article's §5.2 loop through the counted loop; :func:`ablation_arms`
repairs it one change at a time; :func:`article_vs_recipe_arms` runs it on an ImageNet network.

>>> groups = discriminative_param_groups(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)),
...                                      base_lr=1e-2, decay=0.1)
>>> [g["lr"] for g in groups]
[0.001, 0.01]
"""
from __future__ import annotations

import copy
import time
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from . import data, loop, models
from .compare import Budget, Comparison, RunResult, convex_arm, paired_comparison
from .evaluation import accuracy, accuracy_of, batched_forward
from .repro import seed_everything

REGIMES = ("feature extractor", "last block(s)", "full fine-tuning")
TECHNIQUES = ("BatchNorm in eval mode", "discriminative learning rates", "linear probe, then fine-tune")
Arm = Callable[[int, Budget], RunResult]


# --------------------------------------------------------------------------- parameter groups

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


def head_rate_groups(body_factor: float) -> Callable[[nn.Module, float], list[dict[str, Any]]]:
    """``param_groups`` for :func:`course_lib.loop.train`: the model's head (``models.find_head``) at
    the grid's rate, every other trainable parameter at ``rate × body_factor``
    (:func:`course_lib.loop.head_and_body`, for a model that is built afresh at every rate).

    >>> m = nn.Module(); m.body, m.fc = nn.Linear(2, 2), nn.Linear(2, 2)
    >>> [g["lr"] for g in head_rate_groups(0.1)(m, 1e-2)]
    [0.01, 0.001]
    """
    def groups(model: nn.Module, lr: float) -> list[dict[str, Any]]:
        return loop.head_and_body(getattr(model, models.find_head(model)), body_factor)(model, lr)
    return groups


# --------------------------------------------------------------------------- data as tensors

def tensors(dataset, transform: Callable | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """A whole image dataset as ``(inputs, labels)`` tensors, its transform (or ``transform``)
    applied once to the whole batch of images: for :func:`course_lib.loop.train`'s seeded
    batches, and so that no step pays a per-image transform. The transform must accept a batch
    (``models.ImagePreprocess`` and :func:`as_stored` do).

    >>> x, y = tensors(data.load_digits([0, 1]), as_stored)
    >>> tuple(x.shape[1:]), float(x.max()) > 1, y.unique().tolist()
    ((1, 8, 8), True, [0, 1])
    """
    transform = transform or dataset.transform
    x = dataset.images if transform is None else transform(dataset.images)
    return x, dataset.labels


def body_features(make_model: Callable[[], nn.Module], x: torch.Tensor) -> torch.Tensor:
    """Features of ``x`` through the pretrained body (``make_model()`` with its head removed), computed
    once, in eval mode, without gradients: what a feature-extractor head is trained on."""
    return batched_forward(models.remove_head(make_model()), x).flatten(1)


# --------------------------------------------------------------------------- tuned gradient arms

def tuned_arm(make_model: Callable[[], nn.Module], x: torch.Tensor, y: torch.Tensor,
              trials: dict[int, dict[str, Any]], *, n_groups: int | None = None, body_factor: float = 0.1,
              batch_size: int = 16, patience: int = 6, eval_every: int | None = None,
              param_groups: Callable | None = None, bn_eval: bool = False,
              start: Callable[[int, Budget], Callable[[nn.Module], None]] | None = None,
              label: str = "") -> Arm:
    """An arm that trains ``make_model()`` (a fresh model with its new head) by :func:`course_lib.loop.tune`.

    For seed ``s``: every rate of the budget's grid is tried on the trial's ``train`` rows, scored
    on its ``val`` rows every ``eval_every`` steps (default: cap / 20), stopped after ``patience``
    evaluations without improvement, capped at ``budget.cap`` steps; the best rate's best step is
    kept and scored on the ``test`` rows. ``n_groups``: train only the last ``n_groups`` layer
    groups (``None``: all). The head learns at the grid's rate, the rest at ``rate × body_factor``
    (``param_groups`` replaces that). ``start(seed, budget)`` may return a function that sets up
    each fresh model before training (e.g. a linear probe's head); training, validation and early
    stopping are then exactly those of every other arm. ``extra`` keeps the chosen rate, its best
    step and validation score, and the trainable parameter count.
    """
    groups = param_groups or head_rate_groups(body_factor)

    def arm(seed: int, budget: Budget) -> RunResult:
        t = trials[seed]
        prepare = start(seed, budget) if start is not None else None

        def make() -> nn.Module:
            model = make_model()
            if n_groups is not None:
                models.freeze_all_but_last(model, n_groups)
            if prepare is not None:
                prepare(model)
            return model

        tuned = loop.tune(make, (x[t["train"]], y[t["train"]]), budget, val=(x[t["val"]], y[t["val"]]),
                          seed=seed, label=label, batch_size=batch_size, patience=patience,
                          eval_every=eval_every, param_groups=groups, bn_eval=bn_eval)
        return RunResult(score=accuracy_of(tuned.model, x[t["test"]], y[t["test"]]), lr=tuned.lr,
                         extra={"lr": tuned.lr, "best_step": tuned.run.best_step, "val": tuned.val_score,
                                "trainable": models.count_parameters(tuned.model)["trainable"]})
    return arm


def regime_arms(make_model: Callable[[], nn.Module], x: torch.Tensor, y: torch.Tensor,
                trials: dict[int, dict[str, Any]], *, n_last: int | None, body_factor: float = 0.1,
                batch_size: int = 16, patience: int = 6) -> dict[str, Arm]:
    """The three regimes as arms for :func:`course_lib.compare.run_paired`.

    ``make_model()`` returns a fresh pretrained model with a new head; ``trials`` maps a seed to a
    :func:`course_lib.compare.few_shot_trials` split (indices into ``x``). The feature extractor is
    a logistic regression on the frozen body's features, solved to convergence, its strength picked
    on validation (:func:`course_lib.compare.convex_arm`); the last ``n_last`` layer groups and full
    fine-tuning are :func:`tuned_arm` (``n_last=None`` leaves that regime out).
    """
    arms: dict[str, Arm] = {REGIMES[0]: convex_arm(body_features(make_model, x), y, trials)}
    if n_last is not None:
        arms[REGIMES[1]] = tuned_arm(make_model, x, y, trials, n_groups=n_last, body_factor=body_factor,
                                     batch_size=batch_size, patience=patience, label=REGIMES[1])
    arms[REGIMES[2]] = tuned_arm(make_model, x, y, trials, body_factor=body_factor, batch_size=batch_size,
                                 patience=patience, label=REGIMES[2])
    return arms


# --------------------------------------------------------------------------- techniques

def linear_probe_head(features: torch.Tensor, y: torch.Tensor, trial: dict[str, Any], budget: Budget,
                      num_classes: int) -> nn.Linear:
    """A linear head fitted as a converged logistic regression on frozen ``features`` (its strength
    picked on the trial's validation rows, :func:`course_lib.loop.fit_convex`), as an ``nn.Linear``.

    >>> f = torch.randn(40, 3); yy = (f[:, 0] > 0).long()
    >>> t = {"train": np.arange(30), "val": np.arange(30, 40)}
    >>> head = linear_probe_head(f, yy, t, Budget(5, (1e-3, 1e-2, 1e-1), scale=1), 2)
    >>> float((head(f).argmax(1) == yy).float().mean()) > 0.8
    True
    """
    train, val = trial["train"], trial["val"]
    fit = loop.fit_convex(features[train], y[train], features[val], y[val], budget, scale=None,
                          label="linear probe")
    clf = fit.classifier[-1]
    coef, bias = torch.as_tensor(clf.coef_, dtype=torch.float32), torch.as_tensor(clf.intercept_, dtype=torch.float32)
    if coef.shape[0] == 1:                     # binary: logits (0, z) give softmax = sigmoid(z)
        coef, bias = torch.cat([torch.zeros_like(coef), coef]), torch.cat([torch.zeros_like(bias), bias])
    head = nn.Linear(features.shape[1], num_classes)
    with torch.no_grad():
        head.weight.copy_(coef)
        head.bias.copy_(bias)
    return head


def technique_arms(make_model: Callable[[], nn.Module], x: torch.Tensor, y: torch.Tensor,
                   trials: dict[int, dict[str, Any]], *, body_factor: float = 1.0, decay: float = 0.3,
                   batch_size: int = 16, patience: int = 6) -> dict[str, Arm]:
    """Three small-data techniques, each tuned like plain fine-tuning (:func:`tuned_arm`), to compare
    with plain fine-tuning on the same seeds (:func:`regime_arms`' full fine-tuning with the same
    ``body_factor``, ``batch_size`` and ``patience``: the head at the grid's rate, the body at
    ``rate × body_factor``):

    - BatchNorm in eval mode: plain fine-tuning with every BatchNorm layer on its stored statistics;
    - discriminative learning rates: the head at the grid's rate, × ``decay`` per layer group down;
    - linear probe, then fine-tune (LP-FT): the head first fitted to convergence on the frozen
      features (:func:`linear_probe_head`, its strength picked on validation), then the whole
      network fine-tuned exactly as plain fine-tuning is (rates, validation, early stopping, cap):
      one change, the new head's starting point.
    """
    features = body_features(make_model, x)
    num_classes = int(y.max()) + 1

    def probe_start(seed: int, budget: Budget) -> Callable[[nn.Module], None]:
        head = linear_probe_head(features, y, trials[seed], budget, num_classes)

        def prepare(model: nn.Module) -> None:
            setattr(model, models.find_head(model), copy.deepcopy(head))
        return prepare

    common = dict(batch_size=batch_size, patience=patience)
    return {
        TECHNIQUES[0]: tuned_arm(make_model, x, y, trials, body_factor=body_factor, bn_eval=True,
                                 label=TECHNIQUES[0], **common),
        TECHNIQUES[1]: tuned_arm(make_model, x, y, trials, label=TECHNIQUES[1],
                                 param_groups=lambda m, lr: discriminative_param_groups(m, lr, decay), **common),
        TECHNIQUES[2]: tuned_arm(make_model, x, y, trials, body_factor=body_factor, start=probe_start,
                                 label=TECHNIQUES[2], **common),
    }


# --------------------------------------------------------------------------- label-efficiency curves

def keeping(arms: dict[str, Arm], store: dict[str, list[RunResult]]) -> dict[str, Arm]:
    """The same arms, each appending the :class:`RunResult` it returns to ``store[name]``
    (:func:`course_lib.compare.run_curve` returns rows; this keeps the runs for ``budget_report``).

    >>> store = {}; arm = keeping({"a": lambda s, b: RunResult(0.5)}, store)["a"]
    >>> arm(0, None).score, len(store["a"])
    (0.5, 1)
    """
    def keep(name: str, arm: Arm) -> Arm:
        def kept(seed: int, budget: Budget) -> RunResult:
            out = arm(seed, budget)
            result = out if isinstance(out, RunResult) else RunResult(score=float(out))
            store.setdefault(name, []).append(result)
            return result
        return kept
    return {name: keep(name, arm) for name, arm in arms.items()}


def report(results: dict[str, list[RunResult]], width: int = 34) -> str:
    """One line per arm of :func:`course_lib.compare.run_paired`'s output: the mean test accuracy,
    each seed's, and what each seed picked on validation (its learning rate, or its strength C).

    >>> print(report({"head": [RunResult(0.9, extra={"C": 3.16}), RunResult(0.8, extra={"C": 100.0})]}))
                                  head: mean 0.850  (seeds 0.90 0.80; picked C 3.16, 100)
    """
    lines = []
    for name, rs in results.items():
        scores = [r.score for r in rs]
        picked = ""
        if all("lr" in r.extra for r in rs):
            picked = "; picked lr " + ", ".join(f"{r.extra['lr']:g}" for r in rs)
        elif all("C" in r.extra for r in rs):
            picked = "; picked C " + ", ".join(f"{r.extra['C']:g}" for r in rs)
        lines.append(f"{name:>{width}s}: mean {np.mean(scores):.3f}  (seeds "
                     + " ".join(f"{a:.2f}" for a in scores) + f"{picked})")
    return "\n".join(lines)


def rows_from(results: dict[str, list[RunResult]], k: int, seeds: Sequence[int],
              names: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Rows like :func:`course_lib.compare.run_curve`'s from one :func:`course_lib.compare.run_paired`
    run at ``k`` (its results in seed order), arms renamed by ``names`` (others dropped when given):
    a point of a curve that another comparison already measured on the same splits.

    >>> rows_from({"a": [RunResult(0.5, steps=3)]}, 5, [0], {"a": "curve a"})
    [{'name': 'curve a', 'k': 5, 'seed': 0, 'accuracy': 0.5, 'steps': 3}]
    """
    rows = []
    for name, rs in results.items():
        if names is not None and name not in names:
            continue
        for seed, r in zip(seeds, rs):
            rows.append({"name": (names or {}).get(name, name), "k": int(k), "seed": int(seed),
                         "accuracy": float(r.score), "steps": int(r.steps)})
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

def article_loop(model: nn.Module, dataloader, epochs: int = 100, lr: float = 0.001) -> dict[str, Any]:
    """The article's §5.2 training loop, through the course's counted loop, line for line:

    ``criterion = CrossEntropyLoss()`` (the loop's default loss), ``optimizer = SGD(model.parameters(),
    lr=0.001)``, ``for epoch in range(100): for inputs, labels in dataloader: zero_grad, forward,
    loss, backward, step`` — no validation, and the model is left in train mode, as the article
    leaves it. Returns the optimizer steps and the mean training loss of every epoch.

    >>> from torch.utils.data import DataLoader, TensorDataset
    >>> run = article_loop(nn.Linear(2, 2), DataLoader(TensorDataset(torch.randn(8, 2), torch.arange(8) % 2), 4),
    ...                    epochs=3)
    >>> run["steps"], len(run["losses"])
    (6, 3)
    """
    per_epoch = len(dataloader)
    totals: list[float] = []
    sizes: list[int] = []
    start = time.perf_counter()
    run = loop.train(model, dataloader, lr=lr, cap=epochs * per_epoch, optimizer="sgd",
                     loss=_epoch_loss(per_epoch, sizes, totals), fixed=True, label="the article's loop")
    model.train()                                   # the article never calls model.eval()
    return {"steps": run.steps, "losses": [t / n for t, n in zip(totals, sizes)],
            "seconds": time.perf_counter() - start}


def _epoch_loss(per_epoch: int, sizes: list[int], totals: list[float]) -> Callable[[nn.Module, Any], torch.Tensor]:
    """Cross-entropy of one batch, adding its sum into the running epoch's total (``totals``, ``sizes``)."""
    seen = [0]

    def loss(model: nn.Module, batch) -> torch.Tensor:
        inputs, labels = batch
        value = nn.functional.cross_entropy(model(inputs), labels)
        if seen[0] % per_epoch == 0:
            totals.append(0.0)
            sizes.append(0)
        seen[0] += 1
        totals[-1] += value.item() * len(labels)
        sizes[-1] += len(labels)
        return value
    return loss


def accuracy_as_left(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int | None = None) -> float:
    """Test accuracy the way the article leaves the model: in train mode, where every BatchNorm layer
    normalises with the statistics of the test batch itself, in batches of ``batch_size`` (``None``:
    all of ``x`` as one batch). Measured without gradients on a copy, so the model (whose running
    statistics a train-mode pass would update) and its mode do not change.

    >>> m = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)); x = torch.randn(8, 2); y = torch.zeros(8).long()
    >>> before = m[1].running_mean.clone(); _ = accuracy_as_left(m, x, y, batch_size=4)
    >>> torch.equal(before, m[1].running_mean)
    True
    """
    as_left = copy.deepcopy(model).train()
    size = batch_size or len(x)
    with torch.no_grad():
        logits = torch.cat([as_left(x[i:i + size]) for i in range(0, len(x), size)])
    return accuracy(logits, y)


def reestimated_batchnorm(model: nn.Module, x: torch.Tensor) -> nn.Module:
    """A copy of ``model`` whose BatchNorm running statistics are recomputed from ``x`` with the final
    weights (one pass in train mode, no gradients, a plain average instead of a moving one), left in
    eval mode. Scores it in eval mode to ask: were the stored statistics the problem?

    >>> m = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)); x = torch.randn(50, 2) + 3
    >>> fresh = reestimated_batchnorm(m, x)
    >>> bool(torch.allclose(fresh[1].running_mean, m[0](x).mean(0).detach(), atol=1e-5)), fresh.training
    (True, False)
    """
    copy_ = copy.deepcopy(model)
    norms = [m for m in copy_.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None                            # a cumulative average over the batches seen
    copy_.train()
    with torch.no_grad():
        copy_(x)
    return copy_.eval()


def as_stored(images: torch.Tensor) -> torch.Tensor:
    """Digit pixels as scikit-learn stores them (0–16), not the [0, 1] the CNN was pretrained on.

    The digits analogue of the article's missing ``Normalize``: inputs on another scale than
    the one the pretrained weights expect.

    >>> as_stored(torch.tensor([0.0, 0.5, 1.0])).tolist()
    [0.0, 8.0, 16.0]
    """
    return images * 16.0


def pool_of(trial: dict[str, Any]) -> np.ndarray:
    """The trial's labelled pool: its ``train`` and ``val`` indices (what a loop that validates
    nothing trains on, so that every arm gets the same labels)."""
    return np.sort(np.concatenate([trial["train"], trial["val"]]))


def _article_run(make_model, x, y, idx, *, seed, epochs, batch_size, lr=0.001, optimizer="sgd",
                 val=None, budget: Budget | None = None, patience: int | None = None):
    """One fixed-setting run of the article's ablation (see :func:`ablation_arms`)."""
    seed_everything(seed)
    model = make_model()
    loader = data.make_loader(torch.utils.data.TensorDataset(x[idx], y[idx]), batch_size, shuffle=True, seed=seed)
    if optimizer == "sgd" and val is None:
        return model, article_loop(model, loader, epochs=epochs, lr=lr)
    cap = epochs * len(loader) if budget is None else budget.cap
    run = loop.train(model, loader, lr=lr, cap=cap, optimizer=optimizer, val=val, patience=patience,
                     eval_every=max(1, cap // 20), fixed=True, label=f"fixed {optimizer} lr {lr:g}")
    return model, {"steps": run.steps, "best_step": run.best_step}


ABLATION_STEPS = ("article's loop, as left (train mode)", "+ scored in eval mode",
                  "+ inputs scaled as in pretraining", "+ Adam instead of SGD (lr 0.001)",
                  "+ validation split, best step kept", "+ learning rate picked on validation")


def ablation_arms(make_model: Callable[[], nn.Module], x: torch.Tensor, y: torch.Tensor,
                  trials: dict[int, dict[str, Any]], *, raw: Callable = as_stored, epochs: int = 100,
                  batch_size: int = 32, patience: int = 6) -> dict[str, Arm]:
    """The article's loop, then one change at a time, as arms for :func:`course_lib.compare.run_paired`.

    ``make_model()`` returns the pretrained model with a new head; ``x`` holds the inputs as
    pretrained (``raw(x)`` is how the article's loop sees them). Every arm has the same labels, the
    trial's pool (``train`` + ``val``): the first four train on all of it for ``epochs`` epochs and
    validate nothing; from step 5 on, ``val`` is held out to choose with. Each step changes one thing:

    1. the article's loop (:func:`article_loop`: SGD, lr 0.001, every layer, ``raw`` inputs),
       scored as left (train mode); 2. the same model scored in eval mode; 3. inputs as in
       pretraining; 4. Adam instead of SGD, the same lr 0.001; 5. train on ``train`` only, keep the
       step with the best validation score (lr 0.001, at most the budget's cap); 6. the learning rate
       too picked on validation, from the budget's grid (:func:`course_lib.loop.tune`).
    Steps 1–5 are fixed settings (they search nothing); the budget's cap is 100 epochs of the pool.
    """
    kept: dict[int, nn.Module] = {}
    raw_x = raw(x)

    def article(seed: int, budget: Budget) -> RunResult:
        t = trials[seed]
        model, run = _article_run(make_model, raw_x, y, pool_of(t), seed=seed, epochs=epochs, batch_size=batch_size)
        kept[seed] = model
        return RunResult(accuracy_as_left(model, raw_x[t["test"]], y[t["test"]]), lr=0.001,
                         extra={"losses": run["losses"]})

    def eval_mode(seed: int, budget: Budget) -> RunResult:
        loop.no_training("re-scores the article's model of the step before, in eval mode")
        return RunResult(accuracy_of(kept.pop(seed), raw_x[trials[seed]["test"]], y[trials[seed]["test"]]), lr=0.001)

    def fixed(optimizer: str, inputs: torch.Tensor, validate: bool = False) -> Arm:
        def arm(seed: int, budget: Budget) -> RunResult:
            t = trials[seed]
            idx = t["train"] if validate else pool_of(t)
            val = (inputs[t["val"]], y[t["val"]]) if validate else None
            model, run = _article_run(make_model, inputs, y, idx, seed=seed, epochs=epochs, batch_size=batch_size,
                                      optimizer=optimizer, val=val, budget=budget if validate else None,
                                      patience=patience if validate else None)
            return RunResult(accuracy_of(model, inputs[t["test"]], y[t["test"]]), lr=0.001, extra=run)
        return arm

    tuned = tuned_arm(make_model, x, y, trials, param_groups=lambda m, lr: [
        {"params": [p for p in m.parameters() if p.requires_grad], "lr": lr}],
        batch_size=batch_size, patience=patience, label=ABLATION_STEPS[5])
    arms = (article, eval_mode, fixed("sgd", x), fixed("adam", x), fixed("adam", x, validate=True), tuned)
    return dict(zip(ABLATION_STEPS, arms))


def step_comparisons(scores_by_step: dict[str, Sequence[float]]) -> list[Comparison]:
    """Each step of an ablation against the step before it (paired over seeds), in order."""
    names = list(scores_by_step)
    return [paired_comparison(scores_by_step[b], scores_by_step[a], b, a) for a, b in zip(names, names[1:])]


ARTICLE_ARMS = ("article's loop, as left", "article's loop, as left, small test batches",
                "article's loop, eval mode", "article's loop, BatchNorm from its training photos",
                "article's loop, BatchNorm from unlabelled photos", "full fine-tuning, tuned",
                "feature extractor (the recipe)")


def article_vs_recipe_arms(backbone: models.Backbone, dataset, trials: dict[int, dict[str, Any]], *,
                           epochs: int = 100, batch_size: int = 8, fine_tune: bool = True,
                           body_factor: float = 0.1, patience: int = 4) -> dict[str, Arm]:
    """The article's loop on an ImageNet network, the same network fine-tuned with validation, and the
    recipe's feature extractor, on the same labels (each trial's pool: ``train`` + ``val``).

    The article (:func:`article_loop`): SGD at lr 0.001 on every layer of ``backbone.model`` (a new
    head), inputs resized but not normalised (in [0, 1]), ``epochs`` epochs on the pool in batches
    of ``batch_size``. One trained model, scored five ways on the test photos (only the first
    trains; the others re-score it): as left (train mode, the test set as one batch); as left in
    test batches of ``batch_size``; in eval mode (the running statistics stored in training); in
    eval mode with BatchNorm's statistics re-estimated from its training photos, and from every
    photo outside the test set, labels unused (:func:`reestimated_batchnorm`).
    ``fine_tune``: full fine-tuning tuned like every arm of the course (:func:`tuned_arm`: normalised
    inputs, the head at the grid's rate, the body at ``rate × body_factor``, trained on ``train``,
    rate and step chosen on ``val``). The recipe: the frozen backbone on normalised inputs, a
    logistic-regression head solved to convergence on ``train``, its strength picked on ``val``.
    """
    raw = models.ImagePreprocess(backbone.preprocess.image_size, (0, 0, 0), (1, 1, 1))
    x_raw, y = tensors(dataset, raw)
    x, _ = tensors(dataset, backbone.preprocess)
    num_classes = dataset.num_classes

    def make_model() -> nn.Module:
        model = copy.deepcopy(backbone.model)
        models.replace_head(model, num_classes)
        return model.to(memory_format=torch.channels_last)    # the same model, ~25 % faster on a CPU

    kept: dict[int, dict[str, float]] = {}

    def article(seed: int, budget: Budget) -> RunResult:
        t = trials[seed]
        test, pool = t["test"], pool_of(t)
        unlabelled = np.setdiff1d(np.arange(len(y)), test)
        model, run = _article_run(make_model, x_raw, y, pool, seed=seed, epochs=epochs, batch_size=batch_size)
        scores = dict(zip(ARTICLE_ARMS[:5], (
            accuracy_as_left(model, x_raw[test], y[test]),
            accuracy_as_left(model, x_raw[test], y[test], batch_size=batch_size),
            accuracy_of(model, x_raw[test], y[test]),
            accuracy_of(reestimated_batchnorm(model, x_raw[pool]), x_raw[test], y[test]),
            accuracy_of(reestimated_batchnorm(model, x_raw[unlabelled]), x_raw[test], y[test]))))
        kept[seed] = scores
        return RunResult(scores[ARTICLE_ARMS[0]], lr=0.001, extra={**run, "scores": scores,
                                                                    "unlabelled": len(unlabelled)})

    def rescored(name: str) -> Arm:
        def arm(seed: int, budget: Budget) -> RunResult:
            loop.no_training(f"re-scores the article's model: {name}")
            return RunResult(kept[seed][name], lr=0.001)
        return arm

    arms: dict[str, Arm] = {ARTICLE_ARMS[0]: article}
    arms.update({name: rescored(name) for name in ARTICLE_ARMS[1:5]})
    if fine_tune:
        arms[ARTICLE_ARMS[5]] = tuned_arm(make_model, x, y, trials, body_factor=body_factor, patience=patience,
                                          batch_size=batch_size, label=ARTICLE_ARMS[5])
    arms[ARTICLE_ARMS[6]] = convex_arm(body_features(make_model, x), y, trials)
    return arms


# --------------------------------------------------------------------------- speed

def cached_vs_naive(backbone: models.Backbone, train_set, num_classes: int, epochs: int = 10,
                    seed: int = 0) -> dict[str, float]:
    """Seconds to train the same linear head for ``epochs`` epochs: images through the frozen
    backbone every epoch (naive) against once-extracted, cached features."""
    from . import training

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
