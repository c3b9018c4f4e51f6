"""The course's one protocol for comparing two ways of doing something (A vs B).

A comparison is fair or it is not in the course:

1. **Paired seeds.** Both arms run on the same seeds; seed ``s`` gives both the same data split
   (see :func:`few_shot_trials`), so the per-seed difference cancels the luck of the split.
2. **The same budget.** Every arm receives the same :class:`Budget` (optimizer steps and the
   learning-rate grid it may search against a validation split carved from its training data)
   and reports what it used; :func:`run_paired` raises :class:`UnequalBudgetError` if an arm
   used more than it was given or searched a different grid.
3. **A 95 % interval** on the mean paired difference (Student's t on the differences, ddof=1).
4. **A verdict printed from the numbers**: ``"A better"``, ``"B better"`` or
   ``"no detectable difference with n = …"``. The notebook's prose may say only that, and an
   ``assert`` on :attr:`Comparison.verdict` guards it.

>>> c = paired_comparison([0.90, 0.92, 0.95, 0.91, 0.93], [0.80, 0.85, 0.86, 0.83, 0.82],
...                       "pretrained", "scratch")
>>> c.verdict
'pretrained better'
>>> print(c)  # doctest: +NORMALIZE_WHITESPACE
pretrained − scratch = +0.090 (95 % CI +0.070 to +0.110, n = 5 paired seeds): pretrained better
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from .errors import CourseError


class UnequalBudgetError(CourseError, ValueError):
    """Two arms of a comparison did not get (or did not keep to) the same budget."""


@dataclass(frozen=True)
class Budget:
    """What every arm of a comparison may spend.

    ``steps``: optimizer steps per run (an arm may stop earlier, e.g. early stopping on its own
    validation split, but never run more). ``lr_grid``: the learning rates an arm may try, each
    judged on a validation split carved from its own training data (empty: one fixed rate).

    >>> Budget(steps=200, lr_grid=(1e-3, 1e-2)).describe()
    '≤ 200 optimizer steps, learning rate picked on validation from (0.001, 0.01)'
    """

    steps: int
    lr_grid: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.steps, (int, np.integer)) or self.steps <= 0:
            raise ValueError(f"Budget.steps must be a positive int, got {self.steps!r}.")
        object.__setattr__(self, "lr_grid", tuple(float(x) for x in self.lr_grid))

    def describe(self) -> str:
        grid = (f", learning rate picked on validation from {self.lr_grid}" if self.lr_grid
                else ", one fixed learning rate")
        return f"≤ {int(self.steps)} optimizer steps{grid}"


@dataclass
class RunResult:
    """What one arm reports for one seed: its score and the budget it actually used."""

    score: float
    steps: int
    lr_grid: tuple[float, ...] = ()
    lr: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Comparison:
    """A paired comparison of arm A against arm B (``difference = A − B`` per seed)."""

    name_a: str
    name_b: str
    a: np.ndarray
    b: np.ndarray
    confidence: float = 0.95
    unit: str = ""

    @property
    def n(self) -> int:
        return len(self.a)

    @property
    def differences(self) -> np.ndarray:
        return self.a - self.b

    @property
    def mean_difference(self) -> float:
        return float(np.mean(self.differences))

    @property
    def interval(self) -> tuple[float, float]:
        """The ``confidence`` interval on the mean paired difference (Student's t, ddof=1)."""
        from scipy import stats

        d = self.differences
        sd = float(np.std(d, ddof=1))
        half = float(stats.t.ppf(0.5 + self.confidence / 2, self.n - 1)) * sd / math.sqrt(self.n)
        return self.mean_difference - half, self.mean_difference + half

    @property
    def verdict(self) -> str:
        low, high = self.interval
        if low > 0:
            return f"{self.name_a} better"
        if high < 0:
            return f"{self.name_b} better"
        return f"no detectable difference with n = {self.n}"

    def __str__(self) -> str:
        low, high = self.interval
        unit = f" {self.unit}" if self.unit else ""
        return (f"{self.name_a} − {self.name_b} = {self.mean_difference:+.3f}{unit} "
                f"({self.confidence:.0%} CI {low:+.3f} to {high:+.3f}, n = {self.n} paired seeds): "
                f"{self.verdict}").replace("95%", "95 %")

    def to_dict(self) -> dict[str, Any]:
        low, high = self.interval
        return {"a": self.name_a, "b": self.name_b, "mean_a": float(np.mean(self.a)),
                "mean_b": float(np.mean(self.b)), "difference": self.mean_difference,
                "low": low, "high": high, "n": self.n, "verdict": self.verdict}


def paired_comparison(a: Sequence[float], b: Sequence[float], name_a: str = "A", name_b: str = "B", *,
                      confidence: float = 0.95, unit: str = "") -> Comparison:
    """Compare two arms measured on the same seeds, in the same order.

    Raises ``ValueError`` when the two lists differ in length, hold fewer than 2 pairs, or hold
    NaN: a comparison on one seed has no uncertainty to report.

    >>> paired_comparison([0.5, 0.6, 0.7], [0.5, 0.61, 0.69]).verdict
    'no detectable difference with n = 3'
    """
    a_arr = np.asarray(a, dtype=np.float64).reshape(-1)
    b_arr = np.asarray(b, dtype=np.float64).reshape(-1)
    if len(a_arr) != len(b_arr):
        raise ValueError(f"Paired comparison needs one B value per A value (same seeds, same order); "
                         f"got {len(a_arr)} and {len(b_arr)}.")
    if len(a_arr) < 2:
        raise ValueError(f"A paired comparison needs at least 2 seeds to estimate its uncertainty; "
                         f"got {len(a_arr)}. Run more seeds.")
    if not (np.isfinite(a_arr).all() and np.isfinite(b_arr).all()):
        raise ValueError("The scores contain NaN or infinite values; check the runs that produced them.")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}.")
    return Comparison(name_a, name_b, a_arr, b_arr, confidence, unit)


