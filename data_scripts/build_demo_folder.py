"""Build the offline demo folder of notebook 10: 200 different real scans in four class folders.

    python data_scripts/build_demo_folder.py [--dest DIR]

The photos are handwritten digits from scikit-learn's bundled ``load_digits`` (1,797 scans
written by 43 people; no network): the first 50 scans of each of the four digits that look most
alike (3, 5, 8 and 9), each an 8×8 grey scan shown as a 100×100 JPEG, written into
``DEST/three/``, ``DEST/five/``, ``DEST/eight/`` and ``DEST/nine/``: the flat layout a
learner's own folder has (notebook 10 splits it into train / validation / test). Every file is
a different scan, so no photo can end up in two parts of the split. The task is hard enough
for a frozen ImageNet network to make mistakes worth looking at.

To exercise the photo reader as a phone's folder would, some files are stored the way cameras
store them: 16 portrait photos saved sideways with an EXIF orientation tag (upright only if the
reader applies the tag), and 4 large 12-megapixel JPEGs (4000×3000, the scan in the middle of a
grey frame). Deterministic: the same call gives byte-identical files. A hidden
``.demo_version`` file records which demo this is (:func:`is_built`) and ``.demo_files`` the
files it wrote, so :func:`changes` can tell whether the cleaner of notebook 10 has moved some
(and :func:`restore` puts the demo back as built, with a fresh split).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

DIGITS = {"three": 3, "five": 5, "eight": 8, "nine": 9}
CLASSES = tuple(DIGITS)
PER_CLASS = 50
SIZE = 100             # 8 px scans -> 100 px files, like small web photos
ROTATED = (0, 12, 25, 37)  # these scans of each class are stored sideways with EXIF
LARGE = (3,)           # these scans of each class are written as 12-megapixel JPEGs
ORIENTATION = 0x0112   # the EXIF tag
VERSION = "digits-3589-50/2"
MARKER = ".demo_version"
MANIFEST = ".demo_files"


def _upright(scan: np.ndarray):
    """An 8×8 scan (ink 0..16) as a SIZE×SIZE grey image: dark ink on white paper."""
    from PIL import Image

    paper = (255 - scan * 255 / 16).round().astype(np.uint8)
    return Image.fromarray(paper, mode="L").resize((SIZE, SIZE), Image.Resampling.BICUBIC)


def _portrait_sideways(image):
    """A portrait canvas (3:4) around the photo, stored rotated with EXIF orientation 6."""
    from PIL import Image

    w = image.width
    canvas = Image.new("L", (w, w * 4 // 3), 128)
    canvas.paste(image, (0, (canvas.height - w) // 2))
    exif = Image.Exif()
    exif[ORIENTATION] = 6                           # "rotate 90° clockwise to display"
    return canvas.transpose(Image.Transpose.ROTATE_90), exif


def _large(image):
    from PIL import Image

    canvas = Image.new("L", (4000, 3000), 128)
    canvas.paste(image.resize((3000, 3000), Image.Resampling.BICUBIC), (500, 0))
    return canvas


def is_built(dest: str | Path) -> bool:
    """True if ``dest`` holds this version of the demo folder (an older demo is rebuilt)."""
    marker = Path(dest) / MARKER
    return marker.is_file() and marker.read_text().strip() == VERSION


def build(dest: str | Path, *, large: bool = True) -> Path:
    """Write ``dest/<class>/*.jpg`` (4 classes × 50 scans); return ``dest``.

    The folder is built next to ``dest`` and renamed into place, so an interrupted build never
    leaves a half-written folder behind. ``large=False`` skips the 12 MP files (for tests).
    """
    from sklearn.datasets import load_digits

    dest = Path(dest)
    digits = load_digits()
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".building-", dir=dest.parent))
    try:
        for name, digit in DIGITS.items():
            folder = work / name
            folder.mkdir()
            for i, index in enumerate(np.flatnonzero(digits.target == digit)[:PER_CLASS]):
                image = _upright(digits.images[index])
                target = folder / f"{name}_{i:03d}.jpg"
                if i in LARGE and large:
                    _large(image).save(target, quality=90)
                elif i in ROTATED:
                    sideways, exif = _portrait_sideways(image)
                    sideways.save(target, quality=92, exif=exif)
                else:
                    image.save(target, quality=92)
        (work / MANIFEST).write_text("".join(f"{p}\n" for p in _files(work)), encoding="utf-8")
        (work / MARKER).write_text(VERSION + "\n")
        if dest.exists():
            shutil.rmtree(dest)
        work.rename(dest)
    finally:
        if work.exists():
            shutil.rmtree(work)
    return dest


def _files(dest: Path) -> list[str]:
    """Every non-hidden file under ``dest``, as sorted relative POSIX paths."""
    out = []
    for path in Path(dest).rglob("*"):
        rel = path.relative_to(dest)
        if path.is_file() and not any(part.startswith(".") for part in rel.parts):
            out.append(rel.as_posix())
    return sorted(out)


def changes(dest: str | Path) -> list[str]:
    """How ``dest`` differs from the demo as built: ``missing: <file>`` and ``added: <file>`` lines.

    Empty while the demo is untouched; a photo the cleaner moved shows as one missing and one
    added file (``_set_aside/...`` or another class folder).
    """
    dest = Path(dest)
    manifest = dest / MANIFEST
    if not manifest.is_file():
        return [f"missing: {MANIFEST} (not a demo folder this script built)"]
    built = set(manifest.read_text(encoding="utf-8").split())
    now = set(_files(dest))
    return [f"missing: {p}" for p in sorted(built - now)] + [f"added: {p}" for p in sorted(now - built)]


def restore(dest: str | Path) -> Path:
    """Put the demo folder back as built (the cleaner's moves undone) and forget its kept split.

    The next ``split_folder`` then makes the same seeded split as the first time.
    """
    from course_lib.splits import default_split_file

    dest = build(dest)
    default_split_file(dest).unlink(missing_ok=True)
    return dest


def main(argv=None) -> int:
    from course_lib.paths import output_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=None,
                        help="folder to create (default: outputs/demo_digits)")
    args = parser.parse_args(argv)
    dest = build(args.dest or output_dir() / "demo_digits")
    print(f"Built {dest}: {', '.join(CLASSES)}, {PER_CLASS} scans each.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
