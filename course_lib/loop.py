"""The course's one step-budgeted training loop, and the ledger that counts what it spends.

Every arm of every comparison in the course trains through :func:`train` (gradient steps) or
:func:`fit_convex` (a convex head solved to convergence), so "the same budget" is not an honour
system: a :class:`Ledger` counts the optimizer steps actually taken — through a global
``torch.optim`` step hook, so even a hand-written loop is counted — and the learning rates and
regularisation strengths actually tried. :func:`course_lib.compare.run_paired` opens a ledger
around every arm and refuses an arm that spent more than its :class:`Budget` or searched another
grid.

- :class:`Budget`: a cap on optimizer steps per learning rate, the learning-rate grid every
  gradient arm searches and the grid of regularisation strengths every convex arm searches (the
  same size). ``COURSE_BUDGET_SCALE`` (default 1) multiplies every cap: ``4`` re-checks every
  verdict at four times the budget.
- :func:`train`: up to ``cap`` steps, validation every ``eval_every`` steps, early stopping after
  ``patience`` evaluations without improvement, the best weights kept.
- :func:`tune`: :func:`train` a fresh model at every rate of the grid; keep the one whose best
  validation score is highest.
- :func:`fit_convex`: logistic regression on frozen features, its strength picked on validation,
  solved to convergence (L-BFGS).

>>> _ = torch.manual_seed(0)
>>> X = torch.randn(80, 2); y = (X[:, 0] > 0).long()
>>> with Ledger() as ledger:
...     run = train(nn.Linear(2, 2), (X[:60], y[:60]), lr=0.1, cap=40, val=(X[60:], y[60:]))
>>> ledger.steps == run.steps <= 40, run.best_score > 0.8
(True, True)
"""
from __future__ import annotations

import copy
import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from .evaluation import batched_forward, eval_frozen_modules, evaluating, forward, set_batchnorm_eval

SCALE_ENV = "COURSE_BUDGET_SCALE"


# --------------------------------------------------------------------------- the budget

def budget_scale() -> float:
    """The factor ``$COURSE_BUDGET_SCALE`` puts on every step cap and fixed epoch count (default 1).

    >>> budget_scale()
    1.0
    """
    raw = os.environ.get(SCALE_ENV, "").strip()
    if not raw:
        return 1.0
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"${SCALE_ENV} must be a positive number such as 1 or 4, got {raw!r}. "
                         f"Unset it for the course's default budget.")
    return value


def scaled(n: int) -> int:
    """A fixed count (epochs, steps) times :func:`budget_scale`, at least 1.

    >>> scaled(100)
    100
    """
    return max(1, int(round(n * budget_scale())))


def _log_grid(n: int) -> tuple[float, ...]:
    return tuple(float(f"{c:.3g}") for c in np.logspace(-1, 2, n)) if n else ()


