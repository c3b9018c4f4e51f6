"""Train a photo classifier on your own folder with one command.

    python -m course_lib.train FOLDER MODEL_DIR [--size 224] [--backbone efficientnet_lite0]

does what notebook 10 shows, step by step:

1. **check** the folder (layout, files that are not photos; a photo that cannot be decoded is
   found while its features are computed, and all of them are named at once);
2. **split** it into train / validation / test once and keep the split (``outputs/splits/``);
3. **features**: every photo through the frozen pretrained network, streamed in batches
   (memory flat in the number of photos) and cached on disk (a second run computes only new
   or changed photos; an interrupted run resumes);
4. **head**: a multinomial logistic regression on the features (convex, so Newton's method trains it to
   convergence), its L2 regularisation chosen on the validation photos;
5. **test**: the confusion matrix and the test accuracy with its 95 % interval, measured once;
6. **export** to MODEL_DIR: the classifier (``python -m course_lib.predict MODEL_DIR photo.jpg``),
   a model card (``README.md`` + ``model_card.json``) and the split (``split.json``).

With ``--compare`` it then writes a **decision report** into MODEL_DIR (``decision_report.md``,
``.png``, ``.json``): frozen head vs last block vs full fine-tuning on your photos, under the
course's fair protocol (:mod:`course_lib.decide`).

From Python, the same steps are :func:`train_folder`; the head alone is :func:`fit_head`; the
decision report is :func:`course_lib.decide.decision_report`.
``--help`` only prints the help. Errors are one line (exit status 2), never a traceback.

>>> import torch
>>> x = torch.randn(60, 5); y = (x[:, 0] > 0).long()
>>> head, info = fit_head(x[:40], y[:40], (x[40:], y[40:]))
>>> head.out_features, info["converged"], info["val_accuracy"] >= 0.8
(2, True, True)
"""
from __future__ import annotations

import argparse
import platform
import sys
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

HEAD_GRID = tuple(10.0 ** e for e in range(-3, 3))   # C: 0.001, 0.01, …, 100 (a decade apart)
MAX_ITER = 5000
TOL = 1e-6            # the solver stops when no gradient component exceeds this (scikit-learn: 1e-4)
FAST_STEPS = 100      # Newton steps in single precision (half the memory traffic) before the float64 check
PACKAGES = ("torch", "torchvision", "numpy", "pillow", "safetensors",
            "efficientnet-lite-pytorch")
STEPS = 6


# --------------------------------------------------------------------------- the head

