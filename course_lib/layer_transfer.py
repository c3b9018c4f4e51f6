"""Which layers transfer? A layer-transfer experiment in the style of Yosinski et al. (2014).

Copy the first ``n`` convolution blocks of a network trained on a source task into a fresh
network, keep them frozen or let them fine-tune, train the rest on the target task, and plot
target accuracy against ``n``. The self-transfer control ("selffer", BnB) copies blocks from a
network trained on the target itself, separating "the blocks are specific to the source task"
from "the blocks were split from the layers they co-adapted with".

>>> from course_lib.pretrain import SmallCNN
>>> model = transfer_first_n(SmallCNN(), n=2, frozen=True, num_classes=5)
>>> [name for name, m in model.layer_groups() if not any(p.requires_grad for p in m.parameters())]
['conv1', 'conv2']
"""
from __future__ import annotations

import copy
from typing import Any, Sequence


from . import models
from .compare import Budget
from .pretrain import SmallCNN
from .repro import seed_everything

BLOCKS = ("conv1", "conv2", "conv3")


def transfer_first_n(source: SmallCNN, n: int, frozen: bool, num_classes: int) -> SmallCNN:
    """A fresh :class:`SmallCNN` whose first ``n`` conv blocks are copied from ``source``.

    Blocks after ``n`` and the head are randomly initialised (with the current torch seed).
    With ``frozen=True`` the copied blocks are not trained (and stay in eval mode under ``fit``).
    """
    if not 0 <= n <= len(BLOCKS):
        raise ValueError(f"n must be between 0 and {len(BLOCKS)}, got {n}.")
    model = SmallCNN(num_classes=num_classes, width=source.conv1[0].out_channels)
    for name in BLOCKS[:n]:
        setattr(model, name, copy.deepcopy(getattr(source, name)))
        if frozen:
            models.freeze(getattr(model, name))
    return model


