"""Interactive explorers for the notebooks, each with a static figure for unattended runs.

Every explorer first draws an ordinary matplotlib figure of its initial settings (so a notebook
executed without a browser, or exported to HTML, still shows the picture), then returns
ipywidgets controls whose own output area redraws when a control moves.
"""
from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import display

from .descent import OPTIMIZERS, logistic_loss, optimizer_path
from .objectives import logistic_loss_surface


def plot_paths(x: torch.Tensor, y: torch.Tensor, paths: dict, ax=None, w_range=(-6, 6), b_range=(-6, 6),
               title: str | None = None):
    """Contours of the logistic loss over (w, b) with optimisation paths drawn on top."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5.2, 4.2))
    ws = np.linspace(*w_range, 121)
    bs = np.linspace(*b_range, 121)
    surface = logistic_loss_surface(x, y, ws, bs).numpy()
    contours = ax.contourf(ws, bs, np.log(surface), levels=30, cmap="viridis")
    ax.figure.colorbar(contours, ax=ax, label="log of mean logistic loss")
    for (name, path), colour in zip(paths.items(), ("white", "orange", "red", "cyan")):
        p = path.numpy()
        ax.plot(p[:, 0], p[:, 1], ".-", color=colour, ms=3, lw=1, label=name)
        ax.plot(p[-1, 0], p[-1, 1], "x", color=colour, ms=8)
    ax.set_xlim(*w_range)
    ax.set_ylim(*b_range)
    ax.set_xlabel("weight w")
    ax.set_ylabel("bias b")
    ax.set_title(title or "Gradient descent on the loss surface")
    if paths:
        ax.legend(loc="lower left", fontsize=8)
    return ax


LEARNING_RATES = (0.01, 0.05, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)
"""The η values the explorer offers: sensible steps on a log scale."""

HIDE_STATIC = ("<style>"
               ".jp-OutputArea-child:has(+ .jp-OutputArea-child .gd-explorer),"
               ".output_area:has(+ .output_area .gd-explorer)"
               "{display: none;}</style>")
"""CSS carried by the live explorer: where the widget renders, it hides the static snapshot
printed just above it in the same cell (JupyterLab, Notebook 7, classic Notebook). Where no
widget renders (GitHub, nbviewer, an HTML export), the CSS never reaches the page and the
snapshot stays."""


def _frame(path: torch.Tensor) -> dict:
    """A view that keeps the whole path in the picture."""
    low, high = path.min(0).values, path.max(0).values
    return {"w_range": (min(-8.0, float(low[0]) - 2), max(8.0, float(high[0]) + 2)),
            "b_range": (min(-6.0, float(low[1]) - 2), max(8.0, float(high[1]) + 2))}


def _figure(x, y, lr: float, steps: int, optimizer: str, theta0, note: str = ""):
    path = optimizer_path(optimizer, x, y, theta0, lr, steps)
    final = float(logistic_loss(path[-1], x.double(), y.double()))
    fig, ax = plt.subplots(figsize=(5.2, 4.2))
    plot_paths(x, y, {f"{optimizer}, η = {lr:g}": path}, ax=ax,
               title=f"{note}{optimizer}, η = {lr:g}, {steps} steps: final loss {final:.3f}",
               **_frame(path))
    return fig


def gd_explorer(x: torch.Tensor, y: torch.Tensor, lr: float = 0.5, steps: int = 30,
                optimizer: str = "gd", theta0=(-5.0, 5.0)):
    """Explore η, the number of steps and the optimizer on the 2-parameter logistic loss.

    Displays a static snapshot of the starting settings (for pages viewed without a kernel),
    then returns a ``VBox`` (CSS class ``gd-explorer``) to display: the η slider (CSS class
    ``gd-lr-slider``) on a full-width row of its own, choosing among :data:`LEARNING_RATES`,
    then the steps and the optimizer; the figure redraws when a control is released. Where the
    widget renders, it hides the snapshot (:data:`HIDE_STATIC`), so only the live figure is on
    screen.
    """
    if lr not in LEARNING_RATES:
        raise ValueError(f"lr must be one of {LEARNING_RATES}, got {lr!r}.")
    static = _figure(x, y, lr, steps, optimizer, theta0, note="Snapshot: ")
    display(static)
    plt.close(static)

    lr_slider = widgets.SelectionSlider(options=list(LEARNING_RATES), value=lr, description="η",
                                        continuous_update=False,
                                        layout=widgets.Layout(width="100%"),
                                        style={"description_width": "initial"})
    lr_slider.add_class("gd-lr-slider")
    steps_slider = widgets.IntSlider(value=steps, min=1, max=100, description="steps",
                                     continuous_update=False, layout=widgets.Layout(width="50%"))
    opt_menu = widgets.Dropdown(options=list(OPTIMIZERS), value=optimizer, description="optimizer")
    out = widgets.Output()

    def redraw(*_):
        with out:
            out.clear_output(wait=True)
            fig = _figure(x, y, lr_slider.value, steps_slider.value, opt_menu.value, theta0)
            display(fig)
            plt.close(fig)

    for control in (lr_slider, steps_slider, opt_menu):
        control.observe(redraw, names="value")
    redraw()
    box = widgets.VBox([lr_slider, widgets.HBox([steps_slider, opt_menu]), out,
                        widgets.HTML(HIDE_STATIC)], layout=widgets.Layout(width="100%"))
    box.add_class("gd-explorer")
    return box
