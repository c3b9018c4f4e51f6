"""Which layers transfer? A layer-transfer experiment in the style of Yosinski et al. (2014).

Copy the first ``n`` convolution blocks of a network trained on a source task into a fresh
network, keep them frozen or let them fine-tune, train the rest on the target task, and compare
target accuracy across ``n``. The self-transfer control ("selffer", BnB) copies blocks from a
*base network trained on all of the target task's training data* (Yosinski's baseB), separating
"the blocks are specific to the source task" from "the blocks were split from the layers they
co-adapted with".

Every arm is a function ``(seed, budget) -> RunResult`` for :func:`course_lib.compare.run_paired`:
the trainable part trains through :func:`course_lib.loop.tune` (every rate of the budget's grid,
early stopping on the trial's validation rows, new layers at the grid's rate and copied layers at
``body_factor`` times it, :func:`course_lib.loop.head_and_body`); an arm whose only trainable part
is the head (every block frozen) fits it as a logistic regression solved to convergence
(:func:`course_lib.loop.fit_convex`).

>>> from course_lib.pretrain import SmallCNN
>>> model = transfer_first_n(SmallCNN(), n=2, frozen=True, num_classes=5)
>>> [name for name, m in model.layer_groups() if not any(p.requires_grad for p in m.parameters())]
['conv1', 'conv2']
>>> prefix, rest = split_frozen(model)
>>> len(prefix), [name for name, _ in rest.named_children()], rest.copied
(2, ['conv3', 'pool', 'flatten', 'fc'], ())
"""
from __future__ import annotations

import copy
from collections import OrderedDict
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from . import loop
from .compare import Budget, RunResult
from .evaluation import accuracy_of, batched_forward
from .pretrain import SmallCNN

BLOCKS = ("conv1", "conv2", "conv3")

#: The rate of copied (pretrained) layers that fine-tune, relative to the new layers' grid rate.
BODY_FACTOR = 0.1


def adam(groups: list[dict[str, Any]]) -> torch.optim.Optimizer:
    """Adam with PyTorch's fused kernel: the same update in one kernel, cheaper per step on a CPU."""
    return torch.optim.Adam(groups, fused=True)


def transfer_first_n(source: SmallCNN, n: int, frozen: bool, num_classes: int) -> SmallCNN:
    """A fresh :class:`SmallCNN` whose first ``n`` conv blocks are copied from ``source``.

    Blocks after ``n`` and the head are randomly initialised (with the current torch seed).
    With ``frozen=True`` the copied blocks are not trained. ``model.copied`` names the copied
    blocks.
    """
    if not 0 <= n <= len(BLOCKS):
        raise ValueError(f"n must be between 0 and {len(BLOCKS)}, got {n}.")
    model = SmallCNN(num_classes=num_classes, width=source.conv1[0].out_channels)
    for name in BLOCKS[:n]:
        setattr(model, name, copy.deepcopy(getattr(source, name)))
        if frozen:
            getattr(model, name).requires_grad_(False)
    model.copied = BLOCKS[:n]
    return model


def split_frozen(model: SmallCNN) -> tuple[nn.Sequential, nn.Sequential]:
    """``(prefix, rest)``: the fully frozen leading conv blocks, and the rest as one module.

    ``rest(prefix(x)) == model(x)`` in eval mode. Training only ``rest`` on the prefix's
    outputs, computed once, is exact: nothing in the prefix changes. ``rest.copied`` names the
    blocks of ``rest`` that were copied from a source (they fine-tune at a lower rate).
    """
    if not isinstance(model, SmallCNN):
        raise TypeError(f"split_frozen takes a SmallCNN, got {type(model).__name__}.")
    n = 0
    for name in BLOCKS:
        if any(p.requires_grad for p in getattr(model, name).parameters()):
            break
        n += 1
    prefix = nn.Sequential(OrderedDict((name, getattr(model, name)) for name in BLOCKS[:n]))
    rest = nn.Sequential(OrderedDict([*((name, getattr(model, name)) for name in BLOCKS[n:]),
                                      ("pool", model.pool), ("flatten", nn.Flatten()), ("fc", model.fc)]))
    rest.copied = tuple(name for name in getattr(model, "copied", ()) if name in BLOCKS[n:])
    return prefix, rest