def fit_head(train_x: "torch.Tensor", train_y: "torch.Tensor",
             val: tuple["torch.Tensor", "torch.Tensor"] | None = None, *, num_classes: int | None = None,
             grid: Sequence[float] = HEAD_GRID, start: dict | None = None,
             threads: int | None = None) -> tuple["nn.Linear", dict]:
    """A linear head on frozen features: multinomial logistic regression, L2 chosen on validation.

    For each inverse regularisation strength ``C`` in ``grid`` (strong to weak: 0.001 … 100),
    Newton-CG (:mod:`course_lib.logistic`: scikit-learn's ``newton-cg`` algorithm and objective,
    in NumPy; a few steps per ``C``, where L-BFGS took hundreds) fits the convex loss to
    convergence (no gradient component above ``TOL``) on the training features; the ``C`` with
    the best validation accuracy is kept
    (ties: the lower validation loss, then the stronger regularisation). Without validation
    photos ``C = 1``. Features are centred and divided by one number (their root mean square):
    the model is the same (the intercept is not penalised), the solver converges in fewer steps
    and the grid suits any backbone; the returned ``nn.Linear`` takes the raw features.

    Speed: the grid is fitted as one chain, each ``C`` starting from the solutions before it,
    and every pass over the features is split into ``threads`` blocks of rows computed at once
    (default: two on two or more cores). Each ``C`` is solved in single
    precision (half the memory traffic, so faster), then checked, and refined if needed, in
    double precision from that solution: the convergence test is the same. The conjugate
    gradients inside each Newton step are preconditioned through the eigenvectors of the
    features' second moment, computed once for the grid: features of a pretrained network are
    strongly correlated, and this follows their correlations. ``start``
    (``info["solutions"]`` of an earlier fit, kept by the shell command) is taken as it is for
    each ``C`` where it still passes the convergence test (the same photos: a re-run costs one
    gradient per ``C``), and set aside where it does not (photos added): the head is then the one
    a fit without ``start`` gives.

    Returns ``(head, info)`` with the chosen ``C``, ``val_accuracy``, ``converged``, every grid
    point's validation scores (``grid``) and every grid point's solution (``solutions``).
    """
    from .cpu import cpu_threads
    from .logistic import probabilities
    from .photos import usable_cores

    x = np.array(train_x.detach().cpu().numpy(), dtype=np.float64, order="C")  # a copy: changed in place
    y = train_y.detach().cpu().numpy().astype(np.int64)
    k = int(num_classes if num_classes is not None else y.max() + 1)
    missing = sorted(set(range(k)) - set(y.tolist()))
    if missing:
        raise ValueError(f"Classes {missing} have no training example; every class needs at least one.")
    centre = x.mean(0)
    x -= centre                                   # in place: one copy of the features in memory
    scale = float(np.sqrt(np.dot(x.ravel(), x.ravel()) / max(1, x.size))) or 1.0
    x /= scale
    has_val = val is not None and len(val[1]) > 0
    vx = (val[0].detach().double().cpu().numpy() - centre) / scale if has_val else None
    vy = val[1].detach().cpu().numpy().astype(np.int64) if has_val else None
    grid = sorted(float(c) for c in grid) if has_val else [1.0]
    threads = max(1, threads if threads is not None else min(2, usable_cores()))
    single = x.astype(np.float32)
    with cpu_threads(1):   # one BLAS thread per block of rows: the blocks are the parallelism
        fits = _fit_chain(x, y, grid, start, centre, scale, single, k, threads)
    del single
    rows, best = [], None
    for C, fit, converged, steps in fits:   # the chain ran through the sorted grid
        row = {"C": C, "converged": converged, "iterations": steps}
        if has_val:
            p = np.clip(probabilities(vx, fit.coef, fit.intercept), 1e-12, 1.0)
            row["val_accuracy"] = float((p.argmax(1) == vy).mean())
            row["val_loss"] = float(-np.log(p[np.arange(len(vy)), vy]).mean())
            key = (row["val_accuracy"], -row["val_loss"], -C)
        else:
            key = (0.0, 0.0, 0.0)
        rows.append(row)
        if best is None or key > best[0]:
            best = (key, C, _linear(fit, k, centre, scale), row)
    _, C, head, chosen = best
    solutions = {C: _on_raw_features(fit, centre, scale) for C, fit, _, _ in fits}
    info = {"C": C, "val_accuracy": chosen.get("val_accuracy"), "val_loss": chosen.get("val_loss"),
            "converged": chosen["converged"], "iterations": chosen["iterations"], "scale": scale,
            "centre": centre, "grid": rows, "solutions": solutions}
    return head, info


