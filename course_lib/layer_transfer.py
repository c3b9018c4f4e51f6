"""Which layers transfer? A layer-transfer experiment in the style of Yosinski et al. (2014).

Copy the first ``n`` convolution blocks of a network trained on a source task into a fresh
network, keep them frozen or let them fine-tune, train the rest on the target task, and plot
target accuracy against ``n``.

>>> from course_lib.pretrain import SmallCNN
>>> model = transfer_first_n(SmallCNN(), n=2, frozen=True, num_classes=5)
>>> [name for name, m in model.layer_groups() if not any(p.requires_grad for p in m.parameters())]
['conv1', 'conv2']
"""
from __future__ import annotations

import copy
from typing import Any, Sequence


from . import data, models
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


def layer_transfer_experiment(source: SmallCNN, target, ks: Sequence[int] = (5,), seeds: Sequence[int] = (0, 1, 2),
                              epochs: int = 30, lr: float = 3e-3) -> list[dict[str, Any]]:
    """Target test accuracy for n = 0..3 copied blocks, frozen and fine-tuned, over ``seeds``.

    Returns rows ``{"n", "mode", "k", "seed", "accuracy"}``; ``n = 0`` is training from scratch.
    """
    from .finetune import train_and_test

    rows = []
    for seed in seeds:
        pool, test_idx = data.stratified_split(target.labels, test_size=0.5, seed=seed)
        test_set = target.subset(test_idx)
        for k in ks:
            train_set = target.subset(data.k_per_class(target.labels, k, seed=seed, pool=pool))
            for n in range(len(BLOCKS) + 1):
                for mode in ("frozen", "fine-tuned"):
                    if n == 0 and mode == "frozen":
                        continue  # nothing copied: the same as fine-tuned n = 0
                    seed_everything(seed)
                    model = transfer_first_n(source, n, frozen=(mode == "frozen"), num_classes=target.num_classes)
                    result = train_and_test(model, train_set, test_set, epochs=epochs, lr=lr, batch_size=16, seed=seed)
                    rows.append({"n": n, "mode": mode, "k": int(k), "seed": int(seed), "accuracy": result["accuracy"]})
    return rows


def summarise_layers(rows: list[dict[str, Any]]) -> dict[tuple[int, str], tuple[float, float]]:
    """``{(n, mode): (mean, std)}`` over seeds; n = 0 is reported under both modes."""
    import numpy as np

    out = {}
    for n in range(len(BLOCKS) + 1):
        for mode in ("frozen", "fine-tuned"):
            accs = [r["accuracy"] for r in rows if r["n"] == n and (r["mode"] == mode or n == 0)]
            if accs:
                out[(n, mode)] = (float(np.mean(accs)), float(np.std(accs)))
    return out


def plot_layer_transfer(summary: dict, ax=None, title: str | None = None):
    """Accuracy against the number of copied blocks, frozen vs fine-tuned, with ± 1 std bands."""
    import matplotlib.pyplot as plt
    import numpy as np

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.8))
    for mode, marker in (("frozen", "s"), ("fine-tuned", "o")):
        ns = sorted(n for (n, m) in summary if m == mode)
        mean = np.array([summary[(n, mode)][0] for n in ns])
        std = np.array([summary[(n, mode)][1] for n in ns])
        ax.plot(ns, mean, marker + "-", label=f"copied blocks {mode}")
        ax.fill_between(ns, mean - std, mean + std, alpha=0.2)
    ax.set_xticks(range(len(BLOCKS) + 1))
    ax.set_xlabel("n: first conv blocks copied from the digits-0–4 network")
    ax.set_ylabel("test accuracy on digits 5–9")
    ax.set_title(title or "Which layers transfer?")
    ax.legend()
    return ax
