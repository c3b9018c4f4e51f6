"""Split a folder of your photos into train / validation / test once, and keep the split.

``split_folder(MY_FOLDER)`` splits each class in the same proportions (stratified), with a
seed, and writes the split to a JSON file under ``outputs/splits/`` (never into your folder).
Running it again reads that file, so the validation and test photos stay the same and numbers
from different runs stay comparable. A folder that already has ``train/``, ``val/`` and
``test/`` sub-folders is used as it is.

>>> import tempfile; from PIL import Image
>>> root = Path(tempfile.mkdtemp()) / "pets"
>>> for c in ("cat", "dog"):
...     (root / c).mkdir(parents=True)
...     for i in range(10): Image.new("RGB", (8, 8)).save(root / c / f"{i}.png")
>>> s = split_folder(root, split_file=Path(tempfile.mkdtemp()) / "split.json")
>>> print(s.table())
class   train  val  test
cat         6    2     2
dog         6    2     2
total      12    4     4
>>> split_folder(root, split_file=s.file).parts == s.parts     # re-run: the same split
True
"""
from __future__ import annotations

import hashlib
import json
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import DatasetLayoutError
from .photos import FolderScan, PhotoSet, scan_folder

PARTS = ("train", "val", "test")
MIN_PER_CLASS = 5
FORMAT = "course_lib.split/1"


@dataclass
class FolderSplit:
    """Which photo of a folder is in which part. ``parts[part]`` lists ``(relative path, class)``."""

    root: Path
    classes: list[str]
    parts: dict[str, list[tuple[str, str]]]
    layout: str = "flat"
    seed: int = 0
    val: float = 0.2
    test: float = 0.2
    file: Path | None = None
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, dict[str, int]]:
        """``{class: {part: number of photos}}``."""
        out = {c: {p: 0 for p in PARTS} for c in self.classes}
        for part, entries in self.parts.items():
            for _, c in entries:
                out[c][part] += 1
        return out

    def table(self) -> str:
        """Counts per class and part, as a small text table."""
        counts = self.counts()
        width = max(5, *(len(c) for c in self.classes))
        lines = [f"{'class':<{width}}  train  val  test"]
        for c in self.classes:
            n = counts[c]
            lines.append(f"{c:<{width}}  {n['train']:>5d}  {n['val']:>3d}  {n['test']:>4d}")
        totals = {p: len(self.parts[p]) for p in PARTS}
        lines.append(f"{'total':<{width}}  {totals['train']:>5d}  {totals['val']:>3d}  {totals['test']:>4d}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{p}: {len(self.parts[p])}" for p in PARTS)
        return f"FolderSplit({self.root.name!r}, {len(self.classes)} classes; {sizes})"

    def to_dict(self) -> dict:
        return {"format": FORMAT, "root": str(self.root), "layout": self.layout, "seed": self.seed,
                "val": self.val, "test": self.test, "classes": self.classes,
                "parts": {p: [list(e) for e in self.parts[p]] for p in PARTS}}

    def save(self, file: str | Path | None = None) -> Path:
        """Write the split as JSON (UTF-8, non-ASCII names kept readable)."""
        file = Path(file or self.file)
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_name(f".{file.name}.{uuid.uuid4().hex[:8]}.part")  # unique: writers never clash
        tmp.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.replace(file)
        self.file = file
        return file

    def move(self, old_rel: str, new_rel: str | None, new_class: str | None = None) -> None:
        """Record that a photo moved (``new_rel=None``: set aside, no longer in any part)."""
        for part in PARTS:
            for i, (rel, cls) in enumerate(self.parts[part]):
                if rel == old_rel:
                    if new_rel is None:
                        del self.parts[part][i]
                    else:
                        self.parts[part][i] = (new_rel, new_class or cls)
                    if self.file is not None:
                        self.save()
                    return
        raise KeyError(f"{old_rel} is not in this split.")


def default_split_file(root: str | Path) -> Path:
    """Where the split of ``root`` is kept: ``outputs/splits/<folder name>-<hash of its path>.json``."""
    from .paths import output_dir

    root = Path(root).expanduser().resolve()
    digest = hashlib.sha1(str(root).encode("utf-8")).hexdigest()[:8]
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in root.name) or "folder"
    return output_dir("splits") / f"{safe}-{digest}.json"


def _counts_for(n: int, val: float, test: float) -> tuple[int, int]:
    """How many photos of a class of ``n`` go to validation and to test (≥ 1 stays in train)."""
    if n >= MIN_PER_CLASS:
        n_test = max(1, int(round(n * test))) if test > 0 else 0
        n_val = max(1, int(round(n * val))) if val > 0 else 0
        while n - n_test - n_val < 1:
            n_val -= 1
        return n_val, n_test
    n_test = 1 if n >= 3 and test > 0 else 0
    n_val = 1 if n - n_test >= 2 and val > 0 else 0
    return n_val, n_test


def _new_split(scan: FolderScan, seed: int, val: float, test: float) -> dict[str, list]:
    rng = np.random.default_rng(seed)
    parts: dict[str, list] = {p: [] for p in PARTS}
    by_class: dict[str, list[str]] = {c: [] for c in scan.classes}
    for rel, cls in scan.files["all"]:
        by_class[cls].append(rel)
    for cls in scan.classes:
        files = sorted(by_class[cls])
        order = rng.permutation(len(files))
        n_val, n_test = _counts_for(len(files), val, test)
        picked = [files[i] for i in order]
        parts["test"] += [(r, cls) for r in picked[:n_test]]
        parts["val"] += [(r, cls) for r in picked[n_test:n_test + n_val]]
        parts["train"] += [(r, cls) for r in picked[n_test + n_val:]]
    return {p: sorted(v) for p, v in parts.items()}


