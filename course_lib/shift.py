"""Shifted test sets: the same test images, rotated, blurred or elastically distorted.

A model that *generalises* keeps its accuracy when the test images differ from the training
images in ways that do not change their labels. These functions make such shifts from a batch of
grey images ``(N, 1, H, W)`` with values in [0, 1] (background 0), reproducibly (seeded). They
are synthetic: they test robustness to one named change of the same images, not to a new
population (another writer, another scanner).

>>> x = torch.zeros(2, 1, 8, 8); x[:, :, 2:6, 3:5] = 1.0
>>> [tuple(f(x).shape) for f in (rotate, blur, elastic)]
[(2, 1, 8, 8), (2, 1, 8, 8), (2, 1, 8, 8)]
>>> torch.equal(rotate(x, degrees=0.0), x), torch.equal(elastic(x, pixels=0.0), x)
(True, True)
"""
from __future__ import annotations

import math

import torch
from torch import nn


def _check(images: torch.Tensor) -> torch.Tensor:
    x = torch.as_tensor(images, dtype=torch.float32)
    if x.ndim != 4:
        raise ValueError(f"images must be a batch shaped (N, C, H, W), got shape {tuple(x.shape)}. "
                         "Add the missing dimension, e.g. images[:, None] for (N, H, W).")
    return x


def _sample(x: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    return nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def rotate(images: torch.Tensor, degrees: float = 15.0, seed: int = 0) -> torch.Tensor:
    """Each image turned about its centre by ``degrees``, clockwise or anticlockwise at random
    (seeded); corners that come from outside the image are background (0).

    >>> x = torch.zeros(1, 1, 8, 8); x[0, 0, 1:7, 4] = 1          # a vertical bar
    >>> bool((rotate(x, 90.0)[0, 0].sum(0) > 0).sum() > 4)       # now spread across columns
    True
    """
    x = _check(images)
    if degrees == 0:
        return x.clone()
    g = torch.Generator().manual_seed(int(seed))
    sign = torch.randint(0, 2, (len(x),), generator=g).float() * 2 - 1
    angle = sign * math.radians(float(degrees))
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.zeros(len(x), 2, 3)
    theta[:, 0, 0], theta[:, 0, 1], theta[:, 1, 0], theta[:, 1, 1] = cos, -sin, sin, cos
    grid = nn.functional.affine_grid(theta, list(x.shape), align_corners=False)
    return _sample(x, grid)


def blur(images: torch.Tensor, sigma: float = 1.0) -> torch.Tensor:
    """A Gaussian blur of standard deviation ``sigma`` pixels (a defocused scan).

    >>> x = torch.zeros(1, 1, 8, 8); x[0, 0, 4, 4] = 1
    >>> y = blur(x, 1.0); round(float(y[0, 0, 4, 4]), 3) < 1, round(float(y.sum()), 2)
    (True, 1.0)
    """
    x = _check(images)
    if sigma <= 0:
        raise ValueError(f"sigma must be positive (pixels), got {sigma}.")
    radius = max(1, int(math.ceil(3 * sigma)))
    t = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-t ** 2 / (2 * sigma ** 2))
    kernel = kernel / kernel.sum()
    c = x.shape[1]
    rows = kernel.view(1, 1, -1, 1).repeat(c, 1, 1, 1)
    cols = kernel.view(1, 1, 1, -1).repeat(c, 1, 1, 1)
    out = nn.functional.conv2d(nn.functional.pad(x, (0, 0, radius, radius)), rows, groups=c)
    return nn.functional.conv2d(nn.functional.pad(out, (radius, radius, 0, 0)), cols, groups=c)


def elastic(images: torch.Tensor, pixels: float = 1.0, seed: int = 0, coarse: int = 3) -> torch.Tensor:
    """An elastic distortion (Simard et al., 2003): every image is warped by its own smooth
    random displacement field, about ``pixels`` pixels in size (root mean square per axis).

    The field is drawn on a ``coarse`` × ``coarse`` grid and interpolated smoothly to the
    image, so neighbouring pixels move together: strokes bend, they do not scatter.

    >>> x = torch.rand(3, 1, 8, 8)
    >>> torch.equal(elastic(x, 1.0, seed=1), elastic(x, 1.0, seed=1)), torch.equal(elastic(x, 1.0), x)
    (True, False)
    """
    x = _check(images)
    if pixels == 0:
        return x.clone()
    n, _, h, w = x.shape
    g = torch.Generator().manual_seed(int(seed))
    field = torch.randn(n, 2, coarse, coarse, generator=g) * float(pixels)
    field = nn.functional.interpolate(field, size=(h, w), mode="bicubic", align_corners=True)
    # displacement in pixels → in grid units ([-1, 1] spans the image)
    scale = torch.tensor([2.0 / w, 2.0 / h]).view(1, 2, 1, 1)
    theta = torch.eye(2, 3).unsqueeze(0).repeat(n, 1, 1)
    identity = nn.functional.affine_grid(theta, list(x.shape), align_corners=False)
    grid = identity + (field * scale).permute(0, 2, 3, 1)
    return _sample(x, grid)


SHIFTS = {"rotated ±15°": lambda x, seed: rotate(x, 15.0, seed),
          "blurred (σ = 0.5 px)": lambda x, seed: blur(x, 0.5),
          "elastic (0.5 px)": lambda x, seed: elastic(x, 0.5, seed)}
"""The shifts notebook 08 tests, name → ``f(images, seed)``: each changes the test digits in a way
that keeps their labels, mildly enough that a model trained on unshifted digits still gets most
of them right."""
