"""Read your own photos the way the camera meant them, and stream them into a network.

Phone and camera photos are not the tidy arrays of a benchmark: a portrait photo is often stored
sideways with an EXIF "orientation" tag, a 12-megapixel JPEG takes 36 MB once decoded, some files
are CMYK, 16-bit, palette or animated, a folder collects ``.DS_Store`` and ``Thumbs.db``, and
an iPhone saves ``.heic``. This module handles each of them:

- :func:`read_photo` opens one file, applies its EXIF orientation, decodes a big photo at
  reduced size (JPEG draft mode: 1/2, 1/4 or 1/8 while decoding), and returns an RGB image;
- :class:`Preprocess` is *the one* preprocessing of the course (it is
  :class:`ImagePreprocess`, which :mod:`course_lib.models` re-exports), used at training and at prediction and saved
  with the model: aspect-preserving resize, centre crop, normalisation;
- :func:`scan_folder` lists a ``root/<class>/<images>`` folder (or an existing ``train/``,
  ``val/``, ``test/`` layout), skipping hidden files and following symlinks; :func:`check_folder`
  reports every problem at once, one per line;
- :func:`stream_photos` reads any number of files in batches, decoding in worker processes
  while the network runs, with a progress bar; memory does not grow with the folder;
- :func:`load_photos` reads a few files into memory (a :class:`PhotoSet`), for plots and
  augmentation of small sets.

Every photo becomes the network's input the same way, streamed, in memory or at prediction:
``preprocess(file)``.

Nothing here writes to your folder.

>>> p = Preprocess(image_size=64)
>>> from PIL import Image
>>> x = p(Image.new("RGB", (120, 80), (255, 0, 0)))        # landscape: resized, centre-cropped
>>> tuple(x.shape), round(float(x[0].mean()), 3), round(float(x[1].mean()), 3)
((3, 64, 64), 1.0, -1.0)
>>> Preprocess.from_dict(p.to_dict()) == p
True
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import warnings
from collections import abc
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, NamedTuple, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, default_collate

from .cpu import quiet_decoding_worker
from .errors import BadImageError, DatasetLayoutError, UnknownBackboneError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")
HEIF_EXTENSIONS = (".heic", ".heif")
HIDDEN_NAMES = {".ds_store", "thumbs.db", "desktop.ini", "ehthumbs.db", "icon\r"}
SET_ASIDE = "_set_aside"
SPLIT_NAMES = {"train": ("train",), "val": ("val", "valid", "validation"), "test": ("test",)}
PROGRESS_FROM = 100  # show a progress bar when reading at least this many files
HEIC_HELP = ("HEIC is the iPhone's default photo format and this Pillow cannot decode it. Convert "
             "it to JPEG (on the phone: Settings > Camera > Formats > 'Most Compatible'; on a Mac: "
             "Preview > Export as JPEG), or install the plug-in with `pip install pillow-heif` "
             "and call `pillow_heif.register_heif_opener()` before reading.")
_EXAMPLE = "  my_photos/\n    cats/  img001.jpg img002.jpg ...\n    dogs/  img101.jpg ..."


# Normalisation each network was trained with. EfficientNet-Lite was trained on
# images scaled to [-1, 1] (TensorFlow's mean 127, std 128); torchvision's ResNet18 uses
# the ImageNet channel means and standard deviations.
NORMALISATION = {
    "efficientnet_lite0": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    "resnet18": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}

# --------------------------------------------------------------------------- the one preprocessing

RESIZE = ("shorter side to image_size (bilinear, antialiased when shrinking; 8-bit pixels resized "
          "as 8-bit), then centre crop")
# what earlier versions saved with a model: read as today's (8-bit photos then differ by at most
# one level of 255 per pixel, far below what JPEG compression changes)
_OLD_RESIZES = ("shorter side to image_size (bilinear, antialiased when shrinking), then centre crop",
                "shorter side to image_size, then centre crop")   # photos.Preprocess before the merge


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
    squashed), and each channel becomes ``(x - mean) / std``. 8-bit pixels (a photo, a uint8
    array or tensor) are resized as 8-bit, as torchvision's transforms and Pillow resize photos:
    a quarter of the memory and about a fifth of the time of floats, within one level of 255 of
    resizing them as floats; :meth:`prepare` is then exactly what the network sees. The same
    pixels give the same values whatever holds them (a file, a ``PIL.Image``, an array, a tensor).

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
        x = self._resized(image, root)
        return x.float() / 255.0 if x.dtype == torch.uint8 else x

    def _resized(self, image, root) -> torch.Tensor:
        """Resized and cropped: uint8 for 8-bit pixels, else float in [0, 1]."""
        x = _to_tensor(self._pixels(image, root))
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
            if x.stride(1) == 1 or x.dtype == torch.uint8:
                # a photo's pixels (H, W, 3) in memory: say so, the same values sooner (and torch's
                # fast 8-bit kernel needs this layout; other 8-bit tensors give the same values)
                x = x.contiguous(memory_format=torch.channels_last)
            x = torch.nn.functional.interpolate(x, size=size, mode="bilinear", align_corners=False,
                                                antialias=scale < 1)
            top = (x.shape[-2] - self.image_size) // 2
            left = (x.shape[-1] - self.image_size) // 2
            x = x[..., top:top + self.image_size, left:left + self.image_size]
        if x.dtype == torch.uint8:
            x = x.contiguous()   # a crop of 8-bit pixels is sent between processes or kept: its own memory
        return x[0] if single else x

    def normalise(self, images: torch.Tensor) -> torch.Tensor:
        """Images (…, 3, S, S), uint8 or float in [0, 1] → ``(x - mean) / std`` per channel."""
        x = images.float() / 255.0 if images.dtype == torch.uint8 else images
        shape = (1, 3, 1, 1) if x.ndim == 4 else (3, 1, 1)
        mean = torch.tensor(self.mean, device=x.device).view(shape)
        std = torch.tensor(self.std, device=x.device).view(shape)
        return (x - mean) / std

    def prepare(self, image, *, root: str | Path | None = None) -> torch.Tensor:
        """:meth:`resize_crop` as a ``uint8`` image (3, S, S), to keep, send or show a photo as
        the model sees it: for 8-bit pixels (photos) exactly the network's input, ``normalise``
        of it equals :meth:`__call__`; float input is rounded to the nearest level.

        >>> from PIL import Image
        >>> p = ImagePreprocess(16); photo = Image.new("RGB", (40, 30), (200, 100, 0))
        >>> torch.equal(p.normalise(p.prepare(photo)), p(photo))
        True
        """
        x = self._resized(image, root)
        if x.dtype == torch.uint8:
            return x
        return (x * 255.0).round().clamp(0, 255).to(torch.uint8)

    def _pixels(self, image, root):
        if isinstance(image, (str, os.PathLike)):
            return _read(image, self.image_size, root, pixels=True)  # upright RGB uint8 (H, W, 3)
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
        if d.get("resize", RESIZE) not in (RESIZE, *_OLD_RESIZES):
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


def _to_tensor(image) -> torch.Tensor:
    """Pixels as a tensor (C, H, W) or (N, C, H, W): uint8 kept as it is (a photo's (H, W, 3)
    pixels seen in place, no copy), anything else as float32 (in [0, 1] for an image)."""
    if torch.is_tensor(image):
        return image if image.dtype == torch.uint8 else image.float()
    from PIL import Image

    if isinstance(image, Image.Image):  # a photo: upright, RGB (as read_photo gives files)
        image = upright_rgb(image)
    array = np.asarray(image)
    if any(step < 0 for step in array.strides):   # a flipped view (np.flip): torch needs its own copy
        array = array.copy()
    photo = array.ndim == 3 and array.shape[-1] in (3, 4)
    if array.dtype == np.uint8 and (array.ndim == 2 or photo):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # read-only pixels: only read, never written
            pixels = torch.from_numpy(array)
        return pixels[None] if array.ndim == 2 else pixels[..., :3].permute(2, 0, 1)
    if array.dtype != np.uint8 and array.ndim == 2:
        return torch.from_numpy(array.astype(np.float32))[None]
    if array.dtype != np.uint8 and photo:
        return torch.from_numpy(array[..., :3].astype(np.float32)).permute(2, 0, 1)
    raise ValueError(f"cannot interpret an array of shape {array.shape} as an image; expected "
                     "(H, W), (H, W, 3) or a tensor (C, H, W).")


def _to_float_tensor(image) -> torch.Tensor:
    """Pixels as a float32 tensor in [0, 1], (C, H, W) or (N, C, H, W); a photo's uint8 pixels
    are divided by 255 in their (H, W, 3) order, the layout a channels-last resize reads."""
    x = _to_tensor(image)
    if x.dtype != torch.uint8:
        return x
    if x.ndim == 3 and x.stride(0) == 1:   # (H, W, 3) in memory
        return x.permute(1, 2, 0).float().div_(255.0).permute(2, 0, 1)
    return x.float() / 255.0


# --------------------------------------------------------------------------- folder layout

def require_class_folders(root: Path, class_dirs: Sequence[Path], stray: Sequence[str], example: str) -> None:
    """Raise :class:`DatasetLayoutError` unless ``root`` has at least two class sub-folders.

    ``stray`` names images found directly in ``root`` (they belong in class folders); ``example``
    shows the expected layout in the message.

    >>> require_class_folders(Path("photos"), [Path("photos/cat")], [], "photos/<class>/<image>")
    Traceback (most recent call last):
    ...
    course_lib.errors.DatasetLayoutError: photos has a single class folder ('cat'). ...
    """
    if not class_dirs:
        hint = (f" Found {len(stray)} image(s) directly in {root}; move them into class folders, "
                "one folder per class." if stray else "")
        raise DatasetLayoutError(f"{root} has no class sub-folders.{hint} Expected:\n{example}")
    if len(class_dirs) < 2:
        raise DatasetLayoutError(
            f"{root} has a single class folder ({class_dirs[0].name!r}). A classifier needs at "
            f"least two classes: add a second folder of images. Expected:\n{example}")


# --------------------------------------------------------------------------- one file

def is_hidden(path: str | Path) -> bool:
    """True for files a computer adds on its own: ``.DS_Store``, ``Thumbs.db``, ``._x.jpg``.

    >>> [is_hidden(n) for n in (".DS_Store", "Thumbs.db", "._IMG_1.jpg", "IMG_1.jpg")]
    [True, True, True, False]
    """
    name = Path(path).name
    return name.startswith(".") or name.lower() in HIDDEN_NAMES


def _relative(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return Path(os.path.relpath(path, root)).as_posix()
        except ValueError:  # another drive on Windows
            pass
    return str(path)


def _to_rgb(im):
    """An RGB copy of any Pillow mode: 16-bit scaled to 8-bit, transparency composited on white."""
    from PIL import Image

    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        array = np.asarray(im, dtype=np.float64)
        top = 65535.0 if im.mode.startswith("I;16") or array.max() > 255 else 255.0
        if im.mode == "F" and array.max() <= 1.0:
            top = 1.0
        array = np.clip(array / top * 255.0, 0, 255).round().astype(np.uint8)
        return Image.fromarray(array, mode="L").convert("RGB")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        background = Image.new("RGBA", im.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, im).convert("RGB")
    return im.convert("RGB")  # L, 1, P, CMYK, YCbCr, RGB


def upright_rgb(im):
    """A PIL image as the camera meant it: EXIF orientation applied, converted to RGB.

    >>> from PIL import Image
    >>> upright_rgb(Image.new("L", (3, 2))).mode
    'RGB'
    """
    from PIL import ImageOps

    return _to_rgb(ImageOps.exif_transpose(im))


def _reduction(size: tuple[int, int], min_side: int) -> int:
    """The largest of 8, 4, 2 (else 1) that keeps both sides of ``size`` at least ``min_side``."""
    for factor in (8, 4, 2):
        if min(size) // factor >= min_side:
            return factor
    return 1


def _open(source, where: str, min_side: int | None, pixels: bool = False):
    """Decode ``source`` (a path or a binary file object) as an upright RGB ``PIL.Image``, or
    with ``pixels`` as its uint8 array (H, W, 3), copied once."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(source) as im:
            if min_side and im.format == "JPEG":
                im.draft(im.mode, (int(min_side), int(min_side)))
            if getattr(im, "n_frames", 1) > 1:
                im.seek(0)  # animated GIF / WebP / multi-page TIFF: the first frame
            im.load()
            if min_side and im.format != "JPEG":
                factor = _reduction(im.size, int(min_side))
                if factor > 1 and im.mode in ("RGB", "RGBA", "L", "LA"):
                    im = im.reduce(factor)  # as JPEG draft decoding does: ≥ min_side kept
            ImageOps.exif_transpose(im, in_place=True)   # our own image: no copy when already upright
            if pixels:   # an array owns its pixels (a PIL image's go when the file closes)
                return np.asarray(im if im.mode == "RGB" else _to_rgb(im))
            return _to_rgb(im)
    except Image.DecompressionBombError as exc:
        raise BadImageError(f"{where}: the image is too large to read safely ({exc}). Downscale it "
                            "with an image editor first.") from None
    except FileNotFoundError:
        raise BadImageError(f"{where}: no such file (a broken link, or it was moved). "
                            "Check the path.") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        reason = str(exc)
        if isinstance(source, (str, Path)):
            reason = reason.replace(f"'{source}'", "it").replace(str(source), "it")
        reason = re.sub(r"<_io\.BytesIO object at 0x[0-9a-fA-F]+>", "it", reason)
        raise BadImageError(f"{where}: cannot read it as an image ({reason}). The file is corrupt, "
                            "truncated or not an image: replace it, move it out of the folder, or "
                            "load with on_bad='skip' to leave it out with a warning.") from None


