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


def _figure(x, y, lr: float, steps: int, optimizer: str, theta0):
    path = optimizer_path(optimizer, x, y, theta0, lr, steps)
    final = float(logistic_loss(path[-1], x.double(), y.double()))
    fig, ax = plt.subplots(figsize=(5.2, 4.2))
    plot_paths(x, y, {f"{optimizer}, η={lr:.3g}": path}, ax=ax,
               title=f"{optimizer}: η = {lr:.3g}, {steps} steps, final loss {final:.3f}")
    return fig


def gd_explorer(x: torch.Tensor, y: torch.Tensor, lr: float = 0.5, steps: int = 30,
                optimizer: str = "gd", theta0=(-5.0, 5.0)):
    """Explore η, the number of steps and the optimizer on the 2-parameter logistic loss.

    Draws the static figure for the initial settings, then returns a ``VBox`` (CSS class
    ``gd-explorer``) whose η slider has CSS class ``gd-lr-slider``.
    """
    static = _figure(x, y, lr, steps, optimizer, theta0)
    display(static)
    plt.close(static)

    lr_slider = widgets.FloatLogSlider(value=lr, base=10, min=-2, max=2.5, step=0.05, description="η",
                                       continuous_update=False, readout_format=".3f")
    lr_slider.add_class("gd-lr-slider")
    steps_slider = widgets.IntSlider(value=steps, min=1, max=100, description="steps", continuous_update=False)
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
    box = widgets.VBox([widgets.HBox([lr_slider, steps_slider, opt_menu]), out])
    box.add_class("gd-explorer")
    display(box)
    return box
