"""See what a classifier gets wrong, and fix the data it learned from, without losing a photo.

- :func:`confusion_matrix`, :func:`per_class_metrics`, :func:`report`: the numbers;
- :func:`worst_mistakes` and :func:`plot_worst`: the validation photos the model is most
  confidently wrong about (the highest loss first), with their probabilities;
- :class:`Cleaner`: set a photo aside (moved to ``<your folder>/_set_aside/``, never deleted) or
  relabel it (moved to another class folder); :func:`show_cleaner` puts buttons on the worst
  photos (:func:`cleaner_widget`) and prints the same actions as lines of code for a page
  without widgets (:func:`cleaner_fallback`), refreshed after every move.

>>> cm = confusion_matrix([0, 0, 1, 1, 1], [0, 1, 1, 1, 0], 2); cm
array([[1, 1],
       [1, 2]])
>>> print(report(cm, ["cat", "dog"]))
class  precision  recall  photos
cat        0.500   0.500       2
dog        0.667   0.667       3
accuracy 0.600 on 5 photos
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .photos import SET_ASIDE


def confusion_matrix(labels, predictions, num_classes: int) -> np.ndarray:
    """``cm[i, j]`` = how many photos of true class ``i`` were predicted as class ``j``."""
    y = np.asarray(labels, dtype=np.int64).reshape(-1)
    p = np.asarray(predictions, dtype=np.int64).reshape(-1)
    if len(y) != len(p):
        raise ValueError(f"{len(y)} labels but {len(p)} predictions; they must match.")
    return np.bincount(y * num_classes + p, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def per_class_metrics(cm: np.ndarray, classes: Sequence[str]) -> list[dict]:
    """Precision (of the photos predicted as the class, the share right), recall (of the
    photos of the class, the share found) and support, per class. An undefined ratio is NaN.

    >>> per_class_metrics(np.array([[3, 1], [0, 0]]), ["a", "b"])[1]["precision"]
    0.0
    """
    cm = np.asarray(cm)
    rows = []
    for i, name in enumerate(classes):
        predicted, actual = cm[:, i].sum(), cm[i].sum()
        rows.append({"class": name, "precision": float(cm[i, i] / predicted) if predicted else float("nan"),
                     "recall": float(cm[i, i] / actual) if actual else float("nan"), "support": int(actual)})
    return rows


def report(cm: np.ndarray, classes: Sequence[str]) -> str:
    """Per-class precision and recall, and the accuracy, as text."""
    width = max(5, *(len(c) for c in classes))
    lines = [f"{'class':<{width}}  precision  recall  photos"]
    for row in per_class_metrics(cm, classes):
        lines.append(f"{row['class']:<{width}}  {row['precision']:>9.3f}  {row['recall']:>6.3f}  {row['support']:>6d}")
    total = int(np.asarray(cm).sum())
    acc = float(np.trace(cm) / total) if total else float("nan")
    lines.append(f"accuracy {acc:.3f} on {total} photos")
    return "\n".join(lines)


def accuracy_interval(correct: int, total: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for an accuracy of ``correct`` out of ``total`` photos.

    On a test set of 40 photos, 40/40 correct still leaves the true accuracy anywhere above
    about 0.91: small test sets give wide intervals, so say so next to the number.

    >>> [round(v, 3) for v in accuracy_interval(40, 40)]
    [0.912, 1.0]
    """
    from statistics import NormalDist   # the standard library's quantile: no SciPy import

    if total <= 0:
        raise ValueError("An accuracy needs at least one photo.")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = correct / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * np.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, float(centre - half)), min(1.0, float(centre + half))


