"""Classify photo files with an exported model, from Python or from the shell.

From the shell (one line per photo: the file, the class, its probability)::

    python -m course_lib.predict MODEL_DIR photo.jpg [more.jpg ...] [a_folder]
    python -m course_lib.predict MODEL_DIR a_folder --top 3 --csv predictions.csv

From Python::

    from course_lib.predict import predict
    label, probability = predict("outputs/my_model", "photo.jpg")

Photos are read in batches (decoding in worker processes for many photos) with a progress bar
and the time left. A photo that cannot be read gets an ``error:`` line saying why, and the
others are still classified. Exit status: 0 if every photo was classified, 1 if any failed (or
none was found), 2 if the model folder or the command line is wrong; errors are one line,
never a traceback.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import uuid
from functools import lru_cache
from pathlib import Path

from .errors import CourseError
from .export import PhotoClassifier, Prediction, load_classifier


@lru_cache(maxsize=4)
def _cached(model_dir: str) -> PhotoClassifier:
    return load_classifier(model_dir)


def predict(model_dir: str | Path, photo) -> Prediction:
    """``(class, probability)`` for one photo (path or PIL image); the model is loaded once."""
    return _cached(str(Path(model_dir).expanduser().resolve())).predict(photo)


def one_line(error: BaseException) -> str:
    """An error as one line: its message with line breaks and indentation folded into spaces.

    >>> one_line(ValueError("bad folder.\\n  Expected:\\n    a/"))
    'bad folder. Expected: a/'
    """
    text = " ".join(part.strip() for part in str(error).splitlines() if part.strip())
    return text or type(error).__name__


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.predict",
        description="Classify photos with a model saved by export_classifier or python -m course_lib.train. "
                    "Prints one line per photo: the file, then the class and its probability "
                    "(the K most probable with --top K).")
    parser.add_argument("model_dir", type=Path, help="the model folder (export_classifier or course_lib.train wrote it)")
    parser.add_argument("photos", nargs="+", type=Path, help="photo files and/or folders of photos")
    parser.add_argument("--top", type=int, default=1, metavar="K",
                        help="show the K most probable classes of each photo (default 1)")
    parser.add_argument("--csv", type=Path, default=None, metavar="FILE",
                        help="also write the predictions to this CSV file (written when all are done)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="photos per batch (default: by image size, shared between the CPU cores)")
    parser.add_argument("--workers", type=int, default=None,
                        help="processes decoding photos (default: by the number of photos and cores; 0: none)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    """The shell command; returns its exit status (0 all classified, 1 some failed, 2 bad model or usage)."""
    args = _parser().parse_args(argv)
    if args.top < 1 or (args.batch_size is not None and args.batch_size < 1) or (
            args.workers is not None and args.workers < 0):
        print("error: --top and --batch-size must be at least 1, --workers at least 0.", file=sys.stderr)
        return 2
    if args.csv is not None and not args.csv.expanduser().resolve().parent.is_dir():
        print(f"error: cannot write {args.csv}: its folder does not exist.", file=sys.stderr)
        return 2
    try:
        model = load_classifier(args.model_dir)
    except CourseError as error:
        print(f"error: {one_line(error)}", file=sys.stderr)
        return 2
    except Exception as error:  # anything else about the folder: still one line, never a traceback
        print(f"error: cannot load the model folder {args.model_dir} ({type(error).__name__}: "
              f"{one_line(error)}). Export the model again.", file=sys.stderr)
        return 2
    from .photos import list_photos

    files = list_photos(args.photos)
    if not files:
        print("error: no photos found in " + ", ".join(map(str, args.photos)), file=sys.stderr)
        return 1
    try:
        return _classify(model, files, args)
    except KeyboardInterrupt:
        print("interrupted: the lines above were printed; no CSV file was written.", file=sys.stderr)
        return 130


def _classify(model: PhotoClassifier, files: list[Path], args) -> int:
    from tqdm.auto import tqdm

    k = min(args.top, len(model.classes))
    rows, failed = [], 0
    results = model.classify_files(files, batch_size=args.batch_size, num_workers=args.workers,
                                   progress=False if args.quiet else None)
    for path, probs, error in results:
        if error:
            failed += 1
            reason = error.split(": ", 1)[-1]
            rows.append([str(path)] + [""] * (2 * k) + [reason])
            tqdm.write(f"{path}\terror: {reason}", file=sys.stdout)
            continue
        top = probs.topk(k)
        pairs = [(model.classes[int(i)], float(p)) for p, i in zip(top.values, top.indices)]
        rows.append([str(path)] + [v for label, p in pairs for v in (label, f"{p:.4f}")] + [""])
        tqdm.write(f"{path}\t" + "\t".join(f"{label}\t{p:.3f}" for label, p in pairs), file=sys.stdout)
    if args.csv is not None:
        target = args.csv.expanduser()
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
        header = ["file"] + [f"{name}_{j}" for j in range(1, k + 1) for name in ("label", "probability")] + ["error"]
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(rows)
        os.replace(tmp, target)
    return 1 if failed else 0


if __name__ == "__main__":
    from .cpu import reuse_large_blocks

    reuse_large_blocks()   # the command's own process: the forward pass reuses its buffers
    sys.exit(main())
