"""Read your own photos the way the camera meant them, and turn them into a network's input.

Phone and camera photos are not the tidy arrays of a benchmark: a portrait photo is often stored
sideways with an EXIF "orientation" tag, a 12-megapixel JPEG takes 36 MB once decoded, some files
are CMYK, 16-bit, palette or animated, a folder collects ``.DS_Store`` and ``Thumbs.db``, and
an iPhone saves ``.heic``. This module handles each of them:

- :func:`read_photo` opens one file, applies its EXIF orientation, decodes a big JPEG at reduced
  size (draft mode: 1/2, 1/4 or 1/8 while decoding), and returns an RGB image;
- :class:`Preprocess` is *the one* preprocessing object, used at training and at prediction and
  saved with the model: aspect-preserving resize, centre crop, normalisation;
- :func:`scan_folder` lists a ``root/<class>/<images>`` folder (or an existing ``train/``,
  ``val/``, ``test/`` layout), skipping hidden files and following symlinks; :func:`check_folder`
  reports every problem at once, one per line;
- :func:`load_photos` reads many files (with a progress bar) into a :class:`PhotoSet`.

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

import json
import os
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from .data import require_class_folders
from .errors import BadImageError, DatasetLayoutError

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


def read_photo(path: str | Path, min_side: int | None = None, *, root: str | Path | None = None):
    """Open one photo as an upright RGB ``PIL.Image``.

    - The EXIF orientation is applied (a portrait phone photo comes out portrait).
    - ``min_side``: for a JPEG, decode at the smallest of 1/1, 1/2, 1/4, 1/8 scale whose width
      and height both stay ≥ ``min_side`` (a 12 MP photo read for 224 px costs about 0.6 MB, not
      36 MB). Other formats are decoded at full size.
    - CMYK, grayscale, 16-bit, palette and transparent images become RGB (transparency on
      white); an animated GIF gives its first frame.
    - Anything unreadable raises :class:`BadImageError` saying which file (relative to ``root``
      if given) and what to do; ``.heic`` says how to convert it.

    >>> import tempfile; from PIL import Image
    >>> f = Path(tempfile.mkdtemp()) / "grey.png"; Image.new("L", (30, 20), 7).save(f)
    >>> im = read_photo(f); im.mode, im.size
    ('RGB', (30, 20))
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    where = _relative(path, Path(root) if root is not None else None)
    if path.suffix.lower() in HEIF_EXTENSIONS:
        raise BadImageError(f"{where}: {HEIC_HELP}")
    try:
        with Image.open(path) as im:
            if min_side and im.format == "JPEG":
                im.draft(im.mode, (int(min_side), int(min_side)))
            if getattr(im, "n_frames", 1) > 1:
                im.seek(0)  # animated GIF / WebP / multi-page TIFF: the first frame
            im.load()
            upright = ImageOps.exif_transpose(im)
            return _to_rgb(upright)
    except Image.DecompressionBombError as exc:
        raise BadImageError(f"{where}: the image is too large to read safely ({exc}). Downscale it "
                            "with an image editor first.") from None
    except FileNotFoundError:
        raise BadImageError(f"{where}: no such file (a broken link, or it was moved). "
                            "Check the path.") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        reason = str(exc).replace(f"'{path}'", "it").replace(str(path), "it")
        raise BadImageError(f"{where}: cannot read it as an image ({reason}). The file is corrupt, "
                            "truncated or not an image: replace it, move it out of the folder, or "
                            "load with on_bad='skip' to leave it out with a warning.") from None


# --------------------------------------------------------------------------- preprocessing