def check_budget(name: str, result: RunResult, budget: Budget) -> None:
    """Raise :class:`UnequalBudgetError` if ``result`` spent more than ``budget`` allows."""
    if result.steps > budget.steps:
        raise UnequalBudgetError(f"Arm {name!r} took {result.steps} optimizer steps; the budget is "
                                 f"{budget.steps}. Give every arm the same budget (Budget.steps).")
    if tuple(result.lr_grid) != tuple(budget.lr_grid):
        raise UnequalBudgetError(f"Arm {name!r} searched the learning rates {tuple(result.lr_grid)}; the "
                                 f"budget's grid is {budget.lr_grid}. Every arm searches the same grid.")


def run_paired(arms: dict[str, Callable[[int, Budget], RunResult]], seeds: Sequence[int],
               budget: Budget, progress: bool = False) -> dict[str, list[RunResult]]:
    """Run every arm on every seed with the same ``budget``; return ``{arm: [result per seed]}``.

    Each arm is a function ``(seed, budget) -> RunResult``. Seeds run in the outer loop so that
    all arms see seed ``s`` before any sees ``s + 1``.

    >>> def a(seed, budget): return RunResult(score=0.9, steps=budget.steps)
    >>> def b(seed, budget): return RunResult(score=0.8, steps=budget.steps + 1)
    >>> run_paired({"a": a, "b": b}, [0, 1], Budget(10))
    Traceback (most recent call last):
    ...
    course_lib.compare.UnequalBudgetError: Arm 'b' took 11 optimizer steps; the budget is 10. ...
    """
    if len(arms) < 2:
        raise ValueError("A comparison needs at least two arms.")
    results: dict[str, list[RunResult]] = {name: [] for name in arms}
    iterator = seeds
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(list(seeds), desc="paired seeds")
    for seed in iterator:
        for name, arm in arms.items():
            result = arm(int(seed), budget)
            check_budget(name, result, budget)
            results[name].append(result)
    return results


def compare_results(results: dict[str, list[RunResult]], name_a: str, name_b: str,
                    **kwargs) -> Comparison:
    """The :class:`Comparison` of two arms of :func:`run_paired`'s output."""
    return paired_comparison([r.score for r in results[name_a]], [r.score for r in results[name_b]],
                             name_a, name_b, **kwargs)


def few_shot_trials(labels, ks: Sequence[int], seeds: Sequence[int], *, test_size: float = 0.5,
                    val_per_class: int = 0) -> Iterator[dict[str, Any]]:
    """The course's one seed × k loop: for each seed, a fixed test part; for each k, k training
    labels per class (and, if asked, ``val_per_class`` validation labels per class carved from
    the same pool, never from the test part).

    Yields ``{"seed", "k", "train", "val", "test"}`` with index arrays. Seed ``s`` gives every
    arm the same indices, which is what makes a comparison paired.

    >>> y = np.repeat([0, 1], 20)
    >>> t = next(few_shot_trials(y, ks=[2], seeds=[0], val_per_class=3))
    >>> len(t["train"]), len(t["val"]), len(t["test"])
    (4, 6, 20)
    >>> set(t["train"]) & set(t["test"]) or set(t["val"]) & set(t["train"])
    set()
    """
    from . import data

    labels = np.asarray(labels)
    for seed in seeds:
        pool, test_idx = data.stratified_split(labels, test_size=test_size, seed=int(seed))
        val_idx = np.array([], dtype=int)
        if val_per_class:
            val_idx = data.k_per_class(labels, val_per_class, seed=int(seed) + 10_000, pool=pool)
            pool = np.setdiff1d(pool, val_idx)
        for k in ks:
            train_idx = data.k_per_class(labels, int(k), seed=int(seed), pool=pool)
            yield {"seed": int(seed), "k": int(k), "train": train_idx, "val": val_idx, "test": test_idx}
