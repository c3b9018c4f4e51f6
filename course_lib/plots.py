"""Plots the notebooks share; every one has labelled axes and a title.

:func:`plot_mean_std` is the course's one "mean ± one standard deviation over seeds" plot;
:func:`plot_label_efficiency` is its usual form (accuracy against k labels per class).
A training run's curves are drawn by :meth:`course_lib.training.History.plot`.

>>> rows = [{"name": n, "k": k, "seed": s, "accuracy": 0.5 + 0.1 * (n == "b")}
...         for n in "ab" for k in (1, 2) for s in (0, 1)]
>>> plot_label_efficiency(rows, chance=0.5).get_xlabel()
'labelled examples per class (k)'
"""
from __future__ import annotations

from typing import Any, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .training import summarise


def show_images(dataset, n: int = 16, ncols: int = 8, title: str | None = None, indices=None):
    """A grid of images from an ``ArrayImageDataset`` with their class names.

    >>> from course_lib.data import load_faces
    >>> show_images(load_faces(), n=4, ncols=2)._suptitle.get_text()
    '4 of 200 images'
    """
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


def plot_mean_std(rows: Sequence[dict[str, Any]], x: str, group: str = "name", value: str = "accuracy", *,
                  ax=None, title: str | None = None, xlabel: str | None = None,
                  ylabel: str | None = None, chance: float | None = None, log_x: bool = False,
                  label: str = "{}", markers: Sequence[str] = ("o",)):
    """Mean ``value`` against ``x``, one line per ``group``, with a ± one standard deviation band.

    ``rows`` hold one result per seed (as :func:`course_lib.training.summarise` reads them);
    ``label`` formats each group's legend entry; ``markers`` cycle over the groups.

    >>> rows = [{"n": n, "mode": m, "accuracy": 0.5 + 0.1 * n} for n in (0, 1) for m in ("a", "b")]
    >>> ax = plot_mean_std(rows, x="n", group="mode", label="mode {}")
    >>> [t.get_text() for t in ax.get_legend().get_texts()], ax.get_ylabel()
    (['mode a', 'mode b'], 'accuracy')
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.8))
    stats = summarise(list(rows), by=(group, x), value=value)
    for i, name in enumerate(dict.fromkeys(r[group] for r in stats)):
        s = sorted((r for r in stats if r[group] == name), key=lambda r: r[x])
        xs = np.array([r[x] for r in s])
        mean = np.array([r["mean"] for r in s])
        std = np.array([r["std"] for r in s])
        ax.plot(xs, mean, markers[i % len(markers)] + "-", label=label.format(name))
        ax.fill_between(xs, mean - std, mean + std, alpha=0.2)
    if chance is not None:
        ax.axhline(chance, color="grey", ls="--", label="chance")
    if log_x:
        ax.set_xscale("log")
    ticks = sorted({r[x] for r in stats})
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(ylabel or value)
    ax.set_title(title or f"{value} against {x} (mean ± 1 std over seeds)")
    ax.legend()
    return ax


def plot_label_efficiency(rows: Sequence[dict[str, Any]], ax=None, title: str | None = None,
                          chance: float | None = None):
    """Mean accuracy (± one standard deviation over seeds) against labelled examples per class."""
    return plot_mean_std(rows, x="k", ax=ax, chance=chance, log_x=True,
                         title=title or "Accuracy against the number of labels",
                         xlabel="labelled examples per class (k)", ylabel="test accuracy")