def read_photo(path: str | Path, min_side: int | None = None, *, root: str | Path | None = None):
    """Open one photo as an upright RGB ``PIL.Image``.

    - The EXIF orientation is applied (a portrait phone photo comes out portrait).
    - ``min_side``: a big photo is decoded at reduced size, the smallest of 1/1, 1/2, 1/4, 1/8
      whose width and height both stay ≥ ``min_side``: a JPEG while decoding (draft mode: a
      12 MP photo read for 224 px costs about 0.6 MB, not 36 MB), other formats right after.
    - CMYK, grayscale, 16-bit, palette and transparent images become RGB (transparency on
      white); an animated GIF gives its first frame.
    - Anything unreadable raises :class:`BadImageError` saying which file (relative to ``root``
      if given) and what to do; ``.heic`` says how to convert it.

    >>> import tempfile; from PIL import Image
    >>> f = Path(tempfile.mkdtemp()) / "grey.png"; Image.new("L", (30, 20), 7).save(f)
    >>> im = read_photo(f); im.mode, im.size
    ('RGB', (30, 20))
    """
    return _read(path, min_side, root)


def _read(path, min_side: int | None, root, pixels: bool = False):
    path = Path(path)
    where = _relative(path, Path(root) if root is not None else None)
    if path.suffix.lower() in HEIF_EXTENSIONS:
        raise BadImageError(f"{where}: {HEIC_HELP}")
    return _open(path, where, min_side, pixels)