@dataclass(frozen=True)
class Budget:
    """What every arm of a comparison may spend.

    ``steps``: the cap on optimizer steps of one training run, per learning rate tried (an arm
    stops earlier when validation stops improving; it never runs more). The cap actually used is
    ``cap = steps × scale`` (``scale`` defaults to ``$COURSE_BUDGET_SCALE``, 1).
    ``lr_grid``: the learning rates every gradient arm tries, each judged on a validation split
    carved from its own training data. ``c_grid``: the inverse regularisation strengths every
    convex arm tries (default: as many values as ``lr_grid``, from 0.1 to 100).

    >>> b = Budget(steps=200, lr_grid=(1e-3, 3e-3, 1e-2), scale=1)
    >>> b.cap, b.c_grid
    (200, (0.1, 3.16, 100.0))
    >>> b.describe()
    '≤ 200 optimizer steps per learning rate, the rate picked on validation from (0.001, 0.003, 0.01)'
    """

    steps: int
    lr_grid: tuple[float, ...] = ()
    c_grid: tuple[float, ...] = ()
    scale: float = field(default_factory=budget_scale)

    def __post_init__(self) -> None:
        if not isinstance(self.steps, (int, np.integer)) or isinstance(self.steps, bool) or self.steps <= 0:
            raise ValueError(f"Budget.steps must be a positive int, got {self.steps!r}.")
        grid = tuple(float(x) for x in self.lr_grid)
        if any(not (math.isfinite(x) and x > 0) for x in grid) or len(set(grid)) != len(grid):
            raise ValueError(f"Budget.lr_grid must hold distinct positive learning rates, got {self.lr_grid!r}.")
        object.__setattr__(self, "lr_grid", grid)
        c_grid = tuple(float(x) for x in self.c_grid) or _log_grid(len(grid))
        if any(not (math.isfinite(x) and x > 0) for x in c_grid) or len(set(c_grid)) != len(c_grid):
            raise ValueError(f"Budget.c_grid must hold distinct positive strengths, got {self.c_grid!r}.")
        object.__setattr__(self, "c_grid", c_grid)
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"Budget.scale must be positive, got {self.scale!r}.")
        object.__setattr__(self, "scale", float(self.scale))

    @property
    def cap(self) -> int:
        """Optimizer steps one training run may take: ``steps × scale``."""
        return max(1, int(round(self.steps * self.scale)))

    def describe(self) -> str:
        cap = (f"≤ {self.cap} optimizer steps per learning rate" if self.scale == 1 else
               f"≤ {self.cap} optimizer steps per learning rate ({self.steps} × budget scale {self.scale:g})")
        grid = (f", the rate picked on validation from {self.lr_grid}" if self.lr_grid
                else ", one fixed learning rate")
        return cap + grid


# --------------------------------------------------------------------------- counting

@dataclass
class Run:
    """One training run: what it was allowed and what it did (``steps`` is counted, not reported)."""

    lr: float                       # the grid value the run belongs to (the new head's rate)
    cap: int
    label: str = ""
    kind: str = "gradient"          # "gradient" or "convex" (``lr`` then holds the strength C)
    fixed: bool = False             # a fixed setting by design (e.g. the article's loop), not searched
    steps: int = 0
    best_step: int | None = None
    best_score: float = float("nan")
    curve: list[tuple[int, float]] = field(default_factory=list)
    stopped_early: bool = False
    converged: bool | None = None
    selected: bool = False          # the run whose model an arm kept (set by :func:`tune`)

    @property
    def late(self) -> bool:
        """True when the best step lies in the last 20 % of the cap (the cap may be too small)."""
        return self.best_step is not None and self.best_step > 0.8 * self.cap


_LEDGERS: list["Ledger"] = []
_ACTIVE: list[Run] = []
_HOOK: Any = None


def _on_step(optimizer, args, kwargs) -> None:
    if _ACTIVE:
        _ACTIVE[-1].steps += 1
    else:
        for ledger in _LEDGERS:
            ledger.undeclared_steps += 1


def _ensure_hook() -> None:
    global _HOOK
    if _HOOK is None:
        from torch.optim.optimizer import register_optimizer_step_post_hook

        _HOOK = register_optimizer_step_post_hook(_on_step)


class Ledger:
    """Counts every optimizer step taken while it is open, and records the runs that took them.

    Steps taken outside :func:`train` (a loop of one's own) are counted as ``undeclared_steps``.

    >>> m = nn.Linear(1, 1); opt = torch.optim.SGD(m.parameters(), lr=0.1)
    >>> with Ledger() as ledger:
    ...     for _ in range(3):
    ...         opt.zero_grad(); m(torch.ones(1, 1)).sum().backward(); opt.step()
    >>> ledger.steps, ledger.undeclared_steps
    (3, 3)
    """

    def __init__(self) -> None:
        self.runs: list[Run] = []
        self.undeclared_steps = 0
        self.untrained: list[str] = []

    def __enter__(self) -> "Ledger":
        _ensure_hook()
        _LEDGERS.append(self)
        return self

    def __exit__(self, *exc) -> None:
        _LEDGERS.remove(self)

    @property
    def steps(self) -> int:
        """Every optimizer step taken while the ledger was open."""
        return sum(r.steps for r in self.runs) + self.undeclared_steps

    def tried(self, kind: str = "gradient") -> tuple[float, ...]:
        """The distinct grid values searched by runs of ``kind`` (fixed settings excluded), in order."""
        return tuple(dict.fromkeys(r.lr for r in self.runs if r.kind == kind and not r.fixed))


