"""Look inside a network: what its layers output, first-layer filters, and the cost of a forward pass.

>>> from course_lib.pretrain import SmallCNN
>>> maps = feature_maps(SmallCNN(), torch.rand(1, 1, 8, 8), ["conv1", "conv2"])
>>> {k: tuple(v.shape) for k, v in maps.items()}
{'conv1': (1, 16, 8, 8), 'conv2': (1, 32, 4, 4)}
"""
from __future__ import annotations

import contextlib
import time
from typing import Callable, Iterator

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .errors import LayerNotFoundError
from .models import evaluating


@contextlib.contextmanager
def capture_outputs(model: nn.Module, layer_names: list[str],
                    transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
                    ) -> Iterator[dict[str, list[torch.Tensor]]]:
    """Record what the named sub-modules output during the forward passes inside the block.

    Yields ``{name: [output of each pass]}`` (detached, optionally passed through
    ``transform``); the forward hooks are removed when the block ends, even on an error.
    This is the course's one forward-hook helper.

    >>> model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    >>> with capture_outputs(model, ["0", "2"]) as outputs:
    ...     _ = model(torch.rand(5, 3)); _ = model(torch.rand(1, 3))
    >>> [tuple(o.shape) for o in outputs["0"]], len(model[0]._forward_hooks)
    ([(5, 4), (1, 4)], 0)
    """
    modules = dict(model.named_modules())
    missing = [n for n in layer_names if n not in modules]
    if missing:
        raise LayerNotFoundError(
            f"No layer named {', '.join(map(repr, missing))} in {type(model).__name__}. Layer names "
            f"are the ones model.named_modules() lists, e.g. {[n for n in modules if n][:6]}.")
    captured: dict[str, list[torch.Tensor]] = {n: [] for n in layer_names}

    def hook(name: str):
        def record(module, inputs, output):
            output = output.detach()
            captured[name].append(transform(output) if transform is not None else output)
        return record

    handles = [modules[n].register_forward_hook(hook(n)) for n in layer_names]
    try:
        yield captured
    finally:
        for handle in handles:
            handle.remove()


def feature_maps(model: nn.Module, x: torch.Tensor, layer_names: list[str]) -> dict[str, torch.Tensor]:
    """Outputs of the named sub-modules for input ``x`` (eval mode, no gradients; mode restored)."""
    with capture_outputs(model, layer_names) as captured, evaluating(model):
        model(x)
    return {n: captured[n][-1] for n in layer_names}


def filters_as_images(weight: torch.Tensor) -> torch.Tensor:
    """Conv weights (out, in, h, w) scaled to [0, 1] per filter, for display.

    One input channel gives grey images (out, h, w); three give RGB images (out, h, w, 3).

    >>> tuple(filters_as_images(torch.randn(8, 3, 5, 5)).shape)
    (8, 5, 5, 3)
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
    """Floating-point operations of one forward pass (multiply and add counted separately).

    >>> forward_flops(nn.Linear(10, 20), torch.rand(4, 10))    # 2 × 4 × 10 × 20
    1600
    """
    with evaluating(model), FlopCounterMode(display=False) as counter:
        model(x)
    return int(counter.get_total_flops())


def seconds_per_image(model: nn.Module, x: torch.Tensor, repeats: int = 3) -> float:
    """Median wall-clock seconds of a forward pass on batch ``x``, divided by the batch size.

    >>> seconds_per_image(nn.Linear(10, 20), torch.rand(4, 10)) > 0
    True
    """
    times = []
    with evaluating(model):
        model(x)  # warm-up
        for _ in range(repeats):
            start = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2] / len(x)