def decode_photo(data: bytes, name: str, min_side: int | None = None, *, pixels: bool = False):
    """:func:`read_photo` for the bytes of a file already read (``name`` is used in errors);
    ``pixels``: its uint8 array (H, W, 3) instead of a ``PIL.Image`` (one copy fewer).

    >>> import io; from PIL import Image
    >>> buffer = io.BytesIO(); Image.new("RGB", (40, 30)).save(buffer, format="PNG")
    >>> decode_photo(buffer.getvalue(), "x.png").size, decode_photo(buffer.getvalue(), "x.png", pixels=True).shape
    ((40, 30), (30, 40, 3))
    """
    if Path(name).suffix.lower() in HEIF_EXTENSIONS:
        raise BadImageError(f"{name}: {HEIC_HELP}")
    return _open(io.BytesIO(data), name, min_side, pixels)


# --------------------------------------------------------------------------- preprocessing

# The one preprocessing of the course lives in models (ImagePreprocess); photos use it as it is.
# ``photos.Preprocess`` is the same class under the name the own-photos notebook uses.
Preprocess = ImagePreprocess


# --------------------------------------------------------------------------- folders

@dataclass
class FolderScan:
    """What is in a photo folder: its layout, classes, image files and the problems found.

    ``files`` maps each part (``"all"`` for a flat folder; ``"train"``, ``"val"``, ``"test"``
    for a split one) to ``(path relative to root, class name)`` pairs, sorted.
    """

    root: Path
    layout: str  # "flat" or "split"
    classes: list[str]
    files: dict[str, list[tuple[str, str]]]
    problems: list[str] = field(default_factory=list)
    hidden_skipped: int = 0
    bad_files: list[str] = field(default_factory=list)  # the problems that are about one file

    def _bad_file(self, line: str) -> None:
        self.problems.append(line)
        self.bad_files.append(line)

    @property
    def notes(self) -> list[str]:
        """The problems that are not about one file (an empty class folder, stray images)."""
        return [p for p in self.problems if p not in self.bad_files]

    def count(self) -> int:
        return sum(len(v) for v in self.files.values())


