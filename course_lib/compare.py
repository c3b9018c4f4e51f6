"""The course's one protocol for comparing two ways of doing something (A vs B).

A comparison is fair or it is not in the course:

1. **Paired seeds.** Both arms run on the same seeds; seed ``s`` gives both the same data split
   (see :func:`few_shot_trials`), so the per-seed difference cancels the luck of the split.
2. **The same budget, counted.** Every arm receives the same :class:`Budget` (a cap on optimizer
   steps per learning rate, and the grid of rates every arm searches on a validation split
   carved from its own training data) and trains through the one loop of
   :mod:`course_lib.loop`, which counts what it spends; :func:`run_paired` refuses an arm that
   took more steps than the cap, stepped outside the loop, or searched another grid.
3. **A 95 % interval** on the mean paired difference (Student's t on the differences, ddof=1);
   within a family of comparisons (all k of one curve, all techniques) the verdicts are
   Holm-adjusted (:func:`holm`).
4. **A verdict printed from the numbers**: ``"A better"``, ``"B better"`` or
   ``"no detectable difference with n = …"``. The notebook's prose may say only that, and an
   ``assert`` on :attr:`Comparison.verdict` guards it. ``COURSE_BUDGET_SCALE=4`` re-runs every
   comparison at four times the budget; a verdict that changes depends on the budget.

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

from .errors import UnequalBudgetError
from .loop import Budget, Ledger, Run, late_fraction, scaled

__all__ = ["Budget", "Comparison", "RunResult", "UnequalBudgetError", "audit", "budget_report",
           "compare_results", "convex_arm", "few_shot_trials", "holm", "paired_comparison", "run_curve", "run_paired",
           "scaled", "trials_by_seed"]


@dataclass
class RunResult:
    """What one arm returns for one seed: its score (and anything worth keeping in ``extra``).

    :func:`run_paired` fills in what the arm *spent*, from the ledger of the one training loop,
    never from the arm's own report: ``steps`` (optimizer steps counted), ``lrs`` (learning
    rates tried), ``cs`` (regularisation strengths tried) and ``runs`` (every
    :class:`course_lib.loop.Run`).
    """

    score: float
    extra: dict[str, Any] = field(default_factory=dict)
    lr: float | None = None
    steps: int = 0
    lrs: tuple[float, ...] = ()
    cs: tuple[float, ...] = ()
    runs: list[Any] = field(default_factory=list)

@dataclass
class Comparison:
    """A paired comparison of arm A against arm B (``difference = A − B`` per seed)."""

    name_a: str
    name_b: str
    a: np.ndarray
    b: np.ndarray
    confidence: float = 0.95
    unit: str = ""
    adjusted_p: float | None = None   # set by :func:`holm`
    family: int = 1                   # how many comparisons share the Holm adjustment

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
    def p_value(self) -> float:
        """Two-sided p-value of the paired t-test that the mean difference is 0.

        The same test as the interval: ``p < 1 − confidence`` exactly when the interval excludes 0.
        """
        from scipy import stats

        d = self.differences
        sd = float(np.std(d, ddof=1))
        if sd == 0.0:
            return 1.0 if self.mean_difference == 0.0 else 0.0
        t = self.mean_difference / (sd / math.sqrt(self.n))
        return float(2 * stats.t.sf(abs(t), self.n - 1))

    @property
    def decisive_p(self) -> float:
        """The p-value the verdict uses: Holm-adjusted within its family when :func:`holm` set one."""
        return self.adjusted_p if self.adjusted_p is not None else self.p_value

    @property
    def verdict(self) -> str:
        if self.decisive_p < 1 - self.confidence:
            return f"{self.name_a} better" if self.mean_difference > 0 else f"{self.name_b} better"
        return f"no detectable difference with n = {self.n}"

    def __str__(self) -> str:
        low, high = self.interval
        unit = f" {self.unit}" if self.unit else ""
        holm = (f"; Holm-adjusted p = {self.adjusted_p:.3f} over {self.family} comparisons"
                if self.adjusted_p is not None and self.family > 1 else "")
        return (f"{self.name_a} − {self.name_b} = {self.mean_difference:+.3f}{unit} "
                f"({self.confidence:.0%} CI {low:+.3f} to {high:+.3f}, n = {self.n} paired seeds{holm}): "
                f"{self.verdict}").replace("95%", "95 %")

    def to_dict(self) -> dict[str, Any]:
        low, high = self.interval
        return {"a": self.name_a, "b": self.name_b, "mean_a": float(np.mean(self.a)),
                "mean_b": float(np.mean(self.b)), "difference": self.mean_difference,
                "low": low, "high": high, "n": self.n, "p": self.p_value,
                "adjusted_p": self.adjusted_p, "family": self.family, "verdict": self.verdict}


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


def holm(comparisons: Sequence[Comparison]) -> list[Comparison]:
    """Holm-adjust the verdicts of a family of comparisons (all k of one curve, all techniques…).

    Testing many differences at 95 % each, about one in twenty shows a "difference" by luck.
    Holm's step-down method keeps the chance of any false verdict in the family at 5 %: the
    i-th smallest p-value is multiplied by (m − i + 1), and the adjusted values are made
    non-decreasing. Sets ``adjusted_p`` and ``family`` on each comparison and returns them.

    >>> strong = paired_comparison([0.90, 0.92, 0.95, 0.91, 0.93], [0.80, 0.85, 0.86, 0.83, 0.82])
    >>> weak = paired_comparison([0.62, 0.60, 0.66, 0.61, 0.64], [0.60, 0.55, 0.61, 0.60, 0.58])
    >>> null = paired_comparison([0.50, 0.52, 0.55, 0.50, 0.51], [0.50, 0.50, 0.56, 0.49, 0.52])
    >>> weak.verdict                          # alone, p = 0.017
    'A better'
    >>> [c.verdict for c in holm([strong, weak, null, null])]   # one of four: p × 3 = 0.052
    ['A better', 'no detectable difference with n = 5', 'no detectable difference with n = 5', 'no detectable difference with n = 5']
    """
    m = len(comparisons)
    order = sorted(range(m), key=lambda i: comparisons[i].p_value)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * comparisons[i].p_value))
        comparisons[i].adjusted_p = running
        comparisons[i].family = m
    return list(comparisons)


def audit(name: str, ledger: Ledger, budget: Budget) -> None:
    """Raise :class:`UnequalBudgetError` unless the arm ``name`` kept to ``budget``, as counted.

    The rules: every optimizer step was taken inside :func:`course_lib.loop.train`; no grid value
    got more than ``budget.cap`` steps; a gradient arm tried exactly the rates of
    ``budget.lr_grid``, a convex arm exactly the strengths of ``budget.c_grid``; a fixed setting
    (the article's loop) spent no more than a tuned arm may (``cap × len(lr_grid)``); an arm that
    trains nothing said so (:func:`course_lib.loop.no_training`).
    """
    if ledger.undeclared_steps:
        raise UnequalBudgetError(
            f"Arm {name!r} took {ledger.undeclared_steps} optimizer steps outside course_lib.loop.train, "
            "where nobody counts them. Train every arm through the one loop (loop.train / loop.tune).")
    per_value: dict[float, int] = {}
    for run in ledger.runs:
        if run.kind == "gradient" and not run.fixed:
            per_value[run.lr] = per_value.get(run.lr, 0) + run.steps
    for lr, steps in per_value.items():
        if steps > budget.cap:
            raise UnequalBudgetError(
                f"Arm {name!r} took {steps} optimizer steps at learning rate {lr:g}; the budget is "
                f"{budget.cap} per rate. Give every arm the same Budget and let loop.train stop it.")
    fixed = sum(r.steps for r in ledger.runs if r.fixed)
    if fixed > budget.cap * max(1, len(budget.lr_grid)):
        raise UnequalBudgetError(
            f"Arm {name!r} took {fixed} optimizer steps with a fixed setting; a tuned arm may take at most "
            f"{budget.cap * max(1, len(budget.lr_grid))} ({budget.cap} per rate × {len(budget.lr_grid)} rates).")
    lrs, cs = ledger.tried("gradient"), ledger.tried("convex")
    if lrs and sorted(lrs) != sorted(budget.lr_grid):
        raise UnequalBudgetError(
            f"Arm {name!r} searched the learning rates {lrs}; the budget's grid is {budget.lr_grid}. "
            "Every arm searches the same grid (loop.tune does).")
    if cs and sorted(cs) != sorted(budget.c_grid):
        raise UnequalBudgetError(
            f"Arm {name!r} searched the strengths C = {cs}; the budget's grid is {budget.c_grid}. "
            "Every convex arm searches Budget.c_grid (loop.fit_convex does).")
    if not ledger.runs and not ledger.untrained:
        raise UnequalBudgetError(
            f"Arm {name!r} trained nothing through the course's loop. If it truly trains nothing (a rule, "
            "or a re-scored model), say so with course_lib.loop.no_training(reason).")


def run_paired(arms: dict[str, Callable[[int, Budget], Any]], seeds: Sequence[int],
               budget: Budget, progress: bool = False) -> dict[str, list[RunResult]]:
    """Run every arm on every seed with the same ``budget``; return ``{arm: [result per seed]}``.

    Each arm is a function ``(seed, budget) -> RunResult`` (or a plain score). A
    :class:`course_lib.loop.Ledger` is open around every call: what the arm spent is counted by
    the one training loop and checked by :func:`audit` (an arm that steps more than the cap, or
    searches another grid, is refused with :class:`UnequalBudgetError`), then written into the
    result's ``steps``, ``lrs``, ``cs`` and ``runs``. Seeds run in the outer loop so that all arms
    see seed ``s`` before any sees ``s + 1``.

    >>> import torch
    >>> def greedy(seed, budget):            # one step more than allowed, in its own loop
    ...     m = torch.nn.Linear(1, 1); opt = torch.optim.SGD(m.parameters(), lr=0.1)
    ...     for _ in range(budget.cap + 1):
    ...         opt.zero_grad(); m(torch.ones(1, 1)).sum().backward(); opt.step()
    ...     return 0.5
    >>> run_paired({"a": greedy, "b": greedy}, [0], Budget(10, (1e-3, 1e-2, 1e-1), scale=1))
    Traceback (most recent call last):
    ...
    course_lib.errors.UnequalBudgetError: Arm 'a' took 11 optimizer steps outside course_lib.loop.train, ...
    """
    if len(arms) < 2:
        raise ValueError("A comparison needs at least two arms.")
    if len(budget.lr_grid) < 3:
        raise ValueError(f"Every arm picks its learning rate on validation from a grid of at least 3 rates; "
                         f"the budget's grid is {budget.lr_grid}. Give Budget an lr_grid such as "
                         "(1e-3, 3e-3, 1e-2).")
    results: dict[str, list[RunResult]] = {name: [] for name in arms}
    iterator = seeds
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(list(seeds), desc="paired seeds")
    for seed in iterator:
        for name, arm in arms.items():
            with Ledger() as ledger:
                out = arm(int(seed), budget)
            audit(name, ledger, budget)
            result = out if isinstance(out, RunResult) else RunResult(score=float(out))
            result.steps, result.runs = ledger.steps, list(ledger.runs)
            result.lrs, result.cs = ledger.tried("gradient"), ledger.tried("convex")
            results[name].append(result)
    return results


def compare_results(results: dict[str, list[RunResult]], name_a: str, name_b: str,
                    **kwargs) -> Comparison:
    """The :class:`Comparison` of two arms of :func:`run_paired`'s output."""
    return paired_comparison([r.score for r in results[name_a]], [r.score for r in results[name_b]],
                             name_a, name_b, **kwargs)


def budget_report(results: dict[str, list[RunResult]]) -> str:
    """One line per arm: steps spent, and how often the kept run's best step was in the last 20 % of
    the cap (often means the cap is too small for that arm).

    >>> r = RunResult(0.9, runs=[Run(1e-3, 100, best_step=95, steps=100, selected=True)], steps=100)
    >>> print(budget_report({"head": [r]}))
    head: 100 optimizer steps on average; best step in the last 20 % of the cap in 1 of 1 runs
    """
    lines = []
    for name, rs in results.items():
        late, total = late_fraction(run for r in rs for run in r.runs)
        steps = float(np.mean([r.steps for r in rs])) if rs else 0.0
        convex = sum(1 for r in rs for run in r.runs if run.kind == "convex")
        if total:
            tail = f"best step in the last 20 % of the cap in {late} of {total} runs"
        elif convex:
            tail = f"convex head solved to convergence ({convex} fits)"
        else:
            tail = "no validation-selected run"
        lines.append(f"{name}: {steps:.0f} optimizer steps on average; {tail}")
    return "\n".join(lines)


def run_curve(make_arms: Callable[[int], dict[str, Callable[[int, Budget], Any]]], ks: Sequence[int],
              seeds: Sequence[int], budget: Budget, progress: bool = False) -> list[dict[str, Any]]:
    """A label-efficiency curve through :func:`run_paired`: for every ``k``, ``make_arms(k)`` gives the
    arms (each ``(seed, budget) -> result``), run paired on ``seeds``. Returns rows
    ``{"name", "k", "seed", "accuracy", "steps"}`` for :func:`course_lib.plots.plot_label_efficiency`.

    >>> from course_lib import loop
    >>> def arm(seed, budget):
    ...     loop.no_training("a constant")
    ...     return 0.5
    >>> rows = run_curve(lambda k: {"a": arm, "b": arm}, [1, 2], [0, 1], Budget(5, (1e-3, 1e-2, 1e-1)))
    >>> len(rows), rows[0]["name"], rows[0]["accuracy"]
    (8, 'a', 0.5)
    """
    rows = []
    ks = list(ks)
    iterator = ks
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(ks, desc="k")
    for k in iterator:
        results = run_paired(make_arms(int(k)), seeds, budget)
        for name, rs in results.items():
            for seed, r in zip(seeds, rs):
                rows.append({"name": name, "k": int(k), "seed": int(seed), "accuracy": float(r.score),
                             "steps": int(r.steps)})
    return rows


def trials_by_seed(labels, k: int, seeds: Sequence[int], *, val_per_class: int = 0,
                   test_size: float = 0.5) -> dict[int, dict[str, Any]]:
    """``{seed: trial}`` for one ``k``: what an arm ``(seed, budget)`` looks its split up in.

    >>> t = trials_by_seed(np.repeat([0, 1], 20), 3, [0, 1], val_per_class=2)
    >>> sorted(t), len(t[0]["train"]), len(t[0]["val"])
    ([0, 1], 6, 4)
    """
    return {t["seed"]: t for t in few_shot_trials(labels, [k], seeds, val_per_class=val_per_class,
                                                  test_size=test_size)}


def convex_arm(features, labels, trials: dict[int, dict[str, Any]] | Callable[[int], dict[str, Any]], *,
               scale: str | None = "l2") -> Callable[[int, Budget], RunResult]:
    """An arm: a logistic-regression head on fixed ``features``, solved to convergence, its strength
    picked on the trial's validation rows from ``budget.c_grid`` (:func:`course_lib.loop.fit_convex`),
    scored on the trial's test rows. ``trials`` maps a seed to a split (or is a function of the seed).
    ``extra`` keeps ``C`` and ``converged``. The strongest simple baseline on frozen features.

    >>> rng = np.random.default_rng(0); X = rng.normal(size=(80, 5)); y = (X[:, 0] > 0).astype(int)
    >>> arm = convex_arm(X, y, trials_by_seed(y, 10, [0], val_per_class=5))
    >>> r = arm(0, Budget(10, (1e-3, 1e-2, 1e-1), scale=1)); r.extra["converged"], r.score > 0.7
    (True, True)
    """
    from .loop import fit_convex

    X = features.detach().cpu().numpy() if hasattr(features, "detach") else np.asarray(features)
    X = X.reshape(len(X), -1)
    y = labels.detach().cpu().numpy() if hasattr(labels, "detach") else np.asarray(labels)

    def arm(seed: int, budget: Budget) -> RunResult:
        t = trials(seed) if callable(trials) else trials[seed]
        if not len(t["val"]):
            raise ValueError("A convex arm picks its strength on validation: carve a validation split "
                             "(few_shot_trials(..., val_per_class=...)).")
        fit = fit_convex(X[t["train"]], y[t["train"]], X[t["val"]], y[t["val"]], budget, scale=scale)
        return RunResult(score=fit.score(X[t["test"]], y[t["test"]]),
                         extra={"C": fit.C, "converged": fit.converged, "val": fit.val_score})
    return arm


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