def new_layers(rest: nn.Sequential) -> nn.ModuleList:
    """The modules of ``rest`` that were not copied from a source (they learn at the grid's rate)."""
    copied = set(getattr(rest, "copied", ()))
    return nn.ModuleList(m for name, m in rest.named_children() if name not in copied)


def _trainable(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _index(split: Mapping[str, Any], part: str) -> torch.Tensor:
    return torch.as_tensor(np.asarray(split[part])).long()


def _parts(split: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    train, val, test = (_index(split, p) for p in ("train", "val", "test"))
    if not len(val):
        raise ValueError("Every arm picks its rate (or strength) on validation: the split needs a 'val' part "
                         "(compare.trials_by_seed(..., val_per_class=...)).")
    return train, val, test


def _assemble(prefix: nn.Sequential, rest: nn.Sequential, like: SmallCNN) -> SmallCNN:
    """One :class:`SmallCNN` from a frozen prefix and a trained rest (the inverse of :func:`split_frozen`)."""
    model = copy.deepcopy(like)
    for name, module in [*prefix.named_children(), *rest.named_children()]:
        if name in (*BLOCKS, "fc"):
            setattr(model, name, module)
    return model.eval()


def fit_and_score(make: Callable[[], SmallCNN], images: torch.Tensor, labels: torch.Tensor,
                  split: Mapping[str, Any], budget: Budget, *, seed: int,
                  body_factor: float = BODY_FACTOR, batch_size: int = 16, patience: int | None = None,
                  label: str = "") -> RunResult:
    """Train what ``make()`` leaves trainable on ``split["train"]``; score on ``split["test"]``.

    The frozen prefix (:func:`split_frozen`) runs once. If anything besides the head trains,
    :func:`course_lib.loop.tune` trains the rest at every rate of ``budget.lr_grid`` (:func:`adam`,
    batches of ``batch_size``, at most ``budget.cap`` steps, the best step on ``split["val"]``
    kept; new layers at the grid's rate, copied ones at ``body_factor`` × it). If only the head
    trains, it is a logistic regression on the prefix's pooled features, solved to convergence
    with its strength picked on validation (:func:`course_lib.loop.fit_convex`).

    ``extra`` keeps ``trainable`` (parameters trained), ``val`` (the kept validation score)
    and ``model`` (the trained :class:`SmallCNN`; None for a convex head).
    """
    template = make()
    prefix, rest = split_frozen(template)
    trainable = _trainable(template)
    x = batched_forward(prefix, images) if len(prefix) else torch.as_tensor(images)
    y = torch.as_tensor(labels).long()
    train, val, test = _parts(split)
    if len(prefix) == len(BLOCKS):               # only the head trains: a convex problem
        features = batched_forward(nn.Sequential(rest.pool, rest.flatten), x)
        fit = loop.fit_convex(features[train], y[train], features[val], y[val], budget, label=label)
        return RunResult(fit.score(features[test], y[test]),
                         extra={"trainable": trainable, "val": fit.val_score, "model": None})

    def groups(model: nn.Module, lr: float) -> list[dict[str, Any]]:
        return loop.head_and_body(new_layers(model), body_factor)(model, lr)

    tuned = loop.tune(lambda: split_frozen(make())[1], (x[train], y[train]), budget, val=(x[val], y[val]),
                      seed=seed, batch_size=batch_size, patience=patience, param_groups=groups, optimizer=adam,
                      label=label)
    return RunResult(accuracy_of(tuned.model, x[test], y[test]), lr=tuned.lr,
                     extra={"trainable": trainable, "val": tuned.val_score,
                            "model": _assemble(prefix, tuned.model, template)})


def tail_arm(make_tail: Callable[[], nn.Module], inputs: torch.Tensor, labels, trials: Mapping[int, Mapping[str, Any]],
             *, width: int, body_factor: float = BODY_FACTOR, batch_size: int = 16,
             patience: int | None = None, bn_eval: bool = True) -> Callable[[int, Budget], RunResult]:
    """An arm that fine-tunes a pretrained network's last block(s) and a new linear head.

    ``make_tail()`` gives a fresh copy of the block(s) (e.g.
    :class:`course_lib.transferability.PooledTail`), mapping the cached ``inputs`` (what the
    first of them receives, computed once) to ``width`` pooled features. Trained by
    :func:`course_lib.loop.tune` like every other arm: the new head at the grid's rate, the
    copied block(s) at ``body_factor`` × it; with ``bn_eval=True`` BatchNorm keeps the
    pretrained statistics (batches of 16 estimate them badly), its scale and shift still train.

    >>> X = torch.randn(60, 4); y = (X[:, 0] > 0).long()
    >>> split = {0: {"train": np.arange(30), "val": np.arange(30, 45), "test": np.arange(45, 60)}}
    >>> arm = tail_arm(lambda: nn.Linear(4, 4), X, y, split, width=4)
    >>> r = arm(0, Budget(20, (1e-3, 1e-2, 1e-1), scale=1)); r.extra["trainable"], 0 <= r.score <= 1
    (30, True)
    """
    x = torch.as_tensor(inputs)
    y = torch.as_tensor(np.asarray(labels)).long()
    num_classes = int(y.max()) + 1

    def make() -> nn.Sequential:
        return nn.Sequential(OrderedDict(tail=make_tail(), head=nn.Linear(width, num_classes)))

    def groups(model: nn.Module, lr: float) -> list[dict[str, Any]]:
        return loop.head_and_body(model.head, body_factor)(model, lr)

    def arm(seed: int, budget: Budget) -> RunResult:
        train, val, test = _parts(trials[seed])
        tuned = loop.tune(make, (x[train], y[train]), budget, val=(x[val], y[val]), seed=seed,
                          batch_size=batch_size, patience=patience, bn_eval=bn_eval, param_groups=groups,
                          optimizer=adam, label="tail")
        trainable = _trainable(tuned.model)
        return RunResult(accuracy_of(tuned.model, x[test], y[test]), lr=tuned.lr,
                         extra={"trainable": trainable, "val": tuned.val_score})
    return arm


def layer_arms(source: SmallCNN, images: torch.Tensor, labels: torch.Tensor,
               trials: Mapping[int, Mapping[str, Any]], *, bases: Mapping[int, SmallCNN] | None = None,
               ns: Sequence[int] = (1, 2, 3), **options: Any) -> dict[str, Callable[[int, Budget], RunResult]]:
    """The arms of the layer-transfer experiment, for :func:`course_lib.compare.run_paired`.

    ``"scratch"`` (n = 0); for each ``n``: ``"AnB n=… frozen"`` and ``"AnB n=… fine-tuned"``
    (the first n blocks of ``source``) and, with ``bases`` (``{seed: base network trained on
    all of the target's training data}``), the selffer ``"BnB n=… frozen"``. ``trials`` maps a
    seed to its split (``train``/``val``/``test`` indices, e.g.
    :func:`course_lib.compare.trials_by_seed`). ``options`` go to :func:`fit_and_score`.
    """
    num_classes = int(torch.as_tensor(labels).max()) + 1

    def arm(make_for_seed: Callable[[int], Callable[[], SmallCNN]], name: str) -> Callable[[int, Budget], RunResult]:
        def run(seed: int, budget: Budget) -> RunResult:
            return fit_and_score(make_for_seed(seed), images, labels, trials[seed], budget, seed=seed,
                                 label=name, **options)
        return run

    def scratch(seed: int) -> Callable[[], SmallCNN]:
        return lambda: transfer_first_n(source, 0, frozen=False, num_classes=num_classes)

    arms = {"scratch": arm(scratch, "scratch")}
    for n in ns:
        for mode in ("frozen", "fine-tuned"):
            arms[f"AnB n={n} {mode}"] = arm(
                lambda seed, n=n, mode=mode: (lambda: transfer_first_n(source, n, mode == "frozen", num_classes)),
                f"AnB n={n} {mode}")
        if bases is not None:
            arms[f"BnB n={n} frozen"] = arm(
                lambda seed, n=n: (lambda: transfer_first_n(bases[seed], n, True, num_classes)), f"BnB n={n} frozen")
    return arms


def all_of_task(labels, seed: int, *, val_per_class: int, test_size: float = 0.5) -> dict[str, Any]:
    """A split that uses *all* of a task's training data: seed ``seed``'s test part (the same as
    :func:`course_lib.compare.few_shot_trials`'), ``val_per_class`` validation labels per class
    from the rest, and every other image for training.

    >>> s = all_of_task(np.repeat([0, 1], 20), 0, val_per_class=2)
    >>> len(s["train"]), len(s["val"]), len(s["test"])
    (16, 4, 20)
    """
    from .compare import few_shot_trials

    labels = np.asarray(labels)
    trial = next(few_shot_trials(labels, [1], [seed], test_size=test_size, val_per_class=val_per_class))
    train = np.setdiff1d(np.arange(len(labels)), np.union1d(trial["val"], trial["test"]))
    val, test = trial["val"], trial["test"]
    return {"seed": int(seed), "train": train, "val": val, "test": test}


def summarise_arms(results: Mapping[str, Sequence[RunResult]]) -> dict[str, tuple[float, float, int]]:
    """``{arm: (mean, standard deviation, trainable parameters)}`` over seeds.

    The standard deviation is the sample one (``ddof=1``: the seeds are a sample of the splits
    one could have drawn), the same convention as the intervals of :mod:`course_lib.compare`.

    >>> r = {"a": [RunResult(0.5, extra={"trainable": 3}), RunResult(0.7, extra={"trainable": 3})]}
    >>> summarise_arms(r)
    {'a': (0.6, 0.1414, 3)}
    """
    out = {}
    for name, rs in results.items():
        scores = np.array([r.score for r in rs], dtype=float)
        sd = float(np.std(scores, ddof=1)) if len(scores) > 1 else 0.0
        out[name] = (round(float(scores.mean()), 4), round(sd, 4), int(rs[0].extra.get("trainable", 0)))
    return out


def late_accuracy_gains(results: Mapping[str, Sequence[RunResult]]) -> dict[str, tuple[int, int]]:
    """For every arm of :func:`course_lib.compare.run_paired`'s output: ``(late, gained)``, how many
    kept runs had their best step in the last 20 % of the cap, and in how many of those the
    validation *accuracy* itself rose there. The loop's validation score breaks accuracy ties by
    the lower validation loss, so a run whose accuracy has stopped rising can still keep a late
    step; ``gained`` counts the runs the cap really cut short.

    >>> from course_lib.loop import Run
    >>> tie = Run(1e-3, 100, best_step=95, best_score=0.96 - 1e-7, selected=True,
    ...           curve=[(50, 0.96 - 3e-7), (95, 0.96 - 1e-7)])
    >>> rise = Run(1e-3, 100, best_step=95, best_score=0.98, selected=True, curve=[(50, 0.96), (95, 0.98)])
    >>> late_accuracy_gains({"a": [RunResult(0.9, runs=[tie])], "b": [RunResult(0.9, runs=[rise])]})
    {'a': (1, 0), 'b': (1, 1)}
    """
    out = {}
    for name, rs in results.items():
        late = gained = 0
        for run in (run for r in rs for run in r.runs):
            if run.kind != "gradient" or not run.selected or not run.late:
                continue
            late += 1
            before = [score for step, score in run.curve if step <= 0.8 * run.cap]
            gained += bool(before) and round(run.best_score, 3) > round(max(before), 3)
        out[name] = (late, gained)
    return out


def plot_layer_transfer(summary: Mapping[str, tuple[float, float, int]], ax=None, title: str | None = None):
    """Accuracy against the number of copied blocks for each arm, with ± 1 standard deviation
    (``ddof=1``) bands. ``summary`` comes from :func:`summarise_arms`."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.8), dpi=100)
    scratch = summary["scratch"]
    styles = {("AnB", "frozen"): ("s-", "digits 0–4 blocks, frozen (AnB)"),
              ("AnB", "fine-tuned"): ("o-", "digits 0–4 blocks, fine-tuned (AnB+)"),
              ("BnB", "frozen"): ("^--", "blocks of a net trained on all of 5–9, frozen (selffer BnB)")}
    for (arm, mode), (style, label) in styles.items():
        ns = sorted(int(name.split("n=")[1].split()[0]) for name in summary
                    if name.startswith(arm) and name.endswith(mode))
        if not ns:
            continue
        mean = np.array([scratch[0]] + [summary[f"{arm} n={n} {mode}"][0] for n in ns])
        std = np.array([scratch[1]] + [summary[f"{arm} n={n} {mode}"][1] for n in ns])
        xs = [0] + ns
        ax.plot(xs, mean, style, label=label)
        ax.fill_between(xs, mean - std, mean + std, alpha=0.15)
    ax.set_xticks(range(len(BLOCKS) + 1))
    ax.set_xlabel("n: first conv blocks copied (n = 0: scratch)")
    ax.set_ylabel("test accuracy on digits 5–9")
    ax.set_title(title or "Which layers transfer?")
    ax.legend(fontsize=8)
    return ax
