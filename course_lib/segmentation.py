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

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .evaluation import batched_forward

TEXTURES = ("brick", "grass", "gravel")


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

def _through_block(model: nn.Module, x: torch.Tensor, block: int) -> torch.Tensor:
    x = model._swish(model._bn0(model._conv_stem(x)))
    for b in model._blocks[:block + 1]:
        x = b(x, drop_connect_rate=None)
    return x


def lite0_feature_maps(model: nn.Module, images, block: int = 7, batch_size: int = 32) -> torch.Tensor:
    """Run EfficientNet-Lite0's stem and blocks ``0..block`` on grey ``images`` (N, H, W) in [0, 1];
    return the feature maps after ``block``: (N, channels, H / stride, W / stride).

    The images go through the course's one preprocessing (:class:`course_lib.models.ImagePreprocess`
    at their own size: grey to RGB, Lite0's normalisation). The rest of the network (later blocks,
    head convolution, classifier) is never run.

    >>> from course_lib.models import load_backbone
    >>> m = load_backbone("efficientnet_lite0").model
    >>> tuple(lite0_feature_maps(m, np.zeros((1, 64, 64)), block=4).shape)
    (1, 40, 8, 8)
    """
    from .models import image_preprocess

    n_blocks = len(model._blocks)
    if not 0 <= block < n_blocks:
        raise ValueError(f"block must be between 0 and {n_blocks - 1} (EfficientNet-Lite0 has "
                         f"{n_blocks} blocks), got {block}.")
    x = torch.as_tensor(np.asarray(images, np.float32))
    if x.ndim != 3 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"images must be square grey images shaped (N, H, W), got {tuple(x.shape)}.")
    x = image_preprocess("efficientnet_lite0", x.shape[-1])(x[:, None])
    return batched_forward(model, x, batch_size=batch_size, call=lambda m, b: _through_block(m, b, block))


def texture_statistics(images, patch: int = 16) -> torch.Tensor:
    """The texture-statistics baseline's input: four numbers per ``patch``×``patch`` patch — the mean
    brightness, its variance, and the mean absolute difference between horizontal and between
    vertical neighbours (how rough the texture is, across and down): (N, 4, H / patch, W / patch).

    >>> stripes = np.tile([0.0, 1.0], (1, 32, 16))          # vertical stripes one pixel wide
    >>> texture_statistics(stripes, patch=16)[0, :, 0, 0].tolist()
    [0.5, 0.25, 1.0, 0.0]
    """
    x = torch.as_tensor(np.asarray(images, np.float32))[:, None]
    if x.shape[-1] % patch or x.shape[-2] % patch:
        raise ValueError(f"image size {tuple(x.shape[-2:])} must be a multiple of patch={patch}.")
    dx = F.pad((x[..., :, 1:] - x[..., :, :-1]).abs(), (0, 1, 0, 0), mode="replicate")
    dy = F.pad((x[..., 1:, :] - x[..., :-1, :]).abs(), (0, 0, 0, 1), mode="replicate")
    mean = F.avg_pool2d(x, patch)
    variance = F.avg_pool2d(x ** 2, patch) - mean ** 2
    return torch.cat([mean, variance, F.avg_pool2d(dx, patch), F.avg_pool2d(dy, patch)], 1)


# --------------------------------------------------------------------------- the new head

class PixelHead(nn.Module):
    """The new last layer: a 1×1 convolution (one linear classifier shared by every position of
    the feature map) on standardised features, its scores upsampled bilinearly to ``out_size``.

    >>> head = PixelHead(40, 3, out_size=64)
    >>> tuple(head(torch.zeros(2, 40, 8, 8)).shape)
    (2, 3, 64, 64)
    """

    def __init__(self, in_channels: int, n_classes: int, out_size: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(in_channels))
        self.register_buffer("scale", torch.ones(in_channels))
        self.conv = nn.Conv2d(in_channels, n_classes, kernel_size=1)
        self.out_size = int(out_size)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        z = (features - self.mean.view(1, -1, 1, 1)) / self.scale.view(1, -1, 1, 1)
        scores = self.conv(z)
        return F.interpolate(scores, size=(self.out_size, self.out_size), mode="bilinear", align_corners=False)