def _fit_chain(x: np.ndarray, y: np.ndarray, grid: Sequence[float], start: dict | None,
               centre: np.ndarray, scale: float, single: np.ndarray | None = None,
               classes: int | None = None, threads: int = 1) -> list[tuple[float, "logistic.Fit", bool, int]]:
    """Fit ``grid``'s strengths in turn, each from the previous solution of the chain.

    ``start[C]`` (a solution on raw features, from an earlier fit) is used as it is when it
    still passes the convergence test on these photos (the same photos: a re-run costs one
    gradient); otherwise, say after photos were added, it is set aside: from an old optimum
    Newton-CG took more steps than along the chain (benchmarks/own_photos.py), and the chain
    gives the same head as a fit without ``start``.

    With ``single`` (``x`` in float32), each ``C`` is first solved with the Hessian products on
    it (at most ``FAST_STEPS`` Newton steps; the gradient is computed on ``x``), then on ``x``
    from that solution until the gradient test holds in double precision (usually at once).
    From the third ``C`` of a chain on, the start is extrapolated from the chain's last two
    solutions, linearly in ``log C`` (:func:`_predicted`): the solution moves smoothly along
    the grid, so this start is nearer than the last solution and saves Newton steps. Every fit
    of the chain is preconditioned by the features' one :func:`course_lib.logistic.spectrum`,
    computed at the first fit (a re-run whose every start holds needs none).
    Returns ``(C, fit in float64, converged, Newton steps)`` per ``C``.
    """
    from .cpu import cpu_threads
    from .logistic import newton_cg, spectrum

    classes = int(classes if classes is not None else len(np.unique(y)))
    features = None   # their spectrum, computed at the first fit (none if every start holds)
    shape = (1 if classes == 2 else classes, x.shape[1])   # the rows of coef for these classes
    out: list = []
    path: list[tuple[float, np.ndarray, np.ndarray]] = []   # the chain's solutions so far
    for C in grid:
        coef, intercept = (start or {}).get(C, (None, None))
        kept = None
        if coef is not None and np.shape(coef) == shape:   # another class count: not a solution here
            kept = (np.asarray(coef, dtype=np.float64) * scale,
                    np.asarray(intercept, dtype=np.float64) + np.asarray(coef) @ centre)
        steps = 0
        w, b = _predicted(path, C)
        if kept is not None and max_gradient(x, y, C, *kept) <= TOL:
            w, b = kept                                     # still the optimum: only checked below
        else:
            if features is None:
                with cpu_threads(threads):   # one eigendecomposition, on every thread
                    features = spectrum(x)
            if single is not None:
                fast = newton_cg(single, y, C, w, b, tol=TOL, max_iter=FAST_STEPS, classes=classes, exact=x,
                                 threads=threads, spectrum=features)
                w, b, steps = fast.coef, fast.intercept, fast.steps
        fit = newton_cg(x, y, C, w, b, tol=TOL, max_iter=MAX_ITER, classes=classes, threads=threads,
                        spectrum=features)
        path.append((C, fit.coef, fit.intercept))
        out.append((C, fit, fit.converged, steps + fit.steps))
    return out


def _predicted(path: Sequence[tuple[float, np.ndarray, np.ndarray]], C: float):
    """Where to start the fit at ``C``: nothing for the first of a chain, the last solution for
    the second, then the line through the last two, in ``log C`` (at most one step's length on).

    >>> path = [(0.01, np.array([[1.0]]), np.array([0.0])), (0.1, np.array([[2.0]]), np.array([0.5]))]
    >>> _predicted(path, 1.0)
    (array([[3.]]), array([1.]))
    >>> _predicted(path, 0.1)[0]                       # the same C again: the last solution
    array([[2.]])
    """
    if not path:
        return None, None
    C1, w1, b1 = path[-1]
    if len(path) < 2 or not path[-2][0] < C1 < C:   # a repeated C: the last solution
        return w1, b1
    C0, w0, b0 = path[-2]
    t = min(1.0, float(np.log(C / C1) / np.log(C1 / C0)))
    return w1 + t * (w1 - w0), b1 + t * (b1 - b0)


def max_gradient(x: np.ndarray, y: np.ndarray, C: float, w: np.ndarray, b: np.ndarray) -> float:
    """The largest component, in absolute value, of the gradient the head's solver drives below
    ``TOL`` (and scikit-learn's solvers below ``tol``): of the mean cross-entropy plus
    ``‖w‖² / (2 C n)`` at ``(w, b)`` (``coef`` and ``intercept``; two classes: one row, the
    second class's). :func:`course_lib.logistic.max_gradient`.

    >>> x, y = np.array([[-1.0], [1.0]]), np.array([0, 1])
    >>> round(max_gradient(x, y, 1.0, np.zeros((1, 1)), np.zeros(1)), 3)   # (0.5 - y) x, averaged
    0.5
    """
    from . import logistic

    return logistic.max_gradient(x, y, C, w, b)


