"""Look inside a network: first-layer filters, feature maps, and the cost of a forward pass.

>>> from course_lib.pretrain import SmallCNN
>>> maps = feature_maps(SmallCNN(), torch.rand(1, 1, 8, 8), ["conv1", "conv2"])
>>> {k: tuple(v.shape) for k, v in maps.items()}
{'conv1': (1, 16, 8, 8), 'conv2': (1, 32, 4, 4)}
"""
from __future__ import annotations

import time

import torch
from torch import nn


def feature_maps(model: nn.Module, x: torch.Tensor, layer_names: list[str]) -> dict[str, torch.Tensor]:
    """Outputs of the named sub-modules for input ``x`` (eval mode, no gradients)."""
    modules = dict(model.named_modules())
    missing = [n for n in layer_names if n not in modules]
    if missing:
        raise ValueError(f"No layer named {missing} in {type(model).__name__}; some valid names: "
                         f"{[n for n, _ in model.named_children()]}.")
    captured: dict[str, torch.Tensor] = {}
    hooks = [modules[n].register_forward_hook(lambda m, i, o, n=n: captured.__setitem__(n, o.detach()))
             for n in layer_names]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return {n: captured[n] for n in layer_names}


def filters_as_images(weight: torch.Tensor) -> torch.Tensor:
    """Conv weights (out, in, h, w) scaled to [0, 1] per filter, for display.

    One input channel gives grey images (out, h, w); three give RGB images (out, h, w, 3).
    """
    w = weight.detach().float()
    lo = w.flatten(1).min(1).values.view(-1, 1, 1, 1)
    hi = w.flatten(1).max(1).values.view(-1, 1, 1, 1)
    w = (w - lo) / (hi - lo).clamp(min=1e-12)
    if w.shape[1] == 1:
        return w[:, 0]
    if w.shape[1] == 3:
        return w.permute(0, 2, 3, 1)
    raise ValueError(f"can show filters with 1 or 3 input channels, not {w.shape[1]}.")


def forward_flops(model: nn.Module, x: torch.Tensor) -> int:
    """Floating-point operations of one forward pass (multiply and add counted separately)."""
    from torch.utils.flop_counter import FlopCounterMode

    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    return int(counter.get_total_flops())


def seconds_per_image(model: nn.Module, x: torch.Tensor, repeats: int = 3) -> float:
    """Median wall-clock seconds of a forward pass on batch ``x``, divided by the batch size."""
    model.eval()
    times = []
    with torch.no_grad():
        model(x)  # warm-up
        for _ in range(repeats):
            start = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2] / len(x)
