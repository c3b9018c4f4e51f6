"""Plots the notebooks share; every one has labelled axes and a title."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np


def plot_history(history, axes=None, title: str | None = None):
    """Loss and accuracy per epoch, train and validation, side by side. Returns the axes."""
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    epochs = np.arange(1, history.epochs + 1)
    for ax, key, label in ((axes[0], "loss", "cross-entropy loss"), (axes[1], "acc", "accuracy")):
        ax.plot(epochs, getattr(history, f"train_{key}"), "o-", ms=3, label="train")
        val = getattr(history, f"val_{key}")
        if val:
            ax.plot(epochs[:len(val)], val, "s-", ms=3, label="validation")
        if history.best_epoch:
            ax.axvline(history.best_epoch, color="grey", ls=":", label="best epoch")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.legend()
    axes[0].set_title("Loss per epoch")
    axes[1].set_title("Accuracy per epoch")
    if title:
        axes[0].figure.suptitle(title)
    axes[0].figure.tight_layout()
    return axes


def show_images(dataset, n: int = 16, ncols: int = 8, title: str | None = None, indices=None):
    """A grid of images from an ``ArrayImageDataset`` with their class names."""
    import matplotlib.pyplot as plt

    indices = list(range(min(n, len(dataset)))) if indices is None else list(indices)[:n]
    nrows = int(np.ceil(len(indices) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.3 * ncols, 1.5 * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, indices):
        img = dataset.images[i]
        img = img[0] if img.shape[0] == 1 else img.permute(1, 2, 0)
        ax.imshow(img.numpy(), cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1)
        ax.set_title(dataset.classes[int(dataset.labels[i])], fontsize=8)
    fig.suptitle(title or f"{len(indices)} of {len(dataset)} images")
    fig.tight_layout()
    return fig


def plot_label_efficiency(rows: Sequence[dict[str, Any]], ax=None, title: str | None = None,
                          chance: float | None = None):
    """Mean accuracy (± one standard deviation over seeds) against labelled examples per class."""
    import matplotlib.pyplot as plt

    from .training import summarise

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.8))
    stats = summarise(list(rows))
    for name in dict.fromkeys(r["name"] for r in stats):
        s = sorted((r for r in stats if r["name"] == name), key=lambda r: r["k"])
        k = np.array([r["k"] for r in s])
        mean = np.array([r["mean"] for r in s])
        std = np.array([r["std"] for r in s])
        ax.plot(k, mean, "o-", label=name)
        ax.fill_between(k, mean - std, mean + std, alpha=0.2)
    if chance is not None:
        ax.axhline(chance, color="grey", ls="--", label="chance")
    ax.set_xscale("log")
    ks = sorted({r["k"] for r in stats})
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.set_xlabel("labelled examples per class (k)")
    ax.set_ylabel("test accuracy")
    ax.set_title(title or "Accuracy against the number of labels")
    ax.legend()
    return ax
