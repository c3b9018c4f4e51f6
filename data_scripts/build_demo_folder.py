"""Build the small offline photo folder used by notebook 10 (no network needed).

    python data_scripts/build_demo_folder.py [--dest DIR] [--per-class 24]

Three texture classes cut from real photos that ship with scikit-image (brick, grass,
gravel): random 96×96 crops, saved as image files in the layout ``load_image_folder``
expects. Training crops come from the left 60 % of each photo and test crops from the right
40 %, so no test pixel was ever seen in training (crops from overlapping regions would leak).
Deterministic: the same seed gives byte-identical files.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

CLASSES = ("brick", "grass", "gravel")
CROP = 96


def build(dest: Path, per_class: int = 24, test_per_class: int = 12, seed: int = 0) -> Path:
    """Write ``dest/train/<class>/*.png`` and ``dest/test/<class>/*.png``; return ``dest``."""
    import skimage.data
    from PIL import Image

    rng = np.random.default_rng(seed)
    for name in CLASSES:
        photo = getattr(skimage.data, name)()
        split = int(photo.shape[1] * 0.6)
        regions = {"train": (0, split), "test": (split, photo.shape[1])}
        for part, count in (("train", per_class), ("test", test_per_class)):
            folder = dest / part / name
            folder.mkdir(parents=True, exist_ok=True)
            lo, hi = regions[part]
            for i in range(count):
                top = int(rng.integers(0, photo.shape[0] - CROP))
                left = int(rng.integers(lo, hi - CROP))
                Image.fromarray(photo[top:top + CROP, left:left + CROP]).save(folder / f"{name}_{i:03d}.png")
    return dest


def main(argv=None) -> int:
    from course_lib.paths import output_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=None, help="folder to create (default: outputs/demo_photos)")
    parser.add_argument("--per-class", type=int, default=24, help="training crops per class")
    args = parser.parse_args(argv)
    dest = build(args.dest or output_dir("demo_photos"), per_class=args.per_class)
    print(f"Built {dest} ({', '.join(CLASSES)}; train/ and test/).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