def _begin(run: Run) -> None:
    _ensure_hook()
    for ledger in _LEDGERS:
        ledger.runs.append(run)
    _ACTIVE.append(run)


def _end(run: Run) -> None:
    if _ACTIVE and _ACTIVE[-1] is run:
        _ACTIVE.pop()


def no_training(reason: str) -> None:
    """Declare that the current arm trains nothing (it re-scores another arm's model, or is a rule).

    >>> with Ledger() as ledger:
    ...     no_training("a fixed rule")
    >>> ledger.untrained
    ['a fixed rule']
    """
    for ledger in _LEDGERS:
        ledger.untrained.append(reason)


# --------------------------------------------------------------------------- the loop

def _default_loss(model: nn.Module, batch: Sequence[Any]) -> torch.Tensor:
    """Cross-entropy of ``model(inputs)`` against ``targets``; label -100 is ignored.

    Per-token logits ``(B, T, C)`` against ``(B, T)`` labels and per-pixel logits
    ``(B, C, H, W)`` against ``(B, H, W)`` masks both work.
    """
    inputs, targets = batch[0], batch[-1]
    logits = forward(model, inputs)
    if logits.ndim == 3 and targets.ndim == 2 and logits.shape[1] == targets.shape[1]:
        logits = logits.transpose(1, 2)
    return nn.functional.cross_entropy(logits, targets, ignore_index=-100)


def _batches(data: Any, batch_size: int, generator: torch.Generator) -> Iterator[Any]:
    """An endless stream of training batches: seeded epochs over a tuple of tensors, or a cycled loader."""
    if isinstance(data, tuple):
        n = len(data[0])
        if n == 0 or any(len(t) != n for t in data):
            from .errors import EmptyDataError

            raise EmptyDataError(f"The training tensors must be non-empty and of equal length; got "
                                 f"{[len(t) for t in data]} rows.")
        while True:
            order = torch.randperm(n, generator=generator)
            for start in range(0, n, batch_size):
                idx = order[start:start + batch_size]
                yield tuple(t[idx] for t in data)
    else:
        while True:
            empty = True
            for batch in data:
                empty = False
                yield batch
            if empty:
                from .errors import EmptyDataError

                raise EmptyDataError("The training loader is empty: there is nothing to train on.")


def accuracy_score(x: Any, y: torch.Tensor, batch_size: int = 256) -> Callable[[nn.Module], float]:
    """A validation score for :func:`train`: accuracy on ``(x, y)``, ties broken by lower loss.

    The score is ``accuracy − 10⁻⁶ × cross-entropy``, so of two equally accurate epochs the more
    confident one wins.

    >>> score = accuracy_score(torch.eye(2), torch.tensor([0, 1]))
    >>> 0.99 < score(nn.Identity()) <= 1.0
    True
    """
    y = torch.as_tensor(y)

    def score(model: nn.Module) -> float:
        logits = batched_forward(model, x, batch_size=batch_size)
        if logits.ndim == 3 and y.ndim == 2:
            logits = logits.transpose(1, 2)
        keep = y != -100
        correct = (logits.argmax(1) == y)[keep].float().mean().item()
        return correct - 1e-6 * float(nn.functional.cross_entropy(logits, y, ignore_index=-100))
    return score


def _optimizer(kind: str | Callable, groups: list[dict[str, Any]], weight_decay: float) -> torch.optim.Optimizer:
    if callable(kind):
        return kind(groups)
    from .errors import check_option

    makers = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}
    check_option("optimizer", kind, tuple(makers))
    return makers[kind](groups, weight_decay=weight_decay)