def save_solutions(path: str | Path, solutions: dict) -> Path:
    """Keep ``info["solutions"]`` of :func:`fit_head` (safetensors), for the next fit to start from.

    >>> import tempfile, torch
    >>> _, info = fit_head(torch.randn(30, 4), torch.arange(30) % 2)
    >>> path = save_solutions(Path(tempfile.mkdtemp()) / "s.safetensors", info["solutions"])
    >>> sorted(load_solutions(path)) == sorted(info["solutions"])
    True
    """
    import torch

    from .checkpoints import save_tensors_atomically

    grid = sorted(solutions)
    tensors = {"C": torch.tensor(grid, dtype=torch.float64)}
    for i, C in enumerate(grid):
        coef, intercept = solutions[C]
        tensors[f"coef_{i}"] = torch.as_tensor(np.ascontiguousarray(coef, dtype=np.float64))
        tensors[f"intercept_{i}"] = torch.as_tensor(np.ascontiguousarray(intercept, dtype=np.float64))
    return save_tensors_atomically(tensors, path)


def load_solutions(path: str | Path | None) -> dict | None:
    """What :func:`save_solutions` kept, or ``None`` if there is no such file or it cannot be read
    (a start point only saves time: without it the fit starts afresh)."""
    if path is None or not Path(path).is_file():
        return None
    try:
        from safetensors.torch import load_file

        t = load_file(str(path))
        return {float(C): (t[f"coef_{i}"].numpy(), t[f"intercept_{i}"].numpy())
                for i, C in enumerate(t["C"].tolist())}
    except Exception:  # noqa: BLE001 - unreadable or from another version: start afresh
        return None


