"""Build the offline demo folder of notebook 10: 200 different real photos in two class folders.

    python data_scripts/build_demo_folder.py [--dest DIR]

The photos are scikit-image's ``lfw_subset`` (it ships with scikit-image, no network): 100 faces
from Labeled Faces in the Wild and 100 patches of other photos, each 25×25 grayscale, written
as JPEG files into ``DEST/face/`` and ``DEST/not_face/``, the flat layout a learner's own folder
has (notebook 10 splits it into train / validation / test). Every file is a different photo, so
no photo can end up in two parts of the split.

To exercise the photo reader as a phone's folder would, some files are stored the way cameras
store them: 8 portrait photos saved sideways with an EXIF orientation tag (upright only if the
reader applies the tag), and 4 large 12-megapixel JPEGs (4000×3000, the photo in the middle
of a grey frame). Deterministic: the same call gives byte-identical files.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

CLASSES = ("face", "not_face")
UPSCALE = 4            # 25 px -> 100 px files, like small web photos
ROTATED_EVERY = 25     # photos 0, 25, 50, 75 of each class are stored sideways with EXIF
LARGE = (3, 53)        # these photos of each class are written as 12-megapixel JPEGs
ORIENTATION = 0x0112   # the EXIF tag


def _upright(array: np.ndarray, size: int):
    from PIL import Image

    return Image.fromarray((array * 255).round().astype(np.uint8), mode="L").resize(
        (size, size), Image.Resampling.BICUBIC)


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


def build(dest: str | Path, *, large: bool = True) -> Path:
    """Write ``dest/face/*.jpg`` and ``dest/not_face/*.jpg`` (200 photos); return ``dest``.

    The folder is built next to ``dest`` and renamed into place, so an interrupted build never
    leaves a half-written folder behind. ``large=False`` skips the 12 MP files (for tests).
    """
    from PIL import Image
    from skimage.data import lfw_subset

    dest = Path(dest)
    photos = lfw_subset()                           # (200, 25, 25) in [0, 1]; faces first
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".building-", dir=dest.parent))
    try:
        for c, name in enumerate(CLASSES):
            folder = work / name
            folder.mkdir()
            for i in range(100):
                array = photos[i if name == "face" else 100 + i]
                image = _upright(array, 25 * UPSCALE)
                target = folder / f"{name}_{i:03d}.jpg"
                if i in LARGE and large:
                    _large(image).save(target, quality=90)
                elif i % ROTATED_EVERY == 0 or i % ROTATED_EVERY == 12:
                    sideways, exif = _portrait_sideways(image)
                    sideways.save(target, quality=92, exif=exif)
                else:
                    image.save(target, quality=92)
        if dest.exists():
            shutil.rmtree(dest)
        work.rename(dest)
    finally:
        if work.exists():
            shutil.rmtree(work)
    return dest


def main(argv=None) -> int:
    from course_lib.paths import output_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=None, help="folder to create (default: outputs/demo_faces)")
    args = parser.parse_args(argv)
    dest = build(args.dest or output_dir() / "demo_faces")
    print(f"Built {dest}: {', '.join(CLASSES)}, 100 photos each.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
