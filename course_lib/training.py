"""Training and evaluation: a careful fit loop, feature caching, and heads on cached features.

The article's loop trains for 100 epochs with no validation and never switches the model
to evaluation mode. :func:`fit` is the corrected version, run epoch by epoch through the
course's one counted loop (:func:`course_lib.loop.train`): ``model.train()`` for training,
``model.eval()`` and ``torch.no_grad()`` for validation, frozen parts kept frozen (BatchNorm
statistics included), per-epoch history, early stopping and the best weights kept.
Every function that trains or evaluates takes ``device=`` (default: :func:`course_lib.devices.pick_device`).

>>> from torch.utils.data import TensorDataset, DataLoader
>>> _ = torch.manual_seed(0)
>>> X = torch.randn(64, 2); y = (X[:, 0] > 0).long()
>>> loader = DataLoader(TensorDataset(X, y), batch_size=16)
>>> h = fit(nn.Linear(2, 2), loader, loader, epochs=30, lr=0.1, progress=False)
>>> h.val_acc[-1] > 0.9
True
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from safetensors.torch import load_file
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Normalizer, StandardScaler
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset
from tqdm.auto import tqdm

from .checkpoints import save_tensors_atomically
from .compare import few_shot_trials
from .data import make_loader, to_numpy
from .devices import pick_device, to_device
from .errors import ClassCountMismatchError, EmptyDataError, NothingToTrainError
from .evaluation import accuracy, eval_frozen_modules, evaluating, set_batchnorm_eval  # noqa: F401
from .evaluation import forward as _forward
from .paths import output_dir


@dataclass
class History:
    """Per-epoch metrics of a :func:`fit` run.

    >>> History(train_loss=[0.9, 0.5], train_acc=[0.6, 0.8])
    History(2 epochs, train_acc=0.800)
    """

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    best_epoch: int | None = None  # 1-based; the epoch whose weights were kept
    stopped_early: bool = False

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    @property
    def best_val_acc(self) -> float | None:
        return self.val_acc[self.best_epoch - 1] if self.best_epoch and self.val_acc else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def plot(self, axes=None, title: str | None = None):
        """Loss and accuracy per epoch, train and validation, side by side. Returns the axes."""
        if axes is None:
            _, axes = plt.subplots(1, 2, figsize=(9, 3.2))
        epochs = np.arange(1, self.epochs + 1)
        for ax, key, label in ((axes[0], "loss", "cross-entropy loss"), (axes[1], "acc", "accuracy")):
            ax.plot(epochs, getattr(self, f"train_{key}"), "o-", ms=3, label="train")
            val = getattr(self, f"val_{key}")
            if val:
                ax.plot(epochs[:len(val)], val, "s-", ms=3, label="validation")
            if self.best_epoch:
                ax.axvline(self.best_epoch, color="grey", ls=":", label="best epoch")
            ax.set_xlabel("epoch")
            ax.set_ylabel(label)
            ax.legend()
        axes[0].set_title("Loss per epoch")
        axes[1].set_title("Accuracy per epoch")
        if title:
            axes[0].figure.suptitle(title)
        axes[0].figure.tight_layout()
        return axes

    def __repr__(self) -> str:
        last = f"train_acc={self.train_acc[-1]:.3f}" if self.train_acc else "empty"
        if self.val_acc:
            last += f", val_acc={self.val_acc[-1]:.3f}, best epoch {self.best_epoch}"
        return f"History({self.epochs} epochs, {last})"


def _n_correct(logits: torch.Tensor, labels: torch.Tensor) -> int:
    return int((logits.argmax(1) == labels).sum())


def predict(model: nn.Module, loader: DataLoader, *,
            device: str | torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """All logits and labels of ``loader``, on the CPU (eval mode, no gradients; mode restored).

    >>> logits, labels = predict(nn.Linear(2, 3), DataLoader(TensorDataset(torch.rand(5, 2), torch.zeros(5)), 2))
    >>> tuple(logits.shape), tuple(labels.shape)
    ((5, 3), (5,))
    """
    device = pick_device(device)
    model.to(device)
    logits, labels = [], []
    with evaluating(model):
        for inputs, y in loader:
            logits.append(_forward(model, to_device(inputs, device)).cpu())
            labels.append(y)
    if not labels:
        raise EmptyDataError("The loader is empty: there is nothing to evaluate. Check the dataset "
                             "or the indices you built it from.")
    return torch.cat(logits), torch.cat(labels)


def evaluate(model: nn.Module, loader: DataLoader, loss_fn: Callable | None = None, *,
             device: str | torch.device | None = None) -> dict[str, float]:
    """Mean loss and accuracy over ``loader``, in eval mode and without gradients.

    The model's previous mode (train or eval) is restored afterwards.

    >>> X = torch.tensor([[1.0, 0.0], [0.0, 1.0]]); y = torch.tensor([0, 0])
    >>> evaluate(nn.Identity(), DataLoader(TensorDataset(X, y), batch_size=2))["accuracy"]
    0.5
    """
    logits, labels = predict(model, loader, device=device)
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    return {"loss": float(loss_fn(logits, labels)), "accuracy": accuracy(logits, labels)}


def _check_outputs(logits: torch.Tensor, labels: torch.Tensor) -> None:
    if logits.ndim != 2:
        raise ClassCountMismatchError(
            f"The model returned shape {tuple(logits.shape)}; expected (batch, classes). Does the "
            "model end with a Linear layer with one output per class?")
    if int(labels.max()) >= logits.shape[1]:
        raise ClassCountMismatchError(
            f"The model has {logits.shape[1]} outputs but the data has a label {int(labels.max())}: "
            f"the head needs at least {int(labels.max()) + 1} outputs, one per class. "
            "Call course_lib.models.replace_head(model, num_classes) with the number of classes.")


def fit(model: nn.Module, train_loader: DataLoader, val_loader: DataLoader | None = None, *,
        epochs: int = 10, optimizer: torch.optim.Optimizer | None = None, lr: float = 1e-3,
        loss_fn: Callable | None = None, patience: int | None = None, keep_best: bool = True,
        bn_eval: bool = False, progress: bool = True, desc: str = "training",
        device: str | torch.device | None = None) -> History:
    """Train ``model`` and return its :class:`History`; the model is left in eval mode.

    Epochs over a ``DataLoader``, through the course's one counted loop
    (:func:`course_lib.loop.train`): one optimizer step per batch, validation after every epoch.

    - ``optimizer``: defaults to Adam over the trainable parameters with learning rate ``lr``.
    - Frozen sub-modules stay in eval mode while training (their BatchNorm statistics and
      dropout do not change); ``bn_eval=True`` also keeps trainable BatchNorm layers on their
      stored statistics (often better on tiny datasets).
    - With ``val_loader``: validation each epoch, ``patience`` epochs without improvement
      stops early, and ``keep_best`` restores the weights of the best validation epoch.
    - Batches are ``(inputs, labels)``; ``inputs`` may be a tensor or a dict of tensors (text models).
    - ``device``: where to train; the model and every batch are moved there.

    Raises :class:`~course_lib.errors.NothingToTrainError` when ``epochs < 1`` or every
    parameter is frozen.
    """
    from .loop import train

    if epochs < 1:
        raise NothingToTrainError(f"epochs must be at least 1, got {epochs}.")
    trainable = [p for p in model.parameters() if p.requires_grad]
    if not trainable:
        raise NothingToTrainError(
            "Every parameter is frozen, so training would change nothing. Unfreeze at least the "
            "head, e.g. course_lib.models.freeze_all_but_last(model, 1).")
    per_epoch = len(train_loader)
    if per_epoch == 0:
        raise EmptyDataError("The training loader is empty: there is nothing to train on.")
    device = pick_device(device)
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    history = History()
    bar = tqdm(total=epochs, desc=desc, unit="epoch", leave=False) if progress else None
    epoch = {"loss": 0.0, "correct": 0, "n": 0, "batches": 0, "start": time.perf_counter()}

    def batch_loss(model: nn.Module, batch) -> torch.Tensor:
        inputs, labels = batch
        logits = _forward(model, inputs)
        if not history.train_loss and epoch["batches"] == 0:
            _check_outputs(logits, labels)
        loss = loss_fn(logits, labels)
        epoch["loss"] += loss.detach().item() * len(labels)
        epoch["correct"] += _n_correct(logits, labels)
        epoch["n"] += len(labels)
        epoch["batches"] += 1
        if epoch["batches"] == per_epoch:               # the epoch's last batch: its mean loss and accuracy
            history.train_loss.append(epoch["loss"] / epoch["n"])
            history.train_acc.append(epoch["correct"] / epoch["n"])
            if val_loader is None:
                end_epoch()
        return loss

    def end_epoch() -> None:
        history.seconds.append(time.perf_counter() - epoch["start"])
        epoch.update(loss=0.0, correct=0, n=0, batches=0, start=time.perf_counter())
        if bar is not None:
            post = {"loss": f"{history.train_loss[-1]:.3f}"}
            if history.val_acc:
                post["val_acc"] = f"{history.val_acc[-1]:.3f}"
            bar.set_postfix(post)
            bar.update()

    best = {"score": -float("inf"), "waited": 0}

    def validate(model: nn.Module) -> float:
        metrics = evaluate(model, val_loader, loss_fn, device=device)
        history.val_loss.append(metrics["loss"])
        history.val_acc.append(metrics["accuracy"])
        score = metrics["accuracy"] - 1e-6 * metrics["loss"]   # ties: lower loss wins
        if score > best["score"]:
            best.update(score=score, waited=0)
            history.best_epoch = len(history.val_acc)
        else:
            best["waited"] += 1
        end_epoch()
        if not keep_best:                                      # the last epoch always "wins": its weights stay
            if patience is not None and best["waited"] >= patience:
                raise _StopEarly
            return float(len(history.val_acc))
        return score

    optimizer_fn = (lambda groups: optimizer) if optimizer is not None else "adam"
    try:
        run = train(model, train_loader, lr=lr, cap=epochs * per_epoch,
                    val=validate if val_loader is not None else None, loss=batch_loss,
                    eval_every=per_epoch, patience=patience if keep_best else None,
                    optimizer=optimizer_fn, bn_eval=bn_eval, device=device, label=desc)
        history.stopped_early = run.stopped_early
    except _StopEarly:
        history.stopped_early = True
    finally:
        if bar is not None:
            bar.close()
    model.eval()
    return history


class _StopEarly(Exception):
    """Raised by :func:`fit`'s validation to stop a run whose last weights are kept (``keep_best=False``)."""