def _steps_per_epoch(n: int, batch_size: int) -> int:
    return -(-int(n) // int(batch_size))


def train_on_tensors(model, x, y, *, steps: int, lr: float = 3e-3, batch_size: int = 16,
                     seed: int = 0) -> int:
    """Adam on in-memory tensors for whole epochs, at most ``steps`` optimizer steps.

    The plain minibatch loop of notebook 06, without a ``DataLoader``: on 25 images of 8×8
    pixels the loader's overhead costs more than the network. Fully frozen sub-modules stay
    in eval mode (their BatchNorm statistics do not move). Returns the steps taken.

    >>> import torch
    >>> net = torch.nn.Linear(2, 2); x = torch.randn(20, 2); y = (x[:, 0] > 0).long()
    >>> train_on_tensors(net, x, y, steps=7, batch_size=8)      # 3 steps per epoch, 2 epochs
    6
    """
    import torch
    from torch import nn

    per_epoch = _steps_per_epoch(len(x), batch_size)
    epochs = max(1, steps // per_epoch)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr,
                                 foreach=True)
    prefix, rest = _frozen_prefix(model)
    with torch.no_grad():                   # frozen leading blocks: their output, once
        x = prefix.eval()(x)
    generator = torch.Generator().manual_seed(seed)
    rest.train()
    models.eval_frozen_modules(rest)
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for i in range(0, len(x), batch_size):
            batch = order[i:i + batch_size]
            optimizer.zero_grad()
            nn.functional.cross_entropy(rest(x[batch]), y[batch]).backward()
            optimizer.step()
    model.eval()
    return epochs * per_epoch


def _frozen_prefix(model):
    """``(prefix, rest)``: a :class:`SmallCNN`'s fully frozen leading conv blocks, and the
    trainable rest as one module (so ``rest(prefix(x)) == model(x)`` in eval mode). Any other
    model: an empty prefix and the model itself."""
    from torch import nn

    if not isinstance(model, SmallCNN):
        return nn.Identity(), model
    n = 0
    for name in BLOCKS:
        if any(p.requires_grad for p in getattr(model, name).parameters()):
            break
        n += 1
    blocks = [getattr(model, name) for name in BLOCKS]
    return (nn.Sequential(*blocks[:n]),
            nn.Sequential(*blocks[n:], model.pool, nn.Flatten(), model.fc))


def layer_transfer_experiment(source: SmallCNN, target, ks: Sequence[int] = (5,), seeds: Sequence[int] = (0, 1, 2),
                              budget: Budget | None = None, lr: float = 3e-3, batch_size: int = 16,
                              selffer: bool = True, progress: bool = False) -> list[dict[str, Any]]:
    """Target test accuracy for n = 0..3 copied blocks, frozen and fine-tuned, over ``seeds``.

    The trials come from :func:`course_lib.compare.few_shot_trials` (seed ``s`` gives every arm
    the same training and test images). Every run gets the same :class:`~course_lib.compare.Budget`
    (Adam at ``lr``, whole epochs, at most ``budget.steps`` optimizer steps; checked), trained
    by :func:`train_on_tensors` on the stored images (no per-item transform).

    Arms, in the notation of Yosinski et al. (2014): ``"scratch"`` (n = 0), ``"AnB"`` (first n
    blocks from the source network, ``mode`` frozen or fine-tuned) and, with ``selffer=True``,
    the control ``"BnB"``: the first n blocks of the *scratch network of the same trial* (a
    network trained on the target's own training images), frozen, the rest re-initialised and
    retrained. A drop for BnB means the copied blocks lose by being split from the layers they
    were trained with (co-adaptation), not by coming from another task.

    Returns rows ``{"arm", "n", "mode", "k", "seed", "accuracy", "trainable", "steps"}``.
    """
    import torch

    from .compare import check_budget, few_shot_trials, RunResult

    budget = budget or Budget(steps=60)
    if getattr(target, "transform", None) is not None:
        raise ValueError("layer_transfer_experiment trains on the dataset's stored images (8×8 "
                         "digits, no per-item transform); pass the dataset without one, e.g. "
                         "target.with_transform(None).")
    trials = list(few_shot_trials(target.labels, ks, seeds))
    if progress:
        from tqdm.auto import tqdm

        trials = tqdm(trials, desc="layer transfer (trials)")
    images, labels = torch.as_tensor(target.images), torch.as_tensor(target.labels).long()
    rows = []
    for trial in trials:
        seed, k = trial["seed"], trial["k"]
        train = torch.as_tensor(trial["train"]).long()
        test = torch.as_tensor(trial["test"]).long()

        def run(arm: str, n: int, mode: str, src: SmallCNN | None) -> SmallCNN:
            seed_everything(seed)
            model = (SmallCNN(num_classes=target.num_classes, width=source.conv1[0].out_channels)
                     if src is None else transfer_first_n(src, n, frozen=(mode == "frozen"),
                                                          num_classes=target.num_classes))
            trainable = models.count_parameters(model)["trainable"]
            steps = train_on_tensors(model, images[train], labels[train], steps=budget.steps,
                                     lr=lr, batch_size=batch_size, seed=seed)
            with torch.no_grad():
                accuracy = float((model(images[test]).argmax(1) == labels[test]).float().mean())
            check_budget(f"{arm} n={n} {mode}", RunResult(accuracy, steps), budget)
            rows.append({"arm": arm, "n": n, "mode": mode, "k": int(k), "seed": int(seed),
                         "accuracy": accuracy, "trainable": trainable, "steps": steps})
            return model

        scratch = run("scratch", 0, "fine-tuned", None)
        for n in range(1, len(BLOCKS) + 1):
            for mode in ("frozen", "fine-tuned"):
                run("AnB", n, mode, source)
            if selffer:
                run("BnB", n, "frozen", scratch)
    return rows


def arm_accuracies(rows: list[dict[str, Any]], arm: str, n: int, mode: str, k: int | None = None) -> list[float]:
    """Accuracies of one arm, ordered by seed (ready for :func:`course_lib.compare.paired_comparison`).

    ``n = 0`` returns the scratch runs whatever ``arm`` and ``mode`` say.

    >>> rows = [{"arm": "AnB", "n": 1, "mode": "frozen", "k": 5, "seed": s, "accuracy": a}
    ...         for s, a in ((1, 0.8), (0, 0.7))]
    >>> arm_accuracies(rows, "AnB", 1, "frozen")
    [0.7, 0.8]
    """
    picked = [r for r in rows if (r["arm"] == "scratch" if n == 0 else
                                  (r["arm"], r["n"], r["mode"]) == (arm, n, mode))
              and (k is None or r["k"] == k)]
    return [r["accuracy"] for r in sorted(picked, key=lambda r: r["seed"])]


def summarise_layers(rows: list[dict[str, Any]]) -> dict[tuple[str, int, str], tuple[float, float, int]]:
    """``{(arm, n, mode): (mean, std, trainable parameters)}`` over seeds; n = 0 is ``("scratch", 0, ...)``."""
    import numpy as np

    out = {}
    for key in dict.fromkeys((r["arm"], r["n"], r["mode"]) for r in rows):
        picked = [r for r in rows if (r["arm"], r["n"], r["mode"]) == key]
        accs = [r["accuracy"] for r in picked]
        out[key] = (float(np.mean(accs)), float(np.std(accs, ddof=1)) if len(accs) > 1 else 0.0,
                    int(picked[0]["trainable"]))
    return out


def plot_layer_transfer(summary: dict, ax=None, title: str | None = None):
    """Accuracy against the number of copied blocks for each arm, with ± 1 std (ddof=1) bands."""
    import matplotlib.pyplot as plt
    import numpy as np

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.8))
    scratch = summary[("scratch", 0, "fine-tuned")]
    styles = {("AnB", "frozen"): ("s-", "digits 0–4 blocks, frozen (AnB)"),
              ("AnB", "fine-tuned"): ("o-", "digits 0–4 blocks, fine-tuned (AnB+)"),
              ("BnB", "frozen"): ("^--", "own scratch net's blocks, frozen (selffer BnB)")}
    for (arm, mode), (style, label) in styles.items():
        ns = sorted(n for (a, n, m) in summary if (a, m) == (arm, mode))
        if not ns:
            continue
        mean = np.array([scratch[0]] + [summary[(arm, n, mode)][0] for n in ns])
        std = np.array([scratch[1]] + [summary[(arm, n, mode)][1] for n in ns])
        xs = [0] + ns
        ax.plot(xs, mean, style, label=label)
        ax.fill_between(xs, mean - std, mean + std, alpha=0.15)
    ax.set_xticks(range(len(BLOCKS) + 1))
    ax.set_xlabel("n: first conv blocks copied (n = 0: scratch)")
    ax.set_ylabel("test accuracy on digits 5–9")
    ax.set_title(title or "Which layers transfer?")
    ax.legend(fontsize=8)
    return ax