def _on_raw_features(fit, centre: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """A fit's ``(coef, intercept)``, fitted on ``(x - centre) / scale``, as weights on ``x``."""
    coef = fit.coef / scale
    return coef, fit.intercept - coef @ centre


def _linear(fit, k: int, centre: np.ndarray, scale: float) -> "nn.Linear":
    """The fitted model as an ``nn.Linear`` on raw features: ``w·(x - centre)/scale + b`` folded
    into one weight and bias (softmax of its output gives the model's probabilities)."""
    import torch
    from torch import nn

    coef, intercept = _on_raw_features(fit, centre, scale)
    if coef.shape[0] == 1:            # two classes: sigmoid(z) = softmax([-z/2, z/2])
        coef, intercept = np.vstack([-coef / 2, coef / 2]), np.r_[-intercept / 2, intercept / 2]
    head = nn.Linear(len(centre), k)
    with torch.no_grad():
        head.weight.copy_(torch.as_tensor(coef, dtype=torch.float32))
        head.bias.copy_(torch.as_tensor(intercept, dtype=torch.float32))
    return head


def evaluate_head(head: "nn.Linear", x: "torch.Tensor", y: "torch.Tensor") -> dict:
    """Accuracy, correct, total, its 95 % Wilson interval and the confusion matrix of ``head``.

    >>> import torch
    >>> r = evaluate_head(torch.nn.Linear(2, 2), torch.zeros(0, 2), torch.zeros(0, dtype=torch.long))
    >>> r["total"], r["confusion"]
    (0, [[0, 0], [0, 0]])
    """
    import torch

    from .interpret import accuracy_interval, confusion_matrix
    from .models import evaluating

    with evaluating(head):
        predicted = head(x.float()).argmax(1) if len(y) else torch.zeros(0, dtype=torch.long)
    correct, total = int((predicted == y).sum()), int(len(y))
    out = {"accuracy": correct / total if total else float("nan"), "correct": correct, "total": total,
           "confusion": confusion_matrix(y, predicted, head.out_features).tolist()}
    out["interval95"] = list(accuracy_interval(correct, total)) if total else [float("nan")] * 2
    return out


# --------------------------------------------------------------------------- the whole recipe

def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    import course_lib

    out = {"python": platform.python_version(), "course_lib": course_lib.__version__}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def _shown(path: Path) -> str:
    """``path`` relative to the current folder when it is inside it (shorter, and the same on
    every machine), else as it is."""
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def _check_model_dir(model_dir: Path, folder: Path) -> None:
    from .errors import DatasetLayoutError
    from .export import is_model_folder

    model_dir, folder = model_dir.expanduser().resolve(), folder.expanduser().resolve()
    if model_dir == folder or folder in model_dir.parents:
        raise DatasetLayoutError(f"MODEL_DIR {model_dir} is inside the photo folder {folder}: the next run "
                                 "would take it for a class. Choose a folder outside it.")
    if model_dir.exists() and not model_dir.is_dir():
        raise DatasetLayoutError(f"MODEL_DIR {model_dir} is a file; choose a folder (nothing was written).")
    if model_dir.is_dir() and any(model_dir.iterdir()) and not is_model_folder(model_dir):
        raise DatasetLayoutError(f"MODEL_DIR {model_dir} already holds other files; choose a new or empty "
                                 "folder, or an earlier model folder to replace (nothing was written).")


def train_folder(folder: str | Path, model_dir: str | Path, *, backbone: str = "efficientnet_lite0",
                 image_size: int = 224, val: float = 0.2, test: float = 0.2, seed: int = 0,
                 resplit: bool = False, split_file: str | Path | None = None, on_bad: str = "error",
                 cache: bool = True, num_workers: int | None = None, progress: bool | None = None,
                 say: Callable[[str], None] = print) -> dict:
    """Folder → kept split → features → head → test → exported model folder with a model card.

    The steps of notebook 10 in one call (the module's docstring lists them); ``say`` receives
    one line per step (``print`` by default). Returns the model card (a dict, also written as
    ``MODEL_DIR/model_card.json`` and ``README.md``). Bad input raises a course error saying
    what to fix, before anything is written to ``model_dir``.
    """
    from . import export, photos, recipe, splits
    from .models import ImagePreprocess, load_backbone, remove_head

    folder, model_dir = Path(folder).expanduser(), Path(model_dir).expanduser()
    _check_model_dir(model_dir, folder)
    preprocess = ImagePreprocess.for_backbone(backbone, image_size)   # checks the name and size first

    scan = photos.scan_folder(folder)
    photos.files_to_read(scan, on_bad)
    notes = "" if not scan.problems else f"; {len(scan.problems)} problem(s) (warned above)"
    say(f"[1/{STEPS}] check: {scan.root.name}/: {len(scan.classes)} classes, {scan.count()} photos "
        f"({scan.layout} layout){notes}")

    split = splits.split_folder(folder, val=val, test=test, seed=seed, split_file=split_file, resplit=resplit,
                                scan=scan)
    say(f"[2/{STEPS}] split: kept in {_shown(split.file)}")
    for line in split.table().splitlines() + split.notes:
        say("      " + line)

    extractor = remove_head(load_backbone(backbone).model)
    store = recipe.FeatureCache.for_model(extractor, preprocess) if cache else None
    feats = recipe.split_features(extractor, split, preprocess, cache=store if cache else False,
                                  on_bad=on_bad, num_workers=num_workers, progress=progress)
    computed = sum(f.computed for f in feats.values())
    cached = sum(f.from_cache for f in feats.values())
    skipped = [p for f in feats.values() for p in f.skipped]
    say(f"[3/{STEPS}] features: {backbone} at {image_size} px: {computed} computed, {cached} from the cache"
        + (f", {len(skipped)} unreadable left out" if skipped else ""))

    train, valid, tests = feats["train"], feats["val"], feats["test"]
    starts = store.folder / "head_starts" / f"{Path(split.file).stem}.safetensors" if store else None
    head, info = fit_head(train.x, train.y, (valid.x, valid.y) if len(valid) else None,
                          num_classes=len(split.classes), start=load_solutions(starts))
    if starts is not None:
        save_solutions(starts, info["solutions"])
    chosen = (f"C = {info['C']:.3g} (inverse L2 strength) chosen on {len(valid)} validation photos from "
              f"{len(info['grid'])} values, validation accuracy {info['val_accuracy']:.3f}"
              if len(valid) else "no validation photos: C = 1 (inverse L2 strength), not tuned")
    state = "converged" if info["converged"] else "NOT converged"
    say(f"[4/{STEPS}] head: logistic regression (Newton-CG, {state}); {chosen}")

    metrics = {part: evaluate_head(head, f.x, f.y) for part, f in (("val", valid), ("test", tests)) if len(f)}
    if len(tests):
        m = metrics["test"]
        say(f"[5/{STEPS}] test: accuracy {m['accuracy']:.3f} ({m['correct']} of {m['total']} photos; 95 % "
            f"interval {m['interval95'][0]:.2f} to {m['interval95'][1]:.2f})")
        width = max(5, *(len(c) for c in split.classes))
        say("      " + " " * width + "  predicted: " + " ".join(f"{c:>{width}}" for c in split.classes))
        for c, row in zip(split.classes, m["confusion"]):
            say(f"      {c:>{width}}  {'':11}" + " ".join(f"{v:>{width}d}" for v in row))
    else:
        say(f"[5/{STEPS}] test: no test photos, so no honest accuracy; add a test/ folder")

    export.export_classifier(model_dir, backbone=backbone, head=head, classes=split.classes,
                             preprocess=preprocess,
                             metrics={part: {k: v for k, v in m.items() if k != "confusion"}
                                      for part, m in metrics.items()})
    export.write_json(model_dir / "split.json", split.to_dict())
    card = {
        "name": scan.root.name,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "classes": split.classes,
        "counts": split.counts(),
        "skipped": skipped,
        "metrics": {part: {k: v for k, v in m.items() if k != "confusion"} for part, m in metrics.items()},
        "confusion_test": metrics["test"]["confusion"] if "test" in metrics else None,
        "backbone": {"name": backbone, "weights_fingerprint": recipe.weights_fingerprint(extractor),
                     "num_features": int(train.x.shape[1]), "frozen": True},
        "preprocess": preprocess.to_dict(),
        "head": {"kind": "multinomial logistic regression on the frozen features (L2; "
                         "Newton-CG trained to convergence, warm-started along the grid)",
                 "chosen": chosen, "C": info["C"], "converged": info["converged"],
                 "feature_scale": info["scale"], "grid": info["grid"]},
        "split": {"file": "split.json", "kept_at": str(split.file), "folder": str(split.root),
                  "layout": split.layout, "seed": split.seed, "val": split.val, "test": split.test},
        "versions": _versions(),
    }
    export.write_model_card(model_dir, card)
    say(f"[6/{STEPS}] export: {_shown(model_dir)}/ ({', '.join(sorted(p.name for p in model_dir.iterdir()))})")
    say(f"      predict: python -m course_lib.predict {_shown(model_dir)} photo.jpg")
    return card


# --------------------------------------------------------------------------- the command

def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.train",
        description="Train a photo classifier on FOLDER (one sub-folder per class, or train/ val/ test/) "
                    "and save it to MODEL_DIR: check, kept split, cached features of a frozen pretrained "
                    "network, a logistic-regression head tuned on validation, test accuracy with its "
                    "interval, model card.",
        epilog="Then: python -m course_lib.predict MODEL_DIR photo.jpg")
    parser.add_argument("folder", type=Path, help="your photos: FOLDER/<class>/<photo files>")
    parser.add_argument("model_dir", type=Path, help="where to save the model (a new or empty folder, or an "
                                                      "earlier model folder to replace)")
    parser.add_argument("--backbone", default="efficientnet_lite0", choices=("efficientnet_lite0", "resnet18"),
                        help="the frozen pretrained network (default efficientnet_lite0)")
    parser.add_argument("--size", type=int, default=224, help="image size in pixels (default 224)")
    parser.add_argument("--val", type=float, default=0.2, help="share of each class for validation (0.2)")
    parser.add_argument("--test", type=float, default=0.2, help="share of each class for test (0.2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split (0)")
    parser.add_argument("--resplit", action="store_true",
                        help="split again instead of reusing the kept split (numbers stop being comparable)")
    parser.add_argument("--skip-bad", action="store_true",
                        help="leave unreadable files out (with a warning) instead of stopping")
    parser.add_argument("--no-cache", action="store_true", help="compute every feature again, keep none")
    parser.add_argument("--workers", type=int, default=None,
                        help="processes decoding photos (default: by folder size and cores; 0: none)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    group = parser.add_argument_group(
        "decision report", "--compare: is a frozen head enough, or should you fine-tune the last block, or "
        "everything? Each option tuned on validation under one counted budget, paired over several splits "
        "of the training + validation photos (the test photos stay untouched), 95 % intervals, Holm; "
        "LogME for three feature layers; costs in seconds and operations. Written to MODEL_DIR/decision_report.md "
        "(efficientnet_lite0 only).")
    group.add_argument("--compare", action="store_true", help="also write the decision report")
    group.add_argument("--compare-size", type=int, default=64, metavar="PX",
                       help="image size of the comparison in pixels (default 64: fine-tuning on a CPU is slow)")
    group.add_argument("--compare-splits", type=int, default=3, metavar="N", help="paired splits (seeds), at least 2 (default 3)")
    group.add_argument("--compare-steps", type=int, default=20, metavar="N",
                       help="optimizer steps per learning rate (cap; early stopping on validation; default 20)")
    group.add_argument("--compare-max-per-class", type=int, default=60, metavar="N",
                       help="photos per class used by the comparison, at most (default 60)")
    return parser