def _walk_files(folder: Path) -> Iterable[Path]:
    """Every non-hidden file under ``folder`` (symlinked files and folders followed, no loops)."""
    seen = set()
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != SET_ASIDE)
        for name in sorted(filenames):
            yield Path(dirpath) / name


def _class_dirs(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.is_dir() and not is_hidden(p) and p.name != SET_ASIDE),
                  key=lambda p: p.name)


def _split_parts(root: Path) -> dict[str, Path]:
    parts = {}
    children = {p.name.lower(): p for p in root.iterdir() if p.is_dir()}
    for part, names in SPLIT_NAMES.items():
        for name in names:
            if name in children:
                parts[part] = children[name]
                break
    return parts if "train" in parts and len(parts) >= 2 else {}


def scan_folder(root: str | Path) -> FolderScan:
    """List a photo folder without reading the images.

    Two layouts are understood: ``root/<class>/<files>`` (flat; split later by
    :func:`course_lib.splits.split_folder`) and ``root/train|val|test/<class>/<files>`` (an
    existing split, respected as it is; ``valid/`` or ``validation/`` also name the validation
    part). Hidden files (``.DS_Store``, ``Thumbs.db``, ``._*``) and the cleaner's ``_set_aside/``
    folder are skipped silently; symlinks are followed. A wrong layout raises
    :class:`DatasetLayoutError`; files that are not images become ``problems`` (one line each).
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetLayoutError(f"{root} is not a folder (check MY_FOLDER). Expected one sub-folder "
                                 f"per class:\n{_EXAMPLE}")
    parts = _split_parts(root)
    layout = "split" if parts else "flat"
    if not parts:
        parts = {"all": root}
    scan = FolderScan(root, layout, [], {})
    classes: set[str] = set()
    for part, folder in parts.items():
        dirs = _class_dirs(folder)
        if layout == "flat":
            stray = sorted(p.name for p in folder.iterdir() if p.is_file() and not is_hidden(p)
                           and p.suffix.lower() in IMAGE_EXTENSIONS + HEIF_EXTENSIONS)
            require_class_folders(root, dirs, stray, _EXAMPLE)
            if stray:
                scan.problems.append(f"{len(stray)} image(s) directly in the folder, not in a class "
                                     f"folder, are ignored: {', '.join(stray[:3])}"
                                     f"{' ...' if len(stray) > 3 else ''}")
        entries = []
        for class_dir in dirs:
            n_before = len(entries)
            for path in _walk_files(class_dir):
                rel = _relative(path, root)
                if is_hidden(path):
                    scan.hidden_skipped += 1
                elif path.suffix.lower() in HEIF_EXTENSIONS:
                    scan._bad_file(f"{rel}: {HEIC_HELP}")
                elif path.suffix.lower() not in IMAGE_EXTENSIONS:
                    scan._bad_file(f"{rel}: not an image file (extension "
                                         f"{path.suffix or 'none'!r}; accepted: "
                                         f"{', '.join(IMAGE_EXTENSIONS)}). Move it out of the folder.")
                elif not path.exists():
                    scan._bad_file(f"{rel}: a broken link (its target is gone). Remove the link.")
                else:
                    entries.append((rel, class_dir.name))
            if len(entries) == n_before:
                scan.problems.append(f"{_relative(class_dir, root)}/: no images in this class folder "
                                     "(left out). Add photos or remove the folder.")
            else:
                classes.add(class_dir.name)
        scan.files[part] = entries
    scan.classes = sorted(classes)
    if layout == "split":
        train_classes = {c for _, c in scan.files["train"]}
        missing = sorted(classes - train_classes)
        if missing:
            raise DatasetLayoutError(f"{root}: class(es) {missing} have photos in val/ or test/ but none in "
                                     "train/. Add training photos of them, or remove them.")
        if len(scan.classes) < 2:
            raise DatasetLayoutError(f"{root}/train has fewer than two class folders. Expected:\n"
                                     f"  {root.name}/\n    train/  cats/ dogs/\n    val/    cats/ dogs/")
    return scan


def check_folder(root: str | Path, *, read: bool = True, progress: bool | None = None) -> list[str]:
    """Every problem in a photo folder, one line each, paths relative to ``root`` (empty: all good).

    With ``read=True`` every image is also opened and decoded, which finds corrupt files.
    A wrong layout (no class folders, a single class) is one line too.
    """
    try:
        scan = scan_folder(root)
    except DatasetLayoutError as error:
        return [str(error).splitlines()[0]]
    problems = list(scan.problems)
    if read:
        rels = [rel for part in scan.files.values() for rel, _ in part]
        for rel in _progress(rels, progress, "checking photos"):
            try:
                read_photo(scan.root / rel, 32, root=scan.root)
            except BadImageError as error:
                problems.append(str(error))
    return problems


# --------------------------------------------------------------------------- many files

def _progress(items: Sequence, progress: bool | None, desc: str, unit: str = "photo"):
    show = len(items) >= PROGRESS_FROM if progress is None else progress
    if not show:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, unit=unit, leave=False)


# --------------------------------------------------------------------------- streaming

WORKERS_FROM = 256  # fewer photos than this are read in the main process (a worker's start-up costs more)
DIGEST_SIZE = 16     # bytes kept of a file's SHA-256 content digest


def content_digest(data: bytes) -> str:
    """A file's identity for caches: the first 16 bytes of the SHA-256 digest of its bytes (32
    hex digits). SHA-256 rather than BLAKE2b: processors with SHA instructions (most x86 and ARM
    chips since about 2017) hash it faster, and a second run hashes every photo of the folder.

    A file whose content changes gets another digest, whatever its name or date.

    >>> content_digest(b"photo") == content_digest(b"photo") != content_digest(b"photo!")
    True
    """
    return hashlib.sha256(data).hexdigest()[:2 * DIGEST_SIZE]


def _digest_of_file(path: Path) -> str | None:
    try:
        return content_digest(Path(path).read_bytes())
    except OSError:
        return None  # unreadable: the stream names it


def hash_files(files: Sequence[str | Path], *, progress: bool | None = None,
               threads: int = 4) -> list[str | None]:
    """:func:`content_digest` of every file (``None`` for a file that cannot be read), in order.

    Several threads read and hash at once (hashing releases Python's lock), with a progress
    bar for many files.
    """
    bar = _bar(len(files), progress, "hashing files")
    out: list[str | None] = []
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        for digest in pool.map(_digest_of_file, files):
            out.append(digest)
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    return out


class PhotoFiles(Dataset):
    """Photo files read on demand: item ``i`` is ``(i, digest, image, error)``.

    ``image`` is ``preprocess.prepare(file)`` (uint8 (3, S, S): a quarter of the floats' bytes
    to send from a worker process; ``preprocess.normalise`` of it is the network's input) and
    ``error`` is ``""``; for a file that cannot be read,
    ``image`` is ``None`` and ``error`` says why (the stream never stops at a bad file). Each
    file is read once: its bytes give both the content ``digest`` (:func:`content_digest`) and
    the pixels, so the two always match.

    A top-level class holding only paths and the preprocessing: worker processes can import and
    unpickle it under every start method (fork on Linux, spawn on Windows and macOS).
    """

    def __init__(self, files: Sequence[str | Path], preprocess: ImagePreprocess,
                 root: str | Path | None = None):
        self.files = [Path(f) for f in files]
        self.preprocess, self.root = preprocess, Path(root) if root is not None else None

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int):
        path = self.files[i]
        where = _relative(path, self.root)
        try:
            if path.suffix.lower() in HEIF_EXTENSIONS:
                raise BadImageError(f"{where}: {HEIC_HELP}")
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                raise BadImageError(f"{where}: no such file (a broken link, or it was moved). "
                                    "Check the path.") from None
            except OSError as exc:
                raise BadImageError(f"{where}: cannot read the file ({exc.strerror or exc}).") from None
            digest = content_digest(data)
            pixels = decode_photo(data, where, self.preprocess.image_size, pixels=True)
            return i, digest, self.preprocess.prepare(pixels), ""
        except BadImageError as error:
            return i, "", None, str(error)


class PhotoBatch(NamedTuple):
    """A batch from :func:`stream_photos`: positions in the file list, digests, images, errors.

    ``images`` stacks the readable photos (uint8 (n, 3, S, S); ``preprocess.normalise``
    gives the network's input), in the order of ``ok``; ``errors[j]`` is ``""`` for a readable
    photo, else the reason.
    """

    indices: list[int]
    digests: list[str]
    images: torch.Tensor | None
    errors: list[str]

    @property
    def ok(self) -> list[int]:
        """Positions (in the file list) of the readable photos, in the order of ``images``."""
        return [i for i, e in zip(self.indices, self.errors) if not e]


def collate_photos(items) -> PhotoBatch:
    """Stack the readable photos of a batch of :class:`PhotoFiles` items (a top-level function,
    so worker processes can use it under every start method)."""
    good = [x for _, _, x, _ in items if x is not None]
    # default_collate stacks them; in a worker, straight into the shared memory the batch is sent through
    images = default_collate(good) if good else None
    return PhotoBatch([i for i, _, _, _ in items], [d for _, d, _, _ in items], images,
                      [e for _, _, _, e in items])


def usable_cores() -> int:
    """CPU cores this process may use (its affinity on Linux, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def default_workers(n_photos: int, device: str | torch.device | None = "cpu") -> int:
    """How many processes decode photos while the network runs.

    ``0`` (read in the main process) for fewer than 256 photos or a single core: starting a
    worker costs more than it saves. On the CPU the network needs the cores, and decoding at
    draft size is several times cheaper than the forward pass: one worker per two cores, at
    most 4 (one on a 2-core laptop or Binder). On a GPU decoding is the bottleneck: every core
    but one, at most 8.

    >>> default_workers(100, "cpu"), default_workers(10_000, "cpu") <= 4
    (0, True)
    """
    cores = usable_cores()
    if n_photos < WORKERS_FROM or cores < 2:
        return 0
    if torch.device(device or "cpu").type == "cpu":
        return max(1, min(4, cores // 2))
    return max(1, min(8, cores - 1))


def _bar(total: int, progress: bool | None, desc: str, unit: str = "photo"):
    show = total >= PROGRESS_FROM if progress is None else progress
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, leave=False, smoothing=0.1)


def stream_photos(files: Sequence[str | Path], preprocess: ImagePreprocess, *, batch_size: int = 8,
                  num_workers: int | None = None, device: str | torch.device | None = "cpu",
                  progress: bool | None = None, desc: str = "reading photos",
                  root: str | Path | None = None,
                  start_method: str | None = None) -> Iterator[PhotoBatch]:
    """Read ``files`` in batches of prepared photos, never holding more than a few batches.

    Decoding runs in ``num_workers`` worker processes (default: :func:`default_workers`) while
    the caller runs the network on the previous batch; ``num_workers=0`` reads in this
    process. If worker processes cannot start (a sandbox without shared memory, say), it warns
    and reads in this process. A progress bar with the rate and the time left shows for ≥ 100
    photos (in a notebook and in a terminal). Unreadable files never stop the stream: their
    batch says why (:class:`PhotoBatch`). ``start_method``: ``"spawn"``, ``"fork"`` or
    ``"forkserver"`` for the workers (default: the platform's).

    >>> import tempfile; from PIL import Image
    >>> d = Path(tempfile.mkdtemp()); Image.new("RGB", (50, 40)).save(d / "a.png")
    >>> (d / "b.jpg").write_bytes(b"not a photo")
    11
    >>> [(b.indices, tuple(b.images.shape), [bool(e) for e in b.errors])
    ...  for b in stream_photos([d / "a.png", d / "b.jpg"], Preprocess(32), num_workers=0)]
    [([0, 1], (1, 3, 32, 32), [False, True])]
    """
    dataset = PhotoFiles(files, preprocess, root)
    if num_workers is None:
        num_workers = default_workers(len(dataset), device)
    bar = _bar(len(dataset), progress, desc)
    try:
        for batch in _batches_of(dataset, batch_size, int(num_workers), start_method):
            if bar is not None:
                bar.update(len(batch.indices))
            yield batch
    finally:
        if bar is not None:
            bar.close()


def _batches_of(dataset: PhotoFiles, batch_size: int, num_workers: int,
                start_method: str | None) -> Iterator[PhotoBatch]:
    if num_workers > 0:
        loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers,
                            collate_fn=collate_photos, prefetch_factor=2,
                            worker_init_fn=quiet_decoding_worker, multiprocessing_context=start_method)
        try:
            iterator = iter(loader)
            first = next(iterator, None)
        except (OSError, RuntimeError) as exc:  # no worker processes here: read in this one
            warnings.warn(f"Could not start {num_workers} worker process(es) to read photos ({exc}); "
                          "reading them in this process instead (num_workers=0).", stacklevel=3)
        else:
            if first is not None:
                yield first
                yield from iterator
            return
    for start in range(0, len(dataset), batch_size):
        yield collate_photos([dataset[i] for i in range(start, min(len(dataset), start + batch_size))])


class FolderCrops(abc.Sequence):
    """What the model sees of each photo (float (3, S, S) in [0, 1]), read when indexed.

    Stands in for a tensor of images where only a few are looked at (plots, the cleaner):
    ``crops[i]`` reads ``root / paths[i]`` with ``preprocess.resize_crop``.
    """

    def __init__(self, root: str | Path, paths: Sequence[str], preprocess: ImagePreprocess):
        self.root, self.paths, self.preprocess = Path(root), list(paths), preprocess

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return torch.stack([self[j] for j in range(*i.indices(len(self)))])
        return self.preprocess.resize_crop(self.root / self.paths[int(i)], root=self.root)

    def __repr__(self) -> str:
        return f"FolderCrops({len(self)} photos of {self.root.name} at {self.preprocess.image_size} px)"


class PhotoSet(Dataset):
    """A few photos kept in memory, (N, 3, S, S) in [0, 1], with labels and file names.

    ``photos[i]`` is ``(preprocess.normalise(image), label)``: the network's input, the same
    as :func:`stream_photos` gives for the file. ``paths`` are relative to ``root``; ``images``
    are what the model sees (resized, cropped, not normalised), for plots and augmentation.
    ``uint8`` images are accepted too (divided by 255 when normalised). Memory grows with every
    photo (600 KB each at 224 px): for a whole folder, stream it
    (:func:`course_lib.recipe.split_features`).
    """

    def __init__(self, images: torch.Tensor, labels, classes: Sequence[str], paths: Sequence[str],
                 root: Path, preprocess: Preprocess):
        self.images = images
        self.labels = torch.as_tensor(np.asarray(labels, dtype=np.int64))
        self.classes, self.paths, self.root, self.preprocess = list(classes), list(paths), Path(root), preprocess
        if not (len(self.images) == len(self.labels) == len(self.paths)):
            raise ValueError("images, labels and paths must have the same length.")

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        return self.preprocess.normalise(self.images[i]), self.labels[i]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def counts(self) -> dict[str, int]:
        n = torch.bincount(self.labels, minlength=self.num_classes).tolist()
        return dict(zip(self.classes, n))

    def subset(self, indices) -> "PhotoSet":
        idx = [int(i) for i in indices]
        return PhotoSet(self.images[idx], self.labels[idx], self.classes, [self.paths[i] for i in idx],
                        self.root, self.preprocess)

    def __repr__(self) -> str:
        per_class = ", ".join(f"{c}: {n}" for c, n in self.counts().items())
        return f"PhotoSet({len(self)} photos at {self.preprocess.image_size} px; {per_class})"


def load_photos(root: str | Path, entries: Sequence[tuple[str, str]], classes: Sequence[str],
                preprocess: Preprocess, *, on_bad: str = "error", progress: bool | None = None,
                desc: str = "reading photos") -> PhotoSet:
    """Read ``(relative path, class name)`` entries under ``root`` into a :class:`PhotoSet`.

    ``on_bad="error"`` stops at the first unreadable file with a message naming it;
    ``on_bad="skip"`` leaves such files out and names them all in one warning. A progress bar
    shows while reading ≥ 100 files (``progress=True``/``False`` forces it on or off).
    """
    if on_bad not in ("error", "skip"):
        raise ValueError(f"on_bad must be 'error' or 'skip', got {on_bad!r}.")
    root = Path(root)
    index = {c: i for i, c in enumerate(classes)}
    images, labels, paths, skipped = [], [], [], []
    for rel, cls in _progress(list(entries), progress, desc):
        try:
            images.append(preprocess.resize_crop(root / rel, root=root))
        except BadImageError as error:
            if on_bad == "error":
                raise
            skipped.append(str(error).split(": ")[0])
            continue
        labels.append(index[cls])
        paths.append(rel)
    if skipped:
        warnings.warn(f"Skipped {len(skipped)} unreadable file(s): {', '.join(skipped)}", stacklevel=2)
    size = preprocess.image_size
    stacked = torch.stack(images) if images else torch.zeros(0, 3, size, size)
    return PhotoSet(stacked, labels, classes, paths, root, preprocess)


def join(*sets: PhotoSet) -> PhotoSet:
    """One :class:`PhotoSet` of several (same classes, root and preprocessing), in order."""
    first = sets[0]
    if any(s.classes != first.classes or s.preprocess != first.preprocess for s in sets):
        raise ValueError("Only photo sets with the same classes and preprocessing can be joined.")
    return PhotoSet(torch.cat([s.images for s in sets]), torch.cat([s.labels for s in sets]), first.classes,
                    [p for s in sets for p in s.paths], first.root, first.preprocess)


def list_photos(paths: Iterable[str | Path]) -> list[Path]:
    """Expand files and folders into photo files (folders searched recursively, hidden skipped).

    Files named explicitly are kept whatever their extension (so a wrong one gets a clear error
    when read); inside folders only image files are taken.
    """
    out: list[Path] = []
    for p in paths:
        p = Path(p).expanduser()
        if p.is_dir():
            out += [f for f in _walk_files(p) if not is_hidden(f)
                    and f.suffix.lower() in IMAGE_EXTENSIONS + HEIF_EXTENSIONS]
        else:
            out.append(p)
    return out


def files_to_read(scan: FolderScan, on_bad: str = "error") -> list[tuple[str, str]]:
    """The ``(relative path, class)`` entries of a scanned folder, after saying what is wrong.

    Files that are not photos this course can read (a ``.txt``, a ``.heic``, a broken link)
    raise :class:`BadImageError` listing them, one per line; with ``on_bad="skip"`` they are
    left out (and left where they are) with one warning naming them. Other problems (an empty
    class folder, images outside any class folder) are one warning.
    """
    if on_bad not in ("error", "skip"):
        raise ValueError(f"on_bad must be 'error' or 'skip', got {on_bad!r}.")
    if scan.bad_files and on_bad == "error":
        raise BadImageError("These files are not photos this course can read:\n  " + "\n  ".join(scan.bad_files)
                            + "\nMove them out of the folder, or load with on_bad='skip'.")
    if scan.bad_files:
        warnings.warn(f"Skipped {len(scan.bad_files)} file(s) that are not photos: "
                      + ", ".join(p.split(": ")[0] for p in scan.bad_files), stacklevel=3)
    if scan.notes:
        warnings.warn("\n".join(scan.notes), stacklevel=3)
    return [e for part in scan.files.values() for e in part]


def require_photos_of_each_class(classes: Sequence[str], labels, root: Path) -> None:
    """Raise :class:`DatasetLayoutError` if a class has no readable photo or fewer than two
    classes have one."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=len(classes))
    empty = [c for c, n in zip(classes, counts) if n == 0]
    if empty:
        raise DatasetLayoutError(f"{root}: no readable photos in class folder(s) {', '.join(empty)}. "
                                 "Add photos that can be read, or remove the folder(s).")
    if len(classes) < 2:
        raise DatasetLayoutError(f"{root}: only {len(classes)} class folder has photos; a classifier needs "
                                 "at least two classes. Add photos to a second class folder.")


def load_folder(root: str | Path, preprocess: Preprocess, *, on_bad: str = "error",
                progress: bool | None = None) -> PhotoSet:
    """Every photo of a folder in memory, in one :class:`PhotoSet`, unsplit (all parts of a split
    layout); for a few hundred photos (for a big folder, stream features instead).

    Files that are not photos (a ``.txt``, a ``.heic``) and unreadable photos raise
    :class:`BadImageError` listing them, one per line; with ``on_bad="skip"`` they are left out
    (and left where they are) with one warning naming them (:func:`files_to_read`). A class
    whose photos are all unreadable raises :class:`DatasetLayoutError`.
    """
    scan = scan_folder(root)
    entries = files_to_read(scan, on_bad)
    photos = load_photos(scan.root, entries, scan.classes, preprocess, on_bad=on_bad, progress=progress)
    require_photos_of_each_class(photos.classes, photos.labels, scan.root)
    return photos