def plot_confusion(cm: np.ndarray, classes: Sequence[str], ax=None, title: str = "Confusion matrix (validation)"):
    """The confusion matrix as a labelled heat map with the counts written in."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(1.2 * len(classes) + 2, 1.0 * len(classes) + 1.6))
    ax.imshow(cm, cmap="Blues")
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(j, i, int(cm[i, j]), ha="center", va="center",
                    color="white" if cm[i, j] > cm.max() / 2 else "black")
    ax.set_xticks(range(len(classes)), classes, rotation=30, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    return ax


@dataclass
class Mistake:
    """One photo with what the model said about it."""

    index: int
    path: str
    true: str
    predicted: str
    probability: float   # of the predicted class
    p_true: float        # of the true class

    @property
    def wrong(self) -> bool:
        return self.true != self.predicted


def worst_mistakes(probabilities: torch.Tensor, labels, classes: Sequence[str], paths: Sequence[str],
                   n: int = 8, only_wrong: bool = False) -> list[Mistake]:
    """The ``n`` photos with the lowest probability on their true class (the highest loss).

    Lowest first. With ``only_wrong=True`` only wrong predictions are kept; otherwise the list
    also holds the least confident correct ones, which are worth a look too.

    >>> probs = torch.tensor([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4]])
    >>> [(m.path, m.predicted, round(m.probability, 1)) for m in worst_mistakes(probs, [0, 0, 1], ["a", "b"], ["x", "y", "z"], n=2)]
    [('y', 'b', 0.7), ('z', 'a', 0.6)]
    """
    probs = torch.as_tensor(probabilities, dtype=torch.float32)
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    p_true = probs[torch.arange(len(y)), y]
    order = torch.argsort(p_true, stable=True).tolist()
    out = []
    for i in order:
        pred = int(probs[i].argmax())
        m = Mistake(i, paths[i], classes[int(y[i])], classes[pred], float(probs[i, pred]), float(p_true[i]))
        if m.wrong or not only_wrong:
            out.append(m)
    return out[:n]


def plot_worst(mistakes: Sequence[Mistake], images, ncols: int = 4,
               title: str = "Worst validation photos (lowest probability on the true class)"):
    """A grid of the photos in ``mistakes``: ``images[m.index]`` is photo ``m`` ((3, H, W), ``uint8``
    or float in [0, 1]; a tensor, or the lazy ``features.images`` that reads only these)."""
    import matplotlib.pyplot as plt

    if not mistakes:
        print("Nothing to show: no photos given.")
        return None
    ncols = min(ncols, len(mistakes))
    nrows = int(np.ceil(len(mistakes) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.3 * ncols, 3.0 * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, m in zip(axes.flat, mistakes):
        ax.imshow(images[m.index].permute(1, 2, 0).numpy())
        colour = "firebrick" if m.wrong else "darkgreen"
        ax.set_title(f"true {m.true}\npred {m.predicted} ({m.probability:.2f})\n{_short(m.path)}",
                     fontsize=7, color=colour)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def _short(path: str, n: int = 26) -> str:
    return path if len(path) <= n else "…" + path[-(n - 1):]


# --------------------------------------------------------------------------- cleaning

@dataclass
class Cleaner:
    """Move photos of a folder: set one aside, or relabel it. Never deletes anything.

    Set-aside photos go to ``root/_set_aside/<their relative path>`` (the folder scan skips it,
    and you can move them back by hand); relabelled photos move to the other class's folder
    (in the same ``train/``, ``val/`` or ``test/`` part for a split layout). A name already taken
    gets a numbered suffix. If a :class:`~course_lib.splits.FolderSplit` is given, its saved
    split is updated, so the photo keeps its part. ``log`` lists every move; ``moved`` maps each
    moved photo's old path to its new one.
    """

    root: Path
    split: object | None = None
    log: list[str] = field(default_factory=list)
    moved: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root = Path(self.root)

    def _free(self, target: Path) -> Path:
        stem, suffix, i = target.stem, target.suffix, 1
        while target.exists():
            target = target.with_name(f"{stem}_{i}{suffix}")
            i += 1
        return target

    def _check(self, rel: str) -> Path:
        source = self.root / rel
        if not source.is_file():
            where = f" (already moved to {self.moved[rel]})" if rel in self.moved else " (moved or deleted?)"
            raise FileNotFoundError(f"{rel} is not a file under {self.root}{where}.")
        return source

    @staticmethod
    def class_of(rel: str) -> str:
        """The class folder of a photo's relative path (``cat/a.jpg`` or ``train/cat/a.jpg``)."""
        parts = Path(rel).parts
        return parts[1] if _in_split_layout(parts) else parts[0]

    def _move(self, rel: str, target: Path, verb: str, new_class: str | None) -> Path:
        """Move ``root/rel`` to a free name near ``target``; log it and update the split."""
        source = self._check(rel)
        target = self._free(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(source), str(target))
        new_rel = target.relative_to(self.root).as_posix()
        self.log.append(f"{verb} {rel} -> {new_rel}")
        self.moved[rel] = new_rel
        if self.split is not None:
            self.split.move(rel, new_rel if new_class else None, new_class)
        return target

    def set_aside(self, rel: str) -> Path:
        """Move ``root/rel`` to ``root/_set_aside/rel``; return the new location."""
        return self._move(rel, self.root / SET_ASIDE / rel, "set aside", None)

    def relabel(self, rel: str, new_class: str) -> Path:
        """Move ``root/rel`` into the folder of ``new_class``; return the new location.

        Relabelling a photo to the class it already has is refused (nothing would move).
        """
        parts = Path(rel).parts
        class_at = 1 if _in_split_layout(parts) else 0
        if parts[class_at] == new_class:
            raise ValueError(f"{rel} is already in class {new_class!r}; nothing to move.")
        classes = getattr(self.split, "classes", None)
        if classes is not None and new_class not in classes:
            raise ValueError(f"{new_class!r} is not one of the classes {classes}.")
        new_parts = list(parts)
        new_parts[class_at] = new_class
        return self._move(rel, self.root.joinpath(*new_parts), "relabelled", new_class)


def _in_split_layout(parts: tuple[str, ...]) -> bool:
    return len(parts) >= 3 and parts[0] in ("train", "val", "valid", "validation", "test")