def _compare(args: argparse.Namespace) -> None:
    from . import decide, splits

    split = splits.split_folder(args.folder, val=args.val, test=args.test, seed=args.seed)  # the kept split
    print(f"[compare] frozen head vs last block vs full fine-tuning at {args.compare_size} px, "
          f"{args.compare_splits} paired splits")
    decision = decide.decision_report(
        split, args.model_dir, backbone=args.backbone, image_size=args.compare_size,
        seeds=range(args.compare_splits), steps=args.compare_steps, max_per_class=args.compare_max_per_class,
        say=lambda line: print("      " + line.strip()), progress=not args.quiet)
    for line in str(decision).splitlines():
        print("      " + line)
    print(f"      report: {_shown(decision.files['md'])} (plot: {decision.files['png'].name})")


def main(argv: list[str] | None = None) -> int:
    """The shell command; returns its exit status (0 done, 2 bad input, 130 interrupted)."""
    parser = _parser()
    args = parser.parse_args(argv)   # --help and usage errors stop here, having done nothing
    if args.compare and args.backbone != "efficientnet_lite0":
        parser.error("--compare splits the network into blocks: it needs --backbone efficientnet_lite0")
    if args.compare and args.compare_splits < 2:
        parser.error("--compare-splits must be at least 2: one split has no uncertainty to report")
    from .errors import CourseError
    from .predict import one_line

    def show(message, category, *rest, **kwargs) -> None:
        print(f"warning: {one_line(message)}", file=sys.stderr)

    try:
        with warnings.catch_warnings():
            warnings.showwarning = show
            train_folder(args.folder, args.model_dir, backbone=args.backbone, image_size=args.size,
                         val=args.val, test=args.test, seed=args.seed, resplit=args.resplit,
                         on_bad="skip" if args.skip_bad else "error", cache=not args.no_cache,
                         num_workers=args.workers, progress=False if args.quiet else None)
            if args.compare:
                _compare(args)
    except (CourseError, ValueError, OSError) as error:
        message = one_line(error).replace("load with on_bad='skip'", "pass --skip-bad")
        print(f"error: {message.replace('on_bad=' + repr('skip'), '--skip-bad')}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: the features computed so far are cached; run the same command again to "
              "continue where it stopped.", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    from .cpu import reuse_large_blocks

    reuse_large_blocks()   # the command's own process: the forward pass reuses its buffers
    sys.exit(main())