# --------------------------------------------------------------------------- features

def fingerprint(model: nn.Module, batches: Sequence[tuple[Any, Any]]) -> str:
    """A short hash of a model (architecture and every weight) and of the exact input batches.

    Two calls give the same fingerprint only when the model's ``repr`` and state and the
    preprocessed inputs and labels are identical, so a changed image size, normalisation,
    pooling, weight or data subset gives a new one.

    >>> x = [(torch.ones(2, 3), torch.tensor([0, 1]))]
    >>> fingerprint(nn.Linear(3, 2), x) == fingerprint(nn.Linear(3, 2), x)  # new random weights
    False
    >>> m = nn.Linear(3, 2); fingerprint(m, x) == fingerprint(m, x)
    True
    """
    digest = hashlib.sha256(repr(model).encode())
    for name, tensor in model.state_dict().items():
        digest.update(f"{name}{tuple(tensor.shape)}{tensor.dtype}".encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    for inputs, labels in batches:
        for part in (inputs, labels):
            tensors = part.values() if isinstance(part, dict) else [part]
            for tensor in tensors:
                tensor = torch.as_tensor(tensor)
                digest.update(f"{tuple(tensor.shape)}{tensor.dtype}".encode())
                digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def extract_features(feature_model: nn.Module, dataset: Dataset, *, batch_size: int = 64,
                     cache_key: str | None = None,
                     device: str | torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``dataset`` through ``feature_model`` once (eval mode, no gradients; mode restored).

    Returns ``(features, labels)`` on the CPU. With ``cache_key`` (a readable name such as
    ``"01_faces_lite0"``) the result is stored in
    ``outputs/features/<cache_key>-<fingerprint>.safetensors`` and read back next time. The
    fingerprint (:func:`fingerprint`) is derived from the model's architecture and weights and
    from the preprocessed inputs themselves, so changing the image size, the normalisation, the
    model or the data computes fresh features instead of silently returning stale ones.
    Training a head on these cached features costs a matrix multiply per epoch instead of a
    full backbone pass per image: that is the feature-extraction speed-up.

    >>> feats, labels = extract_features(nn.Flatten(), TensorDataset(torch.rand(6, 2, 2), torch.arange(6)))
    >>> tuple(feats.shape), labels.tolist()
    ((6, 4), [0, 1, 2, 3, 4, 5])
    """
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0)
    path = None
    if cache_key is not None:
        batches = list(loader)   # preprocessed once: hashed, then fed to the model on a miss
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in cache_key)
        path = output_dir("features") / f"{safe}-{fingerprint(feature_model, batches)}.safetensors"
        if path.is_file():
            stored = load_file(str(path))
            return stored["features"], stored["labels"]
        loader = batches
    feats, labels = predict(feature_model, loader, device=device)
    feats = feats.flatten(1).contiguous()
    if path is not None:
        save_tensors_atomically({"features": feats, "labels": labels.contiguous()}, path)
    return feats, labels


def fit_linear_head(train_features: torch.Tensor, train_labels: torch.Tensor, num_classes: int, *,
                    val: tuple[torch.Tensor, torch.Tensor] | None = None, epochs: int = 100,
                    lr: float = 1e-2, weight_decay: float = 1e-4, batch_size: int = 64,
                    patience: int | None = None, seed: int = 0, progress: bool = False,
                    device: str | torch.device | None = None) -> tuple[nn.Linear, History]:
    """Train a new ``nn.Linear`` head on precomputed features; return ``(head, history)``.

    >>> X = torch.randn(40, 5); y = (X[:, 0] > 0).long()
    >>> head, h = fit_linear_head(X, y, 2, epochs=50, lr=0.1)
    >>> head.out_features, h.train_acc[-1] > 0.9
    (2, True)
    """
    torch.manual_seed(seed)
    head = nn.Linear(train_features.shape[1], num_classes)
    train_loader = make_loader(TensorDataset(train_features, train_labels), batch_size, shuffle=True, seed=seed)
    val_loader = make_loader(TensorDataset(*val), 256) if val is not None else None
    optimizer = torch.optim.Adam(head.parameters(), lr=lr, weight_decay=weight_decay)
    history = fit(head, train_loader, val_loader, epochs=epochs, optimizer=optimizer,
                  patience=patience, progress=progress, desc="linear head", device=device)
    return head, history


# --------------------------------------------------------------------------- label efficiency

_SCALERS = {"l2": Normalizer, "standard": StandardScaler, None: None}


def label_efficiency(features_by_name: dict[str, Any], labels, ks: Sequence[int] = (1, 2, 5, 10, 20),
                     seeds: Sequence[int] = (0, 1, 2, 3, 4), test_size: float = 0.5,
                     C: float = 10.0, scale: str | None = "l2") -> list[dict[str, Any]]:
    """Accuracy against the number of labelled examples per class, for several feature sets.

    The splits come from :func:`course_lib.compare.few_shot_trials`: for each seed a fixed
    stratified test part, for each k, k training examples per class from the rest; a logistic
    regression (inverse L2 strength ``C``) is fitted and scored on the test part. Same splits
    for every feature set, so the comparison is paired. Returns rows ``{"name", "k", "seed",
    "accuracy"}`` (summarise them with :func:`summarise`, plot them with
    :func:`course_lib.plots.plot_label_efficiency`).

    ``scale="l2"`` rescales each example to unit length first. Do not standardise per feature
    (``scale="standard"``) in the few-shot regime: means and variances estimated from two
    examples are noise, and they wreck the classifier.

    >>> y = np.repeat([0, 1], 10); X = np.c_[2.0 * y - 1, np.ones(20)]
    >>> [(r["k"], r["seed"], r["accuracy"]) for r in label_efficiency({"x": X}, y, ks=(1, 3), seeds=(0,))]
    [(1, 0, 1.0), (3, 0, 1.0)]
    """
    if scale not in _SCALERS:
        raise ValueError(f"scale must be 'l2', 'standard' or None, got {scale!r}.")
    y = to_numpy(labels)
    matrices = {name: to_numpy(feats).reshape(len(feats), -1) for name, feats in features_by_name.items()}
    rows = []
    for trial in few_shot_trials(y, ks, seeds, test_size=test_size):
        train, test = trial["train"], trial["test"]
        for name, X in matrices.items():
            steps = [_SCALERS[scale]()] if _SCALERS[scale] else []
            clf = make_pipeline(*steps, LogisticRegression(C=C, max_iter=5000))
            clf.fit(X[train], y[train])
            rows.append({"name": name, "k": trial["k"], "seed": trial["seed"],
                         "accuracy": float(clf.score(X[test], y[test]))})
    return rows


def summarise(rows: list[dict[str, Any]], by: tuple[str, ...] = ("name", "k"),
              value: str = "accuracy") -> list[dict[str, Any]]:
    """Mean, standard deviation, min and max of ``value`` grouped by ``by`` (no pandas needed).

    The course's one summary of result rows (one row per seed); groups keep their first-seen order.
    The standard deviation is the sample one (``ddof=1``: the seeds are a sample of the splits one
    could have drawn), as in :func:`course_lib.layer_transfer.summarise_arms` and the intervals of
    :mod:`course_lib.compare`; 0 for a single row.

    >>> rows = [{"name": "a", "k": 1, "accuracy": 0.5}, {"name": "a", "k": 1, "accuracy": 0.75}]
    >>> [(r["mean"], round(r["std"], 4), r["min"], r["max"], r["n"]) for r in summarise(rows)]
    [(0.625, 0.1768, 0.5, 0.75, 2)]
    """
    groups: dict[tuple, list[float]] = {}
    for row in rows:
        groups.setdefault(tuple(row[b] for b in by), []).append(row[value])
    out = []
    for key, values in groups.items():
        v = np.asarray(values, dtype=float)
        out.append({**dict(zip(by, key)), "mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
                    "min": float(v.min()), "max": float(v.max()), "n": len(v)})
    return out
