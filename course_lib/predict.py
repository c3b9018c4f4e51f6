"""Classify photo files with an exported model, from Python or from the shell.

From the shell (one line per photo: the file, the class, its probability)::

    python -m course_lib.predict MODEL_DIR photo.jpg [more.jpg ...] [a_folder]

From Python::

    from course_lib.predict import predict
    label, probability = predict("outputs/my_model", "photo.jpg")

A photo that cannot be read gets an ``error:`` line saying why, and the others are still
classified; the exit status is 1 if any photo failed, 2 if the model folder is wrong.
"""
from __future__ import annotations

import argparse
import sys
from functools import lru_cache
from pathlib import Path

from .errors import BadImageError
from .export import ModelFolderError, PhotoClassifier, Prediction, load_classifier
from .photos import list_photos


@lru_cache(maxsize=4)
def _cached(model_dir: str) -> PhotoClassifier:
    return load_classifier(model_dir)


def predict(model_dir: str | Path, photo) -> Prediction:
    """``(class, probability)`` for one photo (path or PIL image); the model is loaded once."""
    return _cached(str(Path(model_dir).expanduser().resolve())).predict(photo)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib.predict",
                                     description="Classify photos with a model saved by export_classifier.")
    parser.add_argument("model_dir", type=Path, help="the folder export_classifier wrote")
    parser.add_argument("photos", nargs="+", type=Path, help="photo files and/or folders of photos")
    args = parser.parse_args(argv)
    try:
        model = load_classifier(args.model_dir)
    except ModelFolderError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    files = list_photos(args.photos)
    if not files:
        print("error: no photos found in " + ", ".join(map(str, args.photos)), file=sys.stderr)
        return 1
    failed = 0
    for path in files:
        try:
            label, probability = model.predict(path)
        except BadImageError as error:
            failed += 1
            print(f"{path}\terror: {str(error).split(': ', 1)[-1]}", flush=True)
            continue
        print(f"{path}\t{label}\t{probability:.3f}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