@dataclass(frozen=True)
class Preprocess:
    """The one preprocessing of a photo classifier, identical at training and at prediction.

    Reading (:func:`read_photo` with JPEG draft decoding at ``image_size``), an aspect-preserving
    resize of the shorter side to ``image_size`` followed by a centre crop to a square, then
    ``(x - mean) / std`` per channel. It is saved with the exported model as JSON
    (:meth:`to_dict`), so the model never sees a photo prepared differently.

    ``prepare`` gives the cropped ``uint8`` image (3, S, S) to store or show; ``normalise`` turns
    it into the network's input; calling the object does both.
    """

    image_size: int = 224
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    resize: str = "shorter side to image_size, then centre crop"

    def __post_init__(self) -> None:
        if isinstance(self.image_size, bool) or int(self.image_size) != self.image_size or self.image_size < 8:
            raise ValueError(f"image_size must be an integer of at least 8 pixels, got {self.image_size!r}.")
        object.__setattr__(self, "image_size", int(self.image_size))
        object.__setattr__(self, "mean", tuple(float(v) for v in self.mean))
        object.__setattr__(self, "std", tuple(float(v) for v in self.std))
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ValueError("mean and std need 3 values each (one per RGB channel), std > 0.")

    @classmethod
    def for_backbone(cls, name: str, image_size: int = 224) -> "Preprocess":
        """The preprocessing a pretrained backbone expects (its normalisation) at ``image_size``.

        >>> Preprocess.for_backbone("resnet18", 96).mean
        (0.485, 0.456, 0.406)
        """
        from .errors import UnknownBackboneError
        from .models import NORMALISATION

        if name not in NORMALISATION:
            raise UnknownBackboneError(f"No image preprocessing is known for {name!r}; choose one of "
                                       f"{', '.join(NORMALISATION)}.")
        mean, std = NORMALISATION[name]
        return cls(image_size, mean, std)

    def prepare(self, photo, *, root: str | Path | None = None) -> torch.Tensor:
        """A path or PIL image → ``uint8`` tensor (3, S, S): upright, RGB, resized, centre-cropped."""
        from PIL import Image, ImageOps

        if isinstance(photo, (str, Path)):
            image = read_photo(photo, self.image_size, root=root)
        elif isinstance(photo, Image.Image):
            image = _to_rgb(ImageOps.exif_transpose(photo))  # as read_photo does for files
        else:
            raise TypeError(f"Expected a file path or a PIL image, got {type(photo).__name__}.")
        square = ImageOps.fit(image, (self.image_size, self.image_size),
                              method=Image.Resampling.BILINEAR, centering=(0.5, 0.5))
        array = np.asarray(square, dtype=np.uint8)
        return torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous()

    def normalise(self, images: torch.Tensor) -> torch.Tensor:
        """``uint8`` (or [0, 1] float) images (…, 3, S, S) → the network's float input."""
        x = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
        shape = (3, 1, 1)
        mean = torch.tensor(self.mean, device=x.device).view(shape)
        std = torch.tensor(self.std, device=x.device).view(shape)
        return (x - mean) / std

    def __call__(self, photo) -> torch.Tensor:
        return self.normalise(self.prepare(photo))

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> "Preprocess":
        known = {"image_size", "mean", "std", "resize"}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"Unknown preprocessing settings {sorted(unknown)}: this model was saved by "
                             "a newer course_lib. Update the course, or re-export the model.")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


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
                    scan.problems.append(f"{rel}: {HEIC_HELP}")
                elif path.suffix.lower() not in IMAGE_EXTENSIONS:
                    scan.problems.append(f"{rel}: not an image file (extension "
                                         f"{path.suffix or 'none'!r}; accepted: "
                                         f"{', '.join(IMAGE_EXTENSIONS)}). Move it out of the folder.")
                elif not path.exists():
                    scan.problems.append(f"{rel}: a broken link (its target is gone). Remove the link.")
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


class PhotoSet(Dataset):
    """Photos read once and kept as ``uint8`` tensors (N, 3, S, S), with labels and file names.

    ``photos[i]`` is ``(preprocess.normalise(image), label)``: the network's input.
    ``paths`` are relative to ``root``; ``images`` are what the model sees (cropped), for plots.
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
            images.append(preprocess.prepare(root / rel, root=root))
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
    stacked = torch.stack(images) if images else torch.zeros(0, 3, size, size, dtype=torch.uint8)
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


def load_folder(root: str | Path, preprocess: Preprocess, *, on_bad: str = "error",
                progress: bool | None = None) -> PhotoSet:
    """Every photo of a folder in one :class:`PhotoSet`, unsplit (all parts of a split layout).

    Files that are not photos (a ``.txt``, a ``.heic``) and unreadable photos raise
    :class:`BadImageError` listing them, one per line; with ``on_bad="skip"`` they are left out
    (and left where they are) with one warning naming them.
    """
    if on_bad not in ("error", "skip"):
        raise ValueError(f"on_bad must be 'error' or 'skip', got {on_bad!r}.")
    scan = scan_folder(root)
    not_photos = [p for p in scan.problems if "/" in p.split(":")[0] and not p.split(":")[0].endswith("/")]
    if not_photos and on_bad == "error":
        raise BadImageError("These files are not photos this course can read:\n  " + "\n  ".join(not_photos)
                            + "\nMove them out of the folder, or load with on_bad='skip'.")
    if not_photos:
        warnings.warn(f"Skipped {len(not_photos)} file(s) that are not photos: "
                      + ", ".join(p.split(":")[0] for p in not_photos), stacklevel=2)
    entries = [e for part in scan.files.values() for e in part]
    return load_photos(scan.root, entries, scan.classes, preprocess, on_bad=on_bad, progress=progress)