def pixel_rows(features: torch.Tensor, masks, every: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """One row per sampled pixel: the feature map upsampled bilinearly to the mask's size, read at
    every ``every``-th pixel of each row and column, and that pixel's class.

    Bilinear upsampling commutes with a 1×1 convolution (both are linear, the weights of an
    upsampled pixel sum to 1), so a logistic regression on these rows *is* a :class:`PixelHead`.

    >>> X, y = pixel_rows(torch.zeros(2, 5, 4, 4), np.zeros((2, 16, 16), np.int64), every=4)
    >>> tuple(X.shape), tuple(y.shape)
    ((32, 5), (32,))
    """
    masks = torch.as_tensor(np.asarray(masks), dtype=torch.long)
    if len(features) != len(masks):
        raise ValueError(f"{len(features)} feature maps but {len(masks)} masks: one mask per image.")
    size = masks.shape[-1]
    if size % every:
        raise ValueError(f"every={every} must divide the mask size {size}.")
    start = every // 2
    rows = [F.interpolate(f[None], size=(size, size), mode="bilinear", align_corners=False)
            [0, :, start::every, start::every] for f in features]          # one image at a time: less memory
    X = torch.stack(rows).permute(0, 2, 3, 1).reshape(-1, features.shape[1])
    return X, masks[:, start::every, start::every].reshape(-1)


def head_from_convex(fit, in_channels: int, out_size: int) -> PixelHead:
    """The :class:`PixelHead` a converged logistic regression (:func:`course_lib.loop.fit_convex`
    with ``scale="standard"`` on :func:`pixel_rows`) amounts to: its scaler's mean and scale, its
    weights as the 1×1 convolution."""
    scaler, logistic = fit.classifier[0], fit.classifier[-1]
    coef = torch.as_tensor(logistic.coef_, dtype=torch.float32)
    bias = torch.as_tensor(logistic.intercept_, dtype=torch.float32)
    if coef.shape[0] == 1:                       # two classes: scikit-learn keeps one row
        coef, bias = torch.cat([-coef / 2, coef / 2]), torch.cat([-bias / 2, bias / 2])
    head = PixelHead(in_channels, coef.shape[0], out_size)
    head.mean.copy_(torch.as_tensor(scaler.mean_, dtype=torch.float32))
    head.scale.copy_(torch.as_tensor(scaler.scale_, dtype=torch.float32))
    with torch.no_grad():
        head.conv.weight.copy_(coef[:, :, None, None])
        head.conv.bias.copy_(bias)
    return head


def fit_pixel_head(train_features: torch.Tensor, train_masks, val_features: torch.Tensor, val_masks,
                   budget, every: int = 8) -> tuple[PixelHead, Any]:
    """A new :class:`PixelHead` solved to convergence: logistic regression on the standardised
    :func:`pixel_rows` of the training maps (:func:`course_lib.loop.fit_convex`), its strength
    picked on the validation maps' pixels from ``budget.c_grid``. Returns the head and the fit.

    >>> from course_lib.loop import Budget
    >>> images = np.zeros((4, 32, 32), np.float32); images[..., 16:] = 1.0
    >>> masks = (images > 0.5).astype(np.int64); f = texture_statistics(images, patch=8)
    >>> head, fit = fit_pixel_head(f, masks, f, masks, Budget(1, (1e-3, 1e-2, 1e-1), scale=1), every=4)
    >>> fit.converged, mean_iou(predict(head, f), masks, 2) > 0.9
    (True, True)
    """
    from .loop import fit_convex

    X, y = pixel_rows(train_features, train_masks, every)
    Xv, yv = pixel_rows(val_features, val_masks, every)
    fit = fit_convex(X, y, Xv, yv, budget, scale="standard")
    return head_from_convex(fit, train_features.shape[1], np.asarray(train_masks).shape[-1]), fit


def predict(head: nn.Module, features: torch.Tensor) -> np.ndarray:
    """The class with the highest score at every pixel: (N, H, W) integers."""
    return batched_forward(head, features, batch_size=32).argmax(1).numpy()


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
