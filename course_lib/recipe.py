"""The own-photos recipe's compute: features on the best device, and the last block fine-tuned.

- :func:`photo_features` runs photos through a frozen network once (GPU if there is one) and
  returns CPU features, which is all a new head needs.
- "Beyond the frozen head": :func:`split_last_blocks` cuts EfficientNet-Lite0 into a frozen
  ``front`` and a trainable ``tail`` (its last MBConv block(s), the 1×1 head convolution and the
  pooling). Augmented views of each training photo (flip, random resized crop) go through the
  frozen front *once* (:func:`front_activations`); training the tail then costs a fraction of a
  full forward pass per step. :func:`train_steps` is the one loop both arms of the comparison
  use, with the same number of optimizer steps, so the budget is equal by construction.

>>> import torch
>>> from torch import nn
>>> x = torch.randn(40, 3); y = (x[:, 0] > 0).long()
>>> head, info = train_steps(nn.Linear(3, 2), x[:30], y[:30], (x[30:], y[30:]), steps=60, lr=0.1, seed=0)
>>> info["steps"], info["val_acc"] >= 0.7
(60, True)
"""
from __future__ import annotations

import contextlib
import copy

import torch
from torch import nn

from .devices import pick_device, to_device
from .models import evaluating


@contextlib.contextmanager
def one_thread_on_cpu(device: torch.device):
    """Use one CPU thread inside the block (restored after).

    Small layers (a head, one block on 7×7 maps) run faster on one thread: splitting each tiny
    operation over several threads costs more in synchronisation than it saves, badly so on a
    busy machine. Big forward passes keep every thread.
    """
    if torch.device(device).type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _batches(n: int, batch_size: int):
    for start in range(0, n, batch_size):
        yield slice(start, min(n, start + batch_size))