def _warn_small(split: FolderSplit) -> None:
    small = {c: sum(n.values()) for c, n in split.counts().items() if 0 < sum(n.values()) < MIN_PER_CLASS}
    for cls, n in small.items():
        message = (f"Class {cls!r} has only {n} photo(s): too few to split into train, validation "
                   f"and test (at least {MIN_PER_CLASS}; 20 or more is better). Its validation and test "
                   "numbers mean little; add photos of it.")
        split.notes.append(message)
        warnings.warn(message, stacklevel=3)


def split_folder(root: str | Path, *, val: float = 0.2, test: float = 0.2, seed: int = 0,
                 split_file: str | Path | None = None, resplit: bool = False,
                 scan: FolderScan | None = None) -> FolderSplit:
    """Split a photo folder into train / val / test, stratified and seeded; keep the split.

    - ``root/<class>/<photos>``: each class is split ``1 - val - test`` / ``val`` / ``test``
      (at least one photo stays in train); a class with fewer than 5 photos gets a warning.
    - ``root/train|val|test/<class>/<photos>``: that split is used as it is.
    - The split is saved to ``split_file`` (default: :func:`default_split_file`); the next call
      reads it back. Photos added since go to train (validation and test stay fixed, so numbers
      stay comparable); photos gone are dropped; both with a note. To split again, pass
      ``resplit=True``.
    - ``scan``: :func:`course_lib.photos.scan_folder` of ``root`` made just before (the shell
      command's check), so a big folder is not listed twice.
    """
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise ValueError(f"val and test are fractions with val + test < 1; got val={val}, test={test}.")
    if scan is None or scan.root != Path(root).expanduser():
        scan = scan_folder(root)
    file = Path(split_file) if split_file is not None else default_split_file(scan.root)
    if scan.layout == "split":
        parts = {p: sorted(scan.files.get(p, [])) for p in PARTS}
        split = FolderSplit(scan.root, scan.classes, parts, "split", seed, val, test, file)
        if not parts["test"]:
            split.notes.append("No test/ folder: the final accuracy will be measured on val/, which also "
                               "chose the model. Add a test/ folder for an honest estimate.")
        if not parts["val"]:
            split.notes.append("No val/ folder: nothing will choose the epoch honestly. Add a val/ folder.")
        _warn_small(split)
        split.save()
        return split
    if file.is_file() and not resplit:
        split = _reuse(scan, file, seed, val, test)
    else:
        split = FolderSplit(scan.root, scan.classes, _new_split(scan, seed, val, test), "flat", seed, val,
                            test, file)
    _warn_small(split)
    split.save()
    return split


def _reuse(scan: FolderScan, file: Path, seed: int, val: float, test: float) -> FolderSplit:
    stored = json.loads(file.read_text(encoding="utf-8"))
    if stored.get("format") != FORMAT:
        raise DatasetLayoutError(f"{file} is not a split file this course wrote. Delete it, or pass "
                                 "split_file= another path.")
    if (stored["seed"], stored["val"], stored["test"]) != (seed, val, test):
        raise DatasetLayoutError(
            f"A split of this folder is already saved in {file} with seed={stored['seed']}, "
            f"val={stored['val']}, test={stored['test']}; you asked for seed={seed}, val={val}, "
            f"test={test}. Pass resplit=True to replace it (the validation and test photos will "
            "change, so earlier numbers are no longer comparable), or keep the saved settings.")
    present = dict(scan.files["all"])
    parts: dict[str, list] = {p: [] for p in PARTS}
    known, gone = set(), []
    for part in PARTS:
        for rel, cls in stored["parts"][part]:
            if present.get(rel) == cls:
                parts[part].append((rel, cls))
                known.add(rel)
            else:
                gone.append(rel)
    new = sorted((rel, cls) for rel, cls in present.items() if rel not in known)
    parts["train"] = sorted(parts["train"] + new)
    split = FolderSplit(scan.root, scan.classes, parts, "flat", seed, val, test, file)
    split.notes.append(f"Reused the split saved in {file.name}.")
    if new:
        split.notes.append(f"{len(new)} photo(s) added since the split was made went to train "
                           "(validation and test stay fixed). Pass resplit=True to split again.")
    if gone:
        split.notes.append(f"{len(gone)} photo(s) of the saved split are no longer in the folder and "
                           "were left out.")
    return split


def load_split(split: FolderSplit, preprocess, *, on_bad: str = "error",
               progress: bool | None = None) -> dict[str, PhotoSet]:
    """Read every part of ``split`` into memory: ``{"train": PhotoSet, "val": ..., "test": ...}``.

    For a few hundred small photos (plots, augmentation): memory grows with every photo. To
    compute features of a whole folder, stream it instead with
    :func:`course_lib.recipe.split_features` (flat memory, cached). A progress bar shows while
    reading many photos (see :func:`course_lib.photos.load_photos`).
    """
    from .photos import load_photos

    return {part: load_photos(split.root, split.parts[part], split.classes, preprocess, on_bad=on_bad,
                              progress=progress, desc=f"reading {part}")
            for part in PARTS}