def cleaner_fallback(cleaner: Cleaner, mistakes: Sequence[Mistake]) -> str:
    """The cleaner's actions for ``mistakes`` as lines of code to copy into a cell.

    The first line says what has been moved so far (nothing, or how many photos: see
    ``cleaner.log``); photos already moved get no line.
    """
    if cleaner.log:
        lines = [f"# Moved so far: {len(cleaner.log)} photo(s) (cleaner.log lists them). To fix another, "
                 "copy its line into a cell and run it:"]
    else:
        lines = ["# To fix a photo, copy its line into a cell and run it (nothing has been moved yet):"]
    for m in mistakes:
        if m.path in cleaner.moved:
            continue
        if m.wrong:
            lines.append(f"cleaner.set_aside({m.path!r})   # or: cleaner.relabel({m.path!r}, {m.predicted!r})")
        else:
            lines.append(f"cleaner.set_aside({m.path!r})   # predicted right, with {m.probability:.2f}")
    if len(lines) == 1:
        lines.append("# (every photo shown has been moved)")
    return "\n".join(lines)


def _png(image: torch.Tensor) -> bytes:
    """A (3, H, W) image, ``uint8`` or float in [0, 1], as PNG bytes."""
    import io

    from PIL import Image

    if image.dtype != torch.uint8:
        image = (image.float().clamp(0, 1) * 255).round().to(torch.uint8)
    buffer = io.BytesIO()
    Image.fromarray(image.permute(1, 2, 0).numpy()).save(buffer, format="PNG")
    return buffer.getvalue()


def cleaner_widget(cleaner: Cleaner, mistakes: Sequence[Mistake], images, classes: Sequence[str],
                   on_moved=None):
    """Buttons on each photo of ``mistakes``: keep, set aside, or relabel; "Apply" moves the files.

    ``images[m.index]`` is photo ``m``'s image ((3, H, W), ``uint8`` or float in [0, 1]: a
    tensor, or the lazy ``features.images``). Each photo's menu offers the classes other than
    its own. Apply moves what is chosen and not moved yet, one photo at a time; the status says
    how many photos moved and names any that could not. ``on_moved()`` is called after each
    Apply (:func:`show_cleaner` refreshes the printed lines with it). Returns an
    ``ipywidgets.VBox`` (``box.apply()`` presses Apply, for scripts and tests).
    """
    import ipywidgets as widgets

    rows, choices = [], []
    for m in mistakes:
        picture = widgets.Image(value=_png(images[m.index]), format="png", width=120, height=120)
        own = Cleaner.class_of(m.path)
        options = ["keep", "set aside"] + [f"relabel: {c}" for c in classes if c != own]
        choice = widgets.Dropdown(options=options, value="keep", layout=widgets.Layout(width="150px"))
        label = widgets.HTML(f"<small>{m.path}<br>true <b>{m.true}</b>, predicted <b>{m.predicted}</b> "
                             f"({m.probability:.2f})</small>")
        choices.append((m, choice))
        rows.append(widgets.VBox([picture, label, choice]))
    status = widgets.HTML("")
    apply = widgets.Button(description="Apply", button_style="warning",
                           tooltip="Move the photos as chosen (nothing is deleted)")

    def on_apply(_=None):
        moved, failed = 0, []
        for m, choice in choices:
            if choice.disabled or choice.value == "keep":
                continue
            try:
                if choice.value == "set aside":
                    cleaner.set_aside(m.path)
                else:
                    cleaner.relabel(m.path, choice.value.split(": ", 1)[1])
            except (OSError, ValueError) as error:
                failed.append(f"{m.path}: {error}")
                continue
            moved += 1
            choice.disabled = True
        text = f"Moved {moved} photo(s) ({len(cleaner.log)} in all)." if moved else "Nothing new to move."
        if failed:
            text += " Not moved: " + "; ".join(failed)
        status.value = text + " Run the notebook again from section 1 to retrain on the cleaned folder."
        if on_moved is not None:
            on_moved()

    apply.on_click(on_apply)
    box = widgets.VBox([widgets.GridBox(rows, layout=widgets.Layout(
        grid_template_columns="repeat(4, 170px)")), widgets.HBox([apply, status])])
    box.add_class("photo-cleaner")
    box.apply = on_apply  # for tests and scripted use
    return box


def show_cleaner(cleaner: Cleaner, mistakes: Sequence[Mistake], images, classes: Sequence[str]):
    """Display :func:`cleaner_widget` and, below it, :func:`cleaner_fallback`'s lines.

    The lines are the same actions for a page without widgets (a static view, a plain
    terminal); after each Apply they are refreshed, so they never claim that nothing moved.
    Returns the widget.
    """
    from IPython.display import Pretty, display

    handle = {}

    def refresh() -> None:
        if handle.get("lines") is not None:
            handle["lines"].update(Pretty(cleaner_fallback(cleaner, mistakes)))

    box = cleaner_widget(cleaner, mistakes, images, classes, on_moved=refresh)
    display(box)
    handle["lines"] = display(Pretty(cleaner_fallback(cleaner, mistakes)), display_id=True)
    return box