def batch_for(image_size: int, pixels_of: int = 8 * 224 * 224, most: int = 64) -> int:
    """Photos per batch holding about as many pixels as 8 photos at 224 px (at most ``most``).

    Activation memory grows with the pixels in a batch, so this keeps it constant.

    >>> batch_for(224), batch_for(112), batch_for(64), batch_for(448)
    (8, 32, 64, 2)
    """
    return max(1, min(most, pixels_of // (image_size * image_size)))


def photo_features(model: nn.Module, photos, *, device: str | torch.device | None = None,
                   batch_size: int | None = None,
                   progress: bool | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Features of every photo in ``photos`` (a :class:`~course_lib.photos.PhotoSet`), on CPU.

    The model and each batch move to :func:`~course_lib.devices.pick_device` (CUDA → MPS → CPU,
    ``COURSE_DEVICE`` overrides); evaluation mode and no gradients inside, the model's mode and
    device restored after. A progress bar shows for ≥ 100 photos. Small batches keep the peak
    memory low (at 224 px, 8 photos per batch peak near 0.2 GB above the model, 32 near 0.6 GB).
    By default the batch holds as many pixels as 8 photos at 224 px (:func:`batch_for`), so
    the memory stays the same at any size and small photos go through in fewer, larger steps.
    """
    from .photos import _progress

    device = pick_device(device)
    if batch_size is None:
        batch_size = batch_for(photos.preprocess.image_size)
    first = next(model.parameters(), None)
    home = first.device if first is not None else torch.device("cpu")
    model.to(device)
    feats = []
    try:
        with evaluating(model):
            batches = list(_batches(len(photos), batch_size))
            show = progress if progress is not None else len(photos) >= 100
            for part in _progress(batches, show, "features", unit="batch"):
                x = photos.preprocess.normalise(to_device(photos.images[part], device))
                feats.append(model(x).flatten(1).float().cpu())
    finally:
        model.to(home)
    out = torch.cat(feats) if feats else torch.zeros(0, 0)
    return out, photos.labels.clone()


# --------------------------------------------------------------------------- beyond the frozen head

class _Front(nn.Module):
    """EfficientNet stem and its first blocks (frozen)."""

    def __init__(self, model: nn.Module, n_front: int):
        super().__init__()
        self.stem = nn.Sequential(model._conv_stem, model._bn0, model._swish)
        self.blocks = nn.ModuleList(model._blocks[:n_front])
        self.rate, self.total = model._global_params.drop_connect_rate, len(model._blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for i, block in enumerate(self.blocks):
            x = block(x, drop_connect_rate=self.rate * i / self.total if self.rate else None)
        return x


class _Tail(nn.Module):
    """EfficientNet's last blocks, head convolution and average pooling: pooled features."""

    def __init__(self, model: nn.Module, n_front: int):
        super().__init__()
        self.blocks = nn.ModuleList(model._blocks[n_front:])
        self.conv_head, self.bn1, self.act = model._conv_head, model._bn1, model._swish
        self.offset, self.rate, self.total = n_front, model._global_params.drop_connect_rate, len(model._blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for j, block in enumerate(self.blocks):
            i = self.offset + j
            x = block(x, drop_connect_rate=self.rate * i / self.total if self.rate else None)
        return self.act(self.bn1(self.conv_head(x))).mean((2, 3))


def split_last_blocks(model: nn.Module, n_blocks: int = 1) -> tuple[nn.Module, nn.Module]:
    """Cut an EfficientNet-Lite into ``(front, tail)``: ``tail(front(x))`` are its pooled features.

    The two share the model's layers (no copy). Only EfficientNet-style models (``_blocks``,
    ``_conv_head``) are supported.

    >>> from course_lib.models import load_backbone
    >>> front, tail = split_last_blocks(load_backbone("efficientnet_lite0").model, 1)
    >>> len(front.blocks), len(tail.blocks)
    (15, 1)
    """
    if not (hasattr(model, "_blocks") and hasattr(model, "_conv_head")):
        raise ValueError(f"split_last_blocks works on EfficientNet-Lite (load_backbone('efficientnet_lite0')); "
                         f"got {type(model).__name__}. For other models use models.freeze_all_but_last.")
    if not 1 <= n_blocks <= len(model._blocks):
        raise ValueError(f"n_blocks must be between 1 and {len(model._blocks)}, got {n_blocks}.")
    n_front = len(model._blocks) - n_blocks
    return _Front(model, n_front), _Tail(model, n_front)


def augment(images: torch.Tensor, size: int, seed: int, *, scale: tuple[float, float] = (0.5, 1.0)) -> torch.Tensor:
    """One augmented view of each ``uint8`` image: random resized crop to ``size`` and random flip.

    >>> augment(torch.zeros(2, 3, 40, 40, dtype=torch.uint8), 32, seed=0).shape
    torch.Size([2, 3, 32, 32])
    """
    from torchvision.transforms import v2

    crop = v2.Compose([v2.RandomResizedCrop(size, scale=scale, antialias=True), v2.RandomHorizontalFlip()])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return torch.stack([crop(im) for im in images])


def front_activations(front: nn.Module, photos, *, views: int = 0, seed: int = 0,
                      device: str | torch.device | None = None, batch_size: int = 32) -> torch.Tensor:
    """The frozen front's output for ``photos`` (``views=0``) or for ``views`` augmented copies.

    Returns a CPU tensor ``(N, C, h, w)``, or ``(views, N, C, h, w)`` for augmented views.
    """
    device = pick_device(device)
    size = photos.preprocess.image_size
    front.to(device)
    out = []
    try:
        with evaluating(front):
            for v in range(max(1, views)):
                images = photos.images if views == 0 else augment(photos.images, size, seed * 1000 + v)
                acts = [front(photos.preprocess.normalise(to_device(images[part], device))).cpu()
                        for part in _batches(len(images), batch_size)]
                out.append(torch.cat(acts))
    finally:
        front.to("cpu")
    return out[0] if views == 0 else torch.stack(out)


def train_steps(module: nn.Module, x: torch.Tensor, y: torch.Tensor,
                val: tuple[torch.Tensor, torch.Tensor] | None, *, steps: int, lr: float, seed: int = 0,
                batch_size: int = 32, eval_every: int = 10, weight_decay: float = 1e-4,
                views: bool = False, device: str | torch.device | None = None) -> tuple[nn.Module, dict]:
    """Train ``module`` (all its trainable parameters) for exactly ``steps`` Adam steps on ``(x, y)``.

    Batches are drawn with a seeded generator; every ``eval_every`` steps (and at the end) the
    validation accuracy is measured and the best weights are kept. With ``views=True``, ``x`` is
    ``(views, N, ...)`` and each step picks a random view of each photo in the batch
    (augmentation). Returns ``(module on CPU in eval mode, {"steps", "val_acc", "best_step"})``.
    """
    device = pick_device(device)
    module.to(device)
    gen = torch.Generator().manual_seed(seed)
    n = x.shape[1] if views else x.shape[0]
    if n != len(y):
        raise ValueError(f"{n} inputs but {len(y)} labels" + (" (x is (views, N, ...))" if views else "") + ".")
    params = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    best, best_state, best_step = -1.0, None, 0

    def score() -> float:
        if val is None:
            return 0.0
        with evaluating(module):
            logits = torch.cat([module(to_device(val[0][p], device)).cpu()
                                for p in _batches(len(val[1]), 256)])
        return float((logits.argmax(1) == val[1]).float().mean())

    with one_thread_on_cpu(device):
        for step in range(1, steps + 1):
            module.train()
            idx = torch.randint(0, n, (min(batch_size, n),), generator=gen)
            if views:
                xb = x[torch.randint(0, x.shape[0], (len(idx),), generator=gen), idx]
            else:
                xb = x[idx]
            optimizer.zero_grad()
            loss = loss_fn(module(to_device(xb, device)), to_device(y[idx], device))
            loss.backward()
            optimizer.step()
            if step % eval_every == 0 or step == steps:
                acc = score()
                if acc > best:
                    best, best_step = acc, step
                    best_state = copy.deepcopy(module.state_dict())
    if best_state is not None:
        module.load_state_dict(best_state)
    module.to("cpu").eval()
    return module, {"steps": steps, "val_acc": best, "best_step": best_step}


def accuracy_of(module: nn.Module, x: torch.Tensor, y: torch.Tensor,
                device: str | torch.device | None = None) -> float:
    """Accuracy of ``module`` on ``(x, y)`` (eval mode, no gradients, on the picked device)."""
    device = pick_device(device)
    module.to(device)
    with evaluating(module):
        logits = torch.cat([module(to_device(x[p], device)).cpu() for p in _batches(len(y), 256)])
    module.to("cpu")
    return float((logits.argmax(1) == y).float().mean())


def tail_and_head(tail: nn.Module, num_classes: int, n_features: int = 1280, seed: int = 0,
                  trainable: bool = True) -> nn.Module:
    """A fresh copy of ``tail`` followed by a new linear head (tail frozen if not ``trainable``)."""
    torch.manual_seed(seed)
    tail = copy.deepcopy(tail)
    for p in tail.parameters():
        p.requires_grad_(trainable)
    return nn.Sequential(tail, nn.Linear(n_features, num_classes))


def frozen_vs_last_block(pool, test, *, seeds, budget, views: int = 1, val_fraction: float = 0.25,
                         lr_head: float = 1e-2, lr_block: float = 1e-3, n_blocks: int = 1,
                         backbone: str = "efficientnet_lite0", device: str | torch.device | None = None,
                         progress: bool = False):
    """Paired comparison: the last block + head trained on augmented views vs the frozen head.

    ``pool`` (train + validation photos) is split afresh for every seed (stratified,
    ``val_fraction`` for validation); both arms get that seed's split, the same ``budget``
    (:class:`~course_lib.compare.Budget`: optimizer steps, one fixed learning rate per arm), the
    same loop (:func:`train_steps`, best validation step kept), and are scored on ``test``.
    The last-block arm trains on each photo as it is plus ``views`` augmented copies (random
    resized crop + flip), all passed through the frozen front once, before any training.
    ``progress=True`` shows a bar over the seeds. Returns ``(results, comparison)`` from
    :func:`~course_lib.compare.run_paired`.
    """
    from . import compare
    from .data import stratified_split
    from .models import freeze, load_backbone, remove_head

    if budget.lr_grid:
        raise ValueError("This comparison uses one fixed learning rate per arm: give a Budget without lr_grid.")
    model = freeze(remove_head(load_backbone(backbone).model))
    front, tail = split_last_blocks(model, n_blocks)
    plain = front_activations(front, pool, device=device)
    test_acts = front_activations(front, test, device=device)
    augmented = torch.cat([plain[None], front_activations(front, pool, views=views, seed=0, device=device)])
    with evaluating(tail), one_thread_on_cpu(torch.device("cpu")):
        pooled, test_pooled = tail(plain), tail(test_acts)
    y, n_classes = pool.labels, pool.num_classes

    def frozen_head(seed: int, budget) -> "compare.RunResult":
        fit, val = stratified_split(y, test_size=val_fraction, seed=seed)
        torch.manual_seed(seed)
        head, _ = train_steps(nn.Linear(pooled.shape[1], n_classes), pooled[fit], y[fit],
                              (pooled[val], y[val]), steps=budget.steps, lr=lr_head, seed=seed, device=device)
        return compare.RunResult(accuracy_of(head, test_pooled, test.labels, device), budget.steps, (), lr_head)

    def last_block(seed: int, budget) -> "compare.RunResult":
        fit, val = stratified_split(y, test_size=val_fraction, seed=seed)
        net, _ = train_steps(tail_and_head(tail, n_classes, pooled.shape[1], seed=seed), augmented[:, fit],
                             y[fit], (plain[val], y[val]), steps=budget.steps, lr=lr_block, seed=seed,
                             views=True, device=device)
        return compare.RunResult(accuracy_of(net, test_acts, test.labels, device), budget.steps, (), lr_block)

    name = f"last block{'s' if n_blocks > 1 else ''} + augmentation"
    results = compare.run_paired({name: last_block, "frozen head": frozen_head}, seeds, budget,
                                 progress=progress)
    return results, compare.compare_results(results, name, "frozen head")
