"""Semantic segmentation by transfer: texture mosaics, frozen feature maps, a per-pixel head.

The task (notebook 11): every pixel of a mosaic belongs to one of three textures photographed
for scikit-image (brick, grass, gravel); predict the texture of every pixel. The recipe is the
article's: keep the pretrained body (EfficientNet-Lite0 up to an intermediate block, frozen),
replace the last layer by a new one, here a 1×1 convolution that gives one score per class at
every position of the feature map, upsampled to the input's size.

Training and test mosaics are cut from disjoint halves of each photo (top half for training,
bottom half for test), so a test pixel was never seen during training.

>>> images, masks = make_mosaics(2, size=64, part="train", seed=0)
>>> images.shape, masks.shape, sorted(set(masks.ravel().tolist())) <= [0, 1, 2]
((2, 64, 64), (2, 64, 64), True)
>>> round(mean_iou(masks, masks, 3), 3)
1.0
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .models import NORMALISATION, evaluating

TEXTURES = ("brick", "grass", "gravel")
# EfficientNet-Lite0's 16 MBConv blocks: the stride of each block's output (input 224 → 224/stride).
LITE0_BLOCK_STRIDES = (2, 4, 4, 8, 8, 16, 16, 16, 16, 16, 16, 32, 32, 32, 32, 32)
LITE0_BLOCK_CHANNELS = (16, 24, 24, 40, 40, 80, 80, 80, 112, 112, 112, 192, 192, 192, 192, 320)


def texture_photos() -> dict[str, np.ndarray]:
    """The three 512×512 greyscale texture photos shipped with scikit-image, as floats in [0, 1].

    >>> {k: v.shape for k, v in texture_photos().items()}
    {'brick': (512, 512), 'grass': (512, 512), 'gravel': (512, 512)}
    """
    from skimage import data

    return {name: getattr(data, name)().astype(np.float32) / 255.0 for name in TEXTURES}


def _part(photo: np.ndarray, part: str) -> np.ndarray:
    half = photo.shape[0] // 2
    if part == "train":
        return photo[:half]
    if part == "test":
        return photo[half:]
    raise ValueError(f"part must be 'train' or 'test' (the top or bottom half of each photo), got {part!r}.")


def random_layout(size: int, n_regions: int, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """A (size, size) label map: a Voronoi partition of ``n_regions`` random centres, each given a
    random class, with every class present when ``n_regions >= n_classes``.

    >>> m = random_layout(32, 4, 3, np.random.default_rng(0))
    >>> m.shape, sorted(np.unique(m).tolist())
    ((32, 32), [0, 1, 2])
    """
    centres = rng.uniform(0, size, size=(n_regions, 2))
    classes = rng.permutation(np.resize(np.arange(n_classes), n_regions))
    yy, xx = np.mgrid[0:size, 0:size]
    d = (yy[None] - centres[:, 0, None, None]) ** 2 + (xx[None] - centres[:, 1, None, None]) ** 2
    return classes[d.argmin(0)].astype(np.int64)


def make_mosaics(n: int, size: int = 128, part: str = "train", seed: int = 0,
                 n_regions: tuple[int, int] = (3, 6)) -> tuple[np.ndarray, np.ndarray]:
    """``n`` mosaics of ``size``×``size`` pixels and their masks (class index per pixel).

    Each region is filled with a crop of its texture's photo, taken from the photo's top half
    for ``part="train"`` and its bottom half for ``part="test"``: disjoint pixels.
    """
    if size > 256:
        raise ValueError(f"size must be at most 256 (half a 512-pixel photo), got {size}.")
    if n < 1:
        raise ValueError(f"n must be a positive number of mosaics, got {n}.")
    rng = np.random.default_rng(seed)
    photos = [_part(p, part) for p in texture_photos().values()]
    images = np.empty((n, size, size), np.float32)
    masks = np.empty((n, size, size), np.int64)
    for i in range(n):
        mask = random_layout(size, int(rng.integers(n_regions[0], n_regions[1] + 1)), len(photos), rng)
        image = np.zeros((size, size), np.float32)
        for c, photo in enumerate(photos):
            top = int(rng.integers(0, photo.shape[0] - size + 1))
            left = int(rng.integers(0, photo.shape[1] - size + 1))
            crop = photo[top:top + size, left:left + size]
            image[mask == c] = crop[mask == c]
        images[i], masks[i] = image, mask
    return images, masks


# --------------------------------------------------------------------------- features

def _to_lite0_input(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(images, np.float32))
    if x.ndim == 3:  # (N, H, W) grey
        x = x[:, None]
    x = x.expand(-1, 3, -1, -1)
    mean, std = NORMALISATION["efficientnet_lite0"]
    return (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)


def lite0_feature_maps(model: nn.Module, images, block: int = 10, batch_size: int = 32) -> torch.Tensor:
    """Run EfficientNet-Lite0's stem and blocks ``0..block`` on grey ``images`` (N, H, W) in [0, 1];
    return the feature maps after ``block``: (N, channels, H / stride, W / stride).

    The rest of the network (later blocks, head convolution, classifier) is never run.

    >>> from course_lib.models import load_backbone
    >>> m = load_backbone("efficientnet_lite0").model
    >>> tuple(lite0_feature_maps(m, np.zeros((1, 64, 64)), block=4).shape)
    (1, 40, 8, 8)
    """
    n_blocks = len(model._blocks)
    if not 0 <= block < n_blocks:
        raise ValueError(f"block must be between 0 and {n_blocks - 1} (EfficientNet-Lite0 has "
                         f"{n_blocks} blocks), got {block}.")
    x_all = _to_lite0_input(images)
    outs = []
    with evaluating(model):
        for start in range(0, len(x_all), batch_size):
            x = x_all[start:start + batch_size]
            x = model._swish(model._bn0(model._conv_stem(x)))
            for b in model._blocks[:block + 1]:
                x = b(x, drop_connect_rate=None)
            outs.append(x)
    return torch.cat(outs)


def raw_patch_features(images, stride: int = 8) -> torch.Tensor:
    """The raw-pixel baseline's input: every ``stride``×``stride`` patch of pixels becomes one
    position with ``stride²`` channels (its pixel values, standardised).

    >>> tuple(raw_patch_features(np.zeros((2, 64, 64)), stride=8).shape)
    (2, 64, 8, 8)
    """
    x = torch.as_tensor(np.asarray(images, np.float32))[:, None]
    if x.shape[-1] % stride or x.shape[-2] % stride:
        raise ValueError(f"image size {tuple(x.shape[-2:])} must be a multiple of stride={stride}.")
    return (F.pixel_unshuffle(x, stride) - 0.5) / 0.25


# --------------------------------------------------------------------------- the new head

class PixelHead(nn.Module):
    """The new last layer: a 1×1 convolution (one linear classifier shared by every position of
    the feature map), its scores upsampled bilinearly to the input's ``out_size``.

    >>> head = PixelHead(40, 3, out_size=64)
    >>> tuple(head(torch.zeros(2, 40, 8, 8)).shape)
    (2, 3, 64, 64)
    """

    def __init__(self, in_channels: int, n_classes: int, out_size: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(in_channels, affine=False)
        self.conv = nn.Conv2d(in_channels, n_classes, kernel_size=1)
        self.out_size = int(out_size)

    def forward(self, features: torch.Tensor, out_size: int | None = None) -> torch.Tensor:
        size = int(out_size or self.out_size)
        scores = self.conv(self.norm(features))
        return F.interpolate(scores, size=(size, size), mode="bilinear", align_corners=False)


@dataclass
class HeadFit:
    """A trained :class:`PixelHead` and what training it cost."""

    head: PixelHead
    steps: int
    lr: float
    losses: list[float]


def train_pixel_head(features: torch.Tensor, masks, *, steps: int = 100, lr: float = 0.01,
                     batch_size: int = 8, seed: int = 0, n_classes: int = 3,
                     loss_every: int = 4) -> HeadFit:
    """Train a new :class:`PixelHead` on cached ``features`` (N, C, h, w) against ``masks`` (N, H, W)
    with Adam for exactly ``steps`` optimizer steps (minibatches drawn with ``seed``).

    To save time the loss is computed on every ``loss_every``-th pixel of each row and column
    (the scores upsampled to that grid); prediction is always at full resolution.

    >>> f = torch.randn(4, 5, 4, 4); m = np.zeros((4, 16, 16), np.int64)
    >>> fit = train_pixel_head(f, m, steps=3)
    >>> fit.steps, len(fit.losses)
    (3, 3)
    """
    masks = torch.as_tensor(np.asarray(masks), dtype=torch.long)
    if len(features) != len(masks):
        raise ValueError(f"{len(features)} feature maps but {len(masks)} masks: one mask per image.")
    torch.manual_seed(seed)
    head = PixelHead(features.shape[1], n_classes, masks.shape[-1])
    opt = torch.optim.Adam(head.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    size = masks.shape[-1]
    if size % loss_every:
        raise ValueError(f"loss_every={loss_every} must divide the mask size {size}.")
    offset = loss_every // 2
    target = masks[:, offset::loss_every, offset::loss_every]
    head.train()
    for _ in range(steps):
        idx = torch.randint(0, len(features), (min(batch_size, len(features)),), generator=gen)
        loss = F.cross_entropy(head(features[idx], size // loss_every), target[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    head.eval()
    return HeadFit(head, steps, lr, losses)


def predict_masks(head: nn.Module, features: torch.Tensor, batch_size: int = 32) -> np.ndarray:
    """The class with the highest score at every pixel: (N, H, W) integers."""
    out = []
    with evaluating(head):
        for start in range(0, len(features), batch_size):
            out.append(head(features[start:start + batch_size]).argmax(1))
    return torch.cat(out).numpy()


# --------------------------------------------------------------------------- scores

def iou_per_class(pred, truth, n_classes: int) -> np.ndarray:
    """Intersection over union for each class, over all pixels of all images:
    |pred = c and truth = c| / |pred = c or truth = c| (NaN for a class absent from both).

    >>> iou_per_class(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), 2)
    array([0.5       , 0.66666667])
    """
    pred, truth = np.asarray(pred).ravel(), np.asarray(truth).ravel()
    if pred.shape != truth.shape:
        raise ValueError(f"pred and truth must have the same number of pixels, got {pred.size} and {truth.size}.")
    out = np.full(n_classes, np.nan)
    for c in range(n_classes):
        union = np.sum((pred == c) | (truth == c))
        if union:
            out[c] = np.sum((pred == c) & (truth == c)) / union
    return out


def mean_iou(pred, truth, n_classes: int) -> float:
    """The mean of :func:`iou_per_class` over the classes present (the usual segmentation score).

    >>> mean_iou(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), 2)
    0.5833333333333333
    """
    return float(np.nanmean(iou_per_class(pred, truth, n_classes)))
