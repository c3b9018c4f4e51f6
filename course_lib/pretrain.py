"""The course's own pretraining: a small CNN learned on handwritten digits 0–4.

It plays the role of ImageNet pretraining at a scale a laptop CPU handles in seconds:
notebook 04 pretrains it, notebooks 06–08 transfer it to digits 5–9.

>>> model = SmallCNN(num_classes=5)
>>> [name for name, _ in model.layer_groups()]
['conv1', 'conv2', 'conv3', 'fc']
"""
from __future__ import annotations

from pathlib import Path

import torch
from safetensors import safe_open
from torch import nn

from .checkpoints import load_weights, save_tensors_atomically
from .data import load_digits, make_loader, stratified_split
from .paths import output_dir
from .repro import seed_everything
from .training import fit

SOURCE_DIGITS = (0, 1, 2, 3, 4)
CHECKPOINT_NAME = "digits04_cnn.safetensors"
# Float sums depend on how they are split across threads, so pretraining runs on one thread:
# the same weights on every machine, whatever its core count (and about as fast, at this size).
PRETRAIN_THREADS = 1


def _conv(c_in: int, c_out: int, pool: bool) -> nn.Sequential:
    layers = [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class SmallCNN(nn.Module):
    """Three conv blocks (with BatchNorm) and a linear head ``fc``, for 8×8 grey digits.

    Input ``(N, 1, 8, 8)``; ``features(x)`` gives the 64 pooled features the head sees.
    """

    def __init__(self, num_classes: int = 5, width: int = 16):
        super().__init__()
        self.conv1 = _conv(1, width, pool=False)
        self.conv2 = _conv(width, 2 * width, pool=True)
        self.conv3 = _conv(2 * width, 4 * width, pool=False)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.num_features = 4 * width
        self.fc = nn.Linear(self.num_features, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.conv3(self.conv2(self.conv1(x)))).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))

    def layer_groups(self) -> list[tuple[str, nn.Module]]:
        return [("conv1", self.conv1), ("conv2", self.conv2), ("conv3", self.conv3), ("fc", self.fc)]


def pretrain_digits_cnn(digits=SOURCE_DIGITS, epochs: int = 15, seed: int = 0, lr: float = 3e-3,
                        progress: bool = False):
    """Pretrain a :class:`SmallCNN` on the source digits; return ``(model, history)``.

    Uses a stratified 80/20 split for validation and keeps the best epoch's weights.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(PRETRAIN_THREADS)
    try:
        seed_everything(seed)
        data = load_digits(digits)
        train_idx, val_idx = stratified_split(data.labels, test_size=0.2, seed=seed)
        model = SmallCNN(num_classes=len(data.classes))
        history = fit(model, make_loader(data.subset(train_idx), 64, shuffle=True, seed=seed),
                      make_loader(data.subset(val_idx), 256), epochs=epochs, lr=lr,
                      progress=progress, desc="pretraining")
    finally:
        torch.set_num_threads(threads)
    return model, history


def checkpoint_path() -> Path:
    """Where the pretrained digits CNN is saved (``outputs/checkpoints/``).

    >>> checkpoint_path().parent.name, checkpoint_path().name
    ('checkpoints', 'digits04_cnn.safetensors')
    """
    return output_dir("checkpoints") / CHECKPOINT_NAME


def recipe_fingerprint(seed: int = 0) -> str:
    """A hash of everything the pretrained weights depend on: the seed, the library versions
    and the source of the code that trains them. A saved checkpoint is reused only if it
    carries the same fingerprint, so a file left in ``outputs/`` by older code, another
    version of torch or a hand-made run is never mistaken for this recipe's result.
    """
    import hashlib
    import inspect

    import numpy
    import sklearn

    from . import data, models, repro, training

    h = hashlib.sha256(f"{seed}|{PRETRAIN_THREADS}|{torch.__version__}|{numpy.__version__}|"
                       f"{sklearn.__version__}".encode())
    for module in (data, models, repro, training, inspect.getmodule(SmallCNN)):
        h.update(inspect.getsource(module).encode())
    return h.hexdigest()[:16]


def load_or_pretrain_digits_cnn(seed: int = 0) -> SmallCNN:
    """The digits-0–4 CNN from notebook 04: loaded if saved by this recipe, else pretrained now
    and saved (with its :func:`recipe_fingerprint` in the file's metadata).

    So notebooks that build on it run even when notebook 04 has not been run first, and get
    the same weights whichever notebook (or test) ran first.
    """
    path = checkpoint_path()
    fingerprint = recipe_fingerprint(seed)
    model = SmallCNN(num_classes=len(SOURCE_DIGITS))
    stored = None
    if path.is_file():
        try:
            with safe_open(str(path), framework="pt") as f:
                stored = (f.metadata() or {}).get("recipe")
        except Exception:  # noqa: BLE001 - an unreadable file is replaced, like a stale one
            stored = None
    if stored == fingerprint:
        load_weights(model, path)
    else:
        model, _ = pretrain_digits_cnn(seed=seed)
        state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
        save_tensors_atomically(state, path, metadata={"recipe": fingerprint})
    return model.eval()
