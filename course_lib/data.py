"""Datasets the course uses offline, deterministic splits, and a validating image-folder loader.

Everything here returns an :class:`ArrayImageDataset`: images as a float tensor
``(N, C, H, W)`` with values in ``[0, 1]``, integer ``labels`` and ``classes`` names.
A ``transform`` (for example a backbone's preprocessing) is applied per item.

>>> faces = load_faces()
>>> len(faces), faces.classes, tuple(faces.images.shape[1:])
(200, ['non-face', 'face'], (1, 25, 25))
>>> train_idx, test_idx = stratified_split(faces.labels, test_size=0.5, seed=0)
>>> len(train_idx), len(test_idx)
(100, 100)
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import torch
from skimage.data import lfw_subset
from sklearn.datasets import load_digits as _sk_load_digits
from torch.utils.data import DataLoader, Dataset

from .repro import torch_generator

class ArrayImageDataset(Dataset):
    """Images held in memory as one tensor, with labels and class names.

    Parameters
    ----------
    images : float tensor or array, shape (N, C, H, W), values in [0, 1]
    labels : int tensor or array, shape (N,)
    classes : list of class names; ``labels`` index into it
    transform : optional callable applied to each image tensor (C, H, W)

    >>> ds = ArrayImageDataset(torch.zeros(4, 1, 8, 8), [0, 1, 0, 1], ["a", "b"])
    >>> x, y = ds[1]; tuple(x.shape), int(y)
    ((1, 8, 8), 1)
    """

    def __init__(self, images, labels, classes: Sequence[str], transform: Callable | None = None):
        images = torch.as_tensor(np.asarray(images) if not torch.is_tensor(images) else images,
                                 dtype=torch.float32)
        labels = torch.as_tensor(np.asarray(labels) if not torch.is_tensor(labels) else labels,
                                 dtype=torch.long)
        if images.ndim != 4:
            raise ValueError(f"images must have shape (N, C, H, W); got {tuple(images.shape)}. "
                             "Add a channel axis with images[:, None] for grayscale arrays.")
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels; they must match.")
        if len(labels) and (labels.min() < 0 or labels.max() >= len(classes)):
            raise ValueError(f"labels must lie in 0..{len(classes) - 1} for {len(classes)} classes; "
                             f"got values from {int(labels.min())} to {int(labels.max())}.")
        self.images, self.labels, self.classes = images, labels, list(classes)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        x = self.images[i]
        if self.transform is not None:
            x = self.transform(x)
        return x, self.labels[i]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def with_transform(self, transform: Callable | None) -> "ArrayImageDataset":
        """The same images (shared, not copied) with another per-item transform."""
        return ArrayImageDataset(self.images, self.labels, self.classes, transform)

    def subset(self, indices) -> "ArrayImageDataset":
        """A dataset of the rows in ``indices`` (same classes and transform)."""
        idx = torch.as_tensor(np.asarray(indices), dtype=torch.long)
        return ArrayImageDataset(self.images[idx], self.labels[idx], self.classes, self.transform)

    def __repr__(self) -> str:
        counts = torch.bincount(self.labels, minlength=len(self.classes)).tolist()
        per_class = ", ".join(f"{c}: {n}" for c, n in zip(self.classes, counts))
        return (f"{type(self).__name__}({len(self)} images of shape {tuple(self.images.shape[1:])}; "
                f"{per_class})")


def load_faces() -> ArrayImageDataset:
    """Faces vs non-faces: 200 real 25×25 grayscale photos from ``skimage.data.lfw_subset``.

    The first 100 are faces (Labeled Faces in the Wild), the last 100 are patches of
    other photos; they ship inside scikit-image, so this works offline.
    Label 1 is "face", 0 is "non-face".
    """
    images = lfw_subset().astype(np.float32)[:, None]  # (200, 1, 25, 25), already in [0, 1]
    labels = np.r_[np.ones(100, dtype=np.int64), np.zeros(100, dtype=np.int64)]
    return ArrayImageDataset(images, labels, ["non-face", "face"])


def load_digits(digits: Iterable[int] = range(10), relabel: bool = True) -> ArrayImageDataset:
    """Handwritten digits from ``sklearn.datasets.load_digits`` (1,797 real 8×8 scans).

    ``digits`` selects which digits to keep. With ``relabel=True`` the kept digits are
    renumbered 0..k-1 (so digits 5–9 become classes 0–4 named "5".."9").

    >>> ds = load_digits(range(5, 10)); ds.classes, int(ds.labels.max())
    (['5', '6', '7', '8', '9'], 4)
    """
    digits = [int(d) for d in digits]
    if not digits or any(d not in range(10) for d in digits) or len(set(digits)) != len(digits):
        raise ValueError(f"digits must be distinct values in 0..9, got {digits}.")
    bunch = _sk_load_digits()
    keep = np.isin(bunch.target, digits)
    images = (bunch.images[keep] / 16.0).astype(np.float32)[:, None]
    target = bunch.target[keep]
    if relabel:
        lookup = {d: i for i, d in enumerate(digits)}
        return ArrayImageDataset(images, [lookup[t] for t in target], [str(d) for d in digits])
    return ArrayImageDataset(images, target, [str(d) for d in range(10)])


def to_numpy(x) -> np.ndarray:
    """A NumPy array from a tensor (detached, moved to the CPU) or from anything array-like.

    The course's one to-NumPy helper.

    >>> to_numpy(torch.tensor([1.0, 2.0], requires_grad=True)), to_numpy([1, 2])
    (array([1., 2.], dtype=float32), array([1, 2]))
    """
    return x.detach().cpu().numpy() if torch.is_tensor(x) else np.asarray(x)


def stratified_split(labels, test_size: float = 0.3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic stratified train/test indices (each class split in the same proportion).

    >>> tr, te = stratified_split([0] * 10 + [1] * 10, test_size=0.3, seed=0)
    >>> len(tr), len(te), sorted(set(tr) & set(te))
    (14, 6, [])
    """
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be a fraction between 0 and 1, got {test_size}.")
    y = to_numpy(labels)
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_test = int(round(len(idx) * test_size))
        if len(idx) < 2 or n_test == 0 or n_test == len(idx):
            raise ValueError(f"class {c} has {len(idx)} examples: too few to split with "
                             f"test_size={test_size}. Collect more examples of it.")
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def k_per_class(labels, k: int, seed: int = 0, pool=None) -> np.ndarray:
    """Indices of ``k`` labelled examples of every class, drawn reproducibly from ``pool``.

    This is how the course simulates "only k labels per class".

    >>> idx = k_per_class([0, 0, 0, 1, 1, 1], k=2, seed=0); len(idx)
    4
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}.")
    y = to_numpy(labels)
    pool = np.arange(len(y)) if pool is None else np.asarray(pool)
    rng = np.random.default_rng(seed)
    chosen = []
    for c in np.unique(y):
        candidates = pool[y[pool] == c]
        if len(candidates) < k:
            raise ValueError(f"class {c} has only {len(candidates)} examples in the pool, "
                             f"fewer than k={k}. Use a smaller k.")
        chosen.append(rng.choice(candidates, size=k, replace=False))
    return np.sort(np.concatenate(chosen))


def make_loader(dataset: Dataset, batch_size: int = 32, shuffle: bool = False, seed: int = 0) -> DataLoader:
    """A DataLoader with ``num_workers=0`` (works in notebooks and on Windows) and seeded shuffling.

    >>> ds = torch.utils.data.TensorDataset(torch.arange(6))
    >>> def order(seed): return [b[0].tolist() for b in make_loader(ds, 3, shuffle=True, seed=seed)]
    >>> order(0) == order(0), sorted(sum(order(0), []))
    (True, [0, 1, 2, 3, 4, 5])
    """
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, num_workers=0,
                      generator=torch_generator(seed) if shuffle else None)


# --------------------------------------------------------------------------- image folders

def load_image_folder(root: str | Path, image_size: int = 128, on_bad: str = "error") -> ArrayImageDataset:
    """Load your own photos laid out as ``root/<class name>/<image files>``, in [0, 1].

    The course's one folder loader does the work (:func:`course_lib.photos.load_folder`):
    EXIF orientation applied (a phone's portrait photo stays portrait), hidden files such as
    ``.DS_Store`` skipped, grey, CMYK, 16-bit, palette and transparent images made RGB, the
    shorter side resized to ``image_size`` and the centre square cropped (never squashed).
    An unreadable or non-image file raises :class:`BadImageError` naming it (or, with
    ``on_bad="skip"``, is left out with a warning that names it); a wrong layout raises
    :class:`~course_lib.errors.DatasetLayoutError` saying how to fix it. Nothing in ``root`` is modified.
    For many photos, stream them instead (:func:`course_lib.recipe.split_features`).
    """
    from .photos import Preprocess, load_folder

    photos = load_folder(root, Preprocess(image_size, (0.0,) * 3, (1.0,) * 3), on_bad=on_bad, progress=False)
    return ArrayImageDataset(photos.images, photos.labels, photos.classes)