def train(model: nn.Module, data: Any, *, lr: float, cap: int, val: Any = None,
          loss: Callable[[nn.Module, Any], torch.Tensor] | None = None, batch_size: int = 32,
          eval_every: int | None = None, patience: int | None = None,
          param_groups: Callable[[nn.Module, float], list[dict[str, Any]]] | None = None,
          optimizer: str | Callable = "adam", weight_decay: float = 0.0, schedule: str | None = None,
          clip: float | None = None, bn_eval: bool = False, seed: int = 0,
          device: str | torch.device | None = None, label: str = "", fixed: bool = False,
          eval_at_start: bool = False) -> Run:
    """Train ``model`` for at most ``cap`` optimizer steps; keep the best validation weights.

    - ``data``: a tuple of tensors ``(inputs, …, targets)`` (seeded epochs of shuffled batches of
      ``batch_size`` rows) or any re-iterable of batches, e.g. a ``DataLoader`` (cycled).
    - ``loss(model, batch)``: defaults to cross-entropy of ``model(inputs)`` (per row, per token
      or per pixel; label -100 ignored).
    - ``val``: a function ``model -> score`` (higher is better; run in eval mode without
      gradients) or a tuple ``(x, y)`` for :func:`accuracy_score`. Every ``eval_every`` steps
      (default: cap / 20) the score is measured; a strictly better score keeps the weights;
      ``patience`` evaluations without improvement stop the run early. Without ``val`` the last
      weights are kept. The starting point is a candidate only with ``eval_at_start=True``.
    - ``param_groups(model, lr)``: optimizer groups (e.g. a new head at ``lr``, pretrained layers
      slower); default: every trainable parameter at ``lr``. ``optimizer``: ``"adam"``,
      ``"adamw"``, ``"sgd"`` or a function of the groups. ``schedule="warmup-linear"``: a linear
      warm-up over the first 10 % of the cap, then a linear decay to 0 at the cap.
    - Frozen sub-modules stay in eval mode; ``bn_eval=True`` keeps every BatchNorm layer on its
      stored statistics. ``clip``: gradient-norm clipping.

    Returns the :class:`Run` (its ``steps`` counted by the optimizer hook). The model is left in
    eval mode with the kept weights, on ``device``.
    """
    from .devices import pick_device, to_device
    from .errors import NothingToTrainError

    if not isinstance(cap, (int, np.integer)) or cap < 1:
        raise NothingToTrainError(f"cap must be a positive number of optimizer steps, got {cap!r}.")
    device = pick_device(device)
    model.to(device)
    groups = (param_groups(model, lr) if param_groups is not None
              else [{"params": [p for p in model.parameters() if p.requires_grad], "lr": lr}])
    groups = [dict(g, params=list(g["params"])) for g in groups]
    groups = [g for g in groups if g["params"]]
    if not groups:
        raise NothingToTrainError("Every parameter is frozen, so training would change nothing. Unfreeze "
                                  "at least the head, e.g. course_lib.models.freeze_all_but_last(model, 1).")
    opt = _optimizer(optimizer, groups, weight_decay)
    scheduler = None
    if schedule == "warmup-linear":
        warm = max(1, cap // 10)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min((s + 1) / warm, max(0.0, (cap - s) / max(1, cap - warm))))
    else:
        from .errors import check_option

        check_option("schedule", schedule, (None, "warmup-linear"))
    loss_fn = loss or _default_loss
    score_fn = accuracy_score(*val) if isinstance(val, tuple) else val
    every = eval_every or max(1, cap // 20)
    tracked = [p for g in groups for p in g["params"]]
    generator = torch.Generator().manual_seed(int(seed))
    stream = _batches(data, batch_size, generator)

    run = Run(lr=float(lr), cap=int(cap), label=label, fixed=fixed)
    best_state, waited = None, 0

    def validate(step: int) -> None:
        nonlocal best_state, waited
        with evaluating(model):
            value = float(score_fn(model))
        run.curve.append((step, value))
        if run.best_step is None or value > run.best_score:
            run.best_step, run.best_score, waited = step, value, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1

    _begin(run)
    try:
        if score_fn is not None and eval_at_start:
            validate(0)
        for step in range(1, cap + 1):
            model.train()
            eval_frozen_modules(model)
            if bn_eval:
                set_batchnorm_eval(model)
            batch = to_device(next(stream), device)
            opt.zero_grad()
            value = loss_fn(model, batch)
            value.backward()
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(tracked, max_norm=clip)
            opt.step()
            if scheduler is not None:
                scheduler.step()
            if score_fn is not None and (step % every == 0 or step == cap):
                validate(step)
                if patience is not None and waited >= patience:
                    run.stopped_early = True
                    break
    finally:
        _end(run)
    if best_state is not None:
        model.load_state_dict(best_state)
    if score_fn is None:
        run.best_step = run.steps
    model.eval()
    return run


@dataclass
class Tuned:
    """What :func:`tune` kept: the model of the best rate, that rate, and every run it tried."""

    model: nn.Module
    lr: float
    run: Run
    runs: list[Run]

    @property
    def val_score(self) -> float:
        return self.run.best_score


def tune(make: Callable[[], nn.Module], data: Any, budget: Budget, *, val: Any, seed: int = 0,
         label: str = "", **train_options: Any) -> Tuned:
    """:func:`train` a fresh ``make()`` at every rate of ``budget.lr_grid``; keep the best on ``val``.

    Each run starts from the same seed, may take ``budget.cap`` steps and stops early on
    validation (``train_options`` go to :func:`train`, e.g. ``patience``, ``param_groups``).
    The rate whose best validation score is highest wins (ties: the first in the grid).

    >>> _ = torch.manual_seed(0)
    >>> X = torch.randn(90, 2); y = (X[:, 0] > 0).long()
    >>> t = tune(lambda: nn.Linear(2, 2), (X[:60], y[:60]), Budget(30, (0.01, 0.1, 1.0), scale=1),
    ...          val=(X[60:], y[60:]))
    >>> len(t.runs), t.lr in (0.01, 0.1, 1.0), t.run.selected
    (3, True, True)
    """
    from .repro import seed_everything

    if not budget.lr_grid:
        raise ValueError("tune picks the learning rate on validation: give the Budget an lr_grid.")
    if val is None and len(budget.lr_grid) > 1:
        raise ValueError("Picking a learning rate needs a validation split: pass val=(x, y) or a score function.")
    best: tuple[nn.Module, Run] | None = None
    runs = []
    for lr in budget.lr_grid:
        seed_everything(seed)
        model = make()
        run = train(model, data, lr=lr, cap=budget.cap, val=val, seed=seed, label=label, **train_options)
        runs.append(run)
        if best is None or run.best_score > best[1].best_score:
            best = (model, run)
        else:
            del model
    model, run = best
    run.selected = True
    return Tuned(model=model, lr=run.lr, run=run, runs=runs)


# --------------------------------------------------------------------------- convex heads

@dataclass
class ConvexFit:
    """A logistic-regression head fitted to convergence, its strength picked on validation."""

    classifier: Any                  # a scikit-learn pipeline: optional scaling, then LogisticRegression
    C: float
    val_score: float
    converged: bool
    runs: list[Run]

    def predict(self, X: Any) -> np.ndarray:
        return self.classifier.predict(_matrix(X))

    def score(self, X: Any, y: Any) -> float:
        """Accuracy on ``(X, y)``."""
        return float(self.classifier.score(_matrix(X), np.asarray(y)))


def _matrix(X: Any) -> np.ndarray:
    X = X.detach().cpu().numpy() if torch.is_tensor(X) else np.asarray(X)
    return X.reshape(len(X), -1).astype(np.float64, copy=False)


def fit_convex(X_train: Any, y_train: Any, X_val: Any, y_val: Any, budget: Budget, *,
               scale: str | None = "l2", max_iter: int = 10_000, label: str = "") -> ConvexFit:
    """Logistic regression on frozen features, solved to convergence, ``C`` picked on validation.

    For every strength of ``budget.c_grid`` an L-BFGS logistic regression (scikit-learn) is
    solved until its gradient criterion is met (``converged`` says whether it was, within
    ``max_iter`` iterations); the strength with the best validation accuracy wins (ties: the
    stronger regularisation, the first in the grid). ``scale="l2"`` rescales every row to unit
    length first (``"standard"``: per feature; ``None``: as given). The fits are recorded in any
    open :class:`Ledger` as convex runs.

    >>> rng = np.random.default_rng(0); X = rng.normal(size=(60, 3)); y = (X[:, 0] > 0).astype(int)
    >>> fit = fit_convex(X[:40], y[:40], X[40:], y[40:], Budget(10, (1e-3, 1e-2, 1e-1), scale=1))
    >>> fit.converged, fit.C in (0.1, 3.16, 100.0), len(fit.runs)
    (True, True, 3)
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import Normalizer, StandardScaler

    from .errors import check_option

    scalers = {"l2": Normalizer, "standard": StandardScaler, None: None}
    check_option("scale", scale, tuple(scalers))
    Xt, Xv = _matrix(X_train), _matrix(X_val)
    yt, yv = np.asarray(y_train), np.asarray(y_val)
    if len(np.unique(yt)) < 2:
        raise ValueError("The training labels hold one class only: a classifier needs at least two.")
    best: tuple[Any, float, float, bool] | None = None
    runs = []
    for C in budget.c_grid:
        steps = [scalers[scale]()] if scalers[scale] else []
        clf = make_pipeline(*steps, LogisticRegression(C=C, max_iter=max_iter, tol=1e-6))
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            try:
                clf.fit(Xt, yt)
                converged = True
            except ConvergenceWarning:
                warnings.simplefilter("ignore", ConvergenceWarning)
                clf.fit(Xt, yt)
                converged = False
        value = float(clf.score(Xv, yv)) if len(yv) else float("nan")
        run = Run(lr=float(C), cap=max_iter, label=label, kind="convex", best_score=value, converged=converged)
        _begin(run)
        _end(run)
        runs.append(run)
        if best is None or value > best[2]:
            best = (clf, C, value, converged)
    clf, C, value, converged = best
    for run in runs:
        run.selected = run.lr == C
    return ConvexFit(classifier=clf, C=float(C), val_score=value, converged=converged, runs=runs)


# --------------------------------------------------------------------------- parameter groups

def head_and_body(head: nn.Module, body_factor: float = 0.1) -> Callable[[nn.Module, float], list[dict[str, Any]]]:
    """Parameter groups: the new ``head`` at the grid's rate, every other trainable parameter at
    ``rate × body_factor``. With it the new head learns at the same rate in every arm.

    >>> m = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    >>> [g["lr"] for g in head_and_body(m[1], 0.1)(m, 1e-2)]
    [0.01, 0.001]
    """
    def groups(model: nn.Module, lr: float) -> list[dict[str, Any]]:
        head_ids = {id(p) for p in head.parameters()}
        head_params = [p for p in head.parameters() if p.requires_grad]
        body = [p for p in model.parameters() if p.requires_grad and id(p) not in head_ids]
        out = [{"params": head_params, "lr": lr, "name": "head"}]
        if body:
            out.append({"params": body, "lr": lr * body_factor, "name": "body"})
        return out
    return groups


def late_fraction(runs: Iterable[Run]) -> tuple[int, int]:
    """How many of the selected gradient runs had their best step in the last 20 % of the cap.

    >>> late_fraction([Run(1e-3, 100, best_step=90, selected=True), Run(1e-3, 100, best_step=10, selected=True)])
    (1, 2)
    """
    chosen = [r for r in runs if r.kind == "gradient" and r.selected and not r.fixed]
    return sum(r.late for r in chosen), len(chosen)
