"""A decision report on your own folder: frozen head, last block(s) or full fine-tuning?

    python -m course_lib.train FOLDER MODEL_DIR --compare

or, from Python, :func:`decision_report`. It runs the course's fair protocol
(:mod:`course_lib.compare`, :mod:`course_lib.loop`) on your photos:

1. **Photos**: only the training and validation photos of the kept split (the test photos stay
   untouched for the final model's test accuracy), at most ``max_per_class`` per class.
2. **Splits**: for every seed a fresh stratified split of those photos into training, validation
   and test parts (:func:`decision_trials`); every option sees the same split for a seed (paired).
3. **Three options**, each tuned on that split's validation photos under one counted
   :class:`~course_lib.loop.Budget`: the **frozen head** (a logistic regression on the frozen
   features, solved to convergence, its strength picked from ``budget.c_grid``:
   :func:`course_lib.compare.convex_arm`); the **last block(s)** and **full fine-tuning** (the new
   head at the grid's rate, the pretrained layers at ``rate × body_factor``; every rate of
   ``budget.lr_grid`` tried, ≤ ``budget.cap`` optimizer steps each, early stopping:
   :func:`course_lib.loop.tune`). :func:`course_lib.compare.run_paired` counts the steps and refuses
   an option that spent more, or searched another grid.
4. **Verdicts**: the three paired differences with 95 % intervals, Holm-adjusted together
   (:func:`course_lib.compare.holm`); the recommendation is computed from them
   (:func:`recommend`): the cheapest option that no other option beats detectably.
5. **LogME** (:func:`course_lib.transferability.logme`) for three candidate feature layers of the
   backbone, next to the frozen head's measured accuracy on each.
6. **Costs**: seconds measured here, and operation counts per image (forward, and forward +
   backward) with the total spent per split: what decides the cost on a GPU.

``MODEL_DIR`` receives ``decision_report.md``, ``decision_report.png`` and
``decision_report.json``.
"""
from __future__ import annotations

import copy
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from .compare import Budget, Comparison, RunResult, compare_results, convex_arm, holm, run_paired
from .cpu import cpu_threads

OPTIONS = ("frozen head", "last block", "full fine-tuning")   # cheapest first
LR_GRID = (1e-3, 3e-3, 1e-2)
BACKWARD_FACTOR = 2.0     # backward ≈ 2 × forward (gradients of the inputs and of the weights)
REPORT = "decision_report"


# --------------------------------------------------------------------------- splits

def decision_trials(labels, seeds: Sequence[int], *, val: float = 0.25, test: float = 0.25) -> dict[int, dict]:
    """``{seed: {"seed", "train", "val", "test"}}``: a fresh stratified split of ``labels`` per seed.

    Every option of :func:`decision_report` looks its rows up here, so seed ``s`` gives all of
    them the same photos (the comparison is paired). ``val`` and ``test`` are shares of each class.

    >>> t = decision_trials(np.repeat([0, 1], 8), [0, 1])
    >>> [len(t[0][p]) for p in ("train", "val", "test")], set(t[0]["train"]) & set(t[0]["test"])
    ([8, 4, 4], set())
    """
    from .data import stratified_split

    out = {}
    for seed in seeds:
        rest, test_idx = stratified_split(labels, test_size=test, seed=int(seed))
        y_rest = np.asarray(labels)[rest]
        fit, val_idx = stratified_split(y_rest, test_size=val / (1 - test), seed=int(seed) + 1)
        out[int(seed)] = {"seed": int(seed), "train": rest[fit], "val": rest[val_idx], "test": test_idx}
    return out


def at_most_per_class(labels, n: int | None, seed: int = 0) -> np.ndarray:
    """Sorted indices keeping at most ``n`` rows of every class (all rows when ``n`` is None).

    >>> keep = at_most_per_class([0, 0, 0, 1], 2); len(keep), int(keep[-1])
    (3, 3)
    """
    y = np.asarray(labels)
    if n is None:
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    keep = [np.sort(rng.permutation(np.flatnonzero(y == c))[:n]) for c in np.unique(y)]
    return np.sort(np.concatenate(keep))


# --------------------------------------------------------------------------- models of the options

class Normalised(nn.Module):
    """``model(preprocess.normalise(images))``: a network that takes ``uint8`` images as stored.

    >>> from course_lib.models import ImagePreprocess
    >>> m = Normalised(nn.Flatten(), ImagePreprocess(8))
    >>> m(torch.zeros(1, 3, 8, 8, dtype=torch.uint8)).shape
    torch.Size([1, 192])
    """

    def __init__(self, model: nn.Module, preprocess):
        super().__init__()
        self.model, self.preprocess = model, preprocess

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(self.preprocess.normalise(images))


def with_head(body: nn.Module, n_features: int, num_classes: int) -> nn.Sequential:
    """A trainable copy of ``body`` followed by a new linear head (``model[-1]``).

    >>> with_head(nn.Identity(), 3, 2)(torch.zeros(1, 3)).shape
    torch.Size([1, 2])
    """
    body = copy.deepcopy(body)
    for p in body.parameters():
        p.requires_grad_(True)
    return nn.Sequential(body, nn.Linear(n_features, num_classes))


def new_head_groups(body_factor: float) -> Callable[[nn.Module, float], list[dict[str, Any]]]:
    """``param_groups`` for :func:`course_lib.loop.train`: the new head (``model[-1]``) at the grid's
    rate, the pretrained layers at ``rate × body_factor`` (:func:`course_lib.loop.head_and_body`).

    >>> [g["lr"] for g in new_head_groups(0.1)(with_head(nn.Linear(2, 2), 2, 2), 1e-2)]
    [0.01, 0.001]
    """
    from .loop import head_and_body

    return lambda model, lr: head_and_body(model[-1], body_factor)(model, lr)


def gradient_arm(make: Callable[[], nn.Module], x: torch.Tensor, y: torch.Tensor, trials: dict[int, dict], *,
                 body_factor: float = 0.1, batch_size: int = 8, patience: int = 3,
                 eval_every: int | None = None, threads: int | None = None, bn_eval: bool = True,
                 label: str = "") -> Callable[[int, Budget], RunResult]:
    """An option trained by :func:`course_lib.loop.tune` on the seed's split, scored on its test rows.

    ``make()`` returns a fresh model whose last module is the new head; ``x`` holds its inputs
    (images, or a frozen front's activations). Validation every ``eval_every`` steps (default: a
    fifth of the cap); ``patience`` checks without improvement stop a run. ``bn_eval``: BatchNorm
    layers keep their pretrained statistics (batches of a few photos estimate them badly). ``extra`` keeps the chosen rate, its best step and
    validation accuracy. ``threads``: CPU threads while it trains (1 suits small layers; None: as set).

    >>> x = torch.randn(40, 2); y = (x[:, 0] > 0).long()
    >>> arm = gradient_arm(lambda: with_head(nn.Identity(), 2, 2), x, y, decision_trials(y, [0]))
    >>> r = arm(0, Budget(20, LR_GRID, scale=1)); r.extra["lr"] in LR_GRID, 0 <= r.score <= 1
    (True, True)
    """
    from .loop import accuracy_score, tune

    def arm(seed: int, budget: Budget) -> RunResult:
        t = trials[seed]
        every = eval_every or max(1, budget.cap // 5)
        with cpu_threads(threads):
            tuned = tune(make, (x[t["train"]], y[t["train"]]), budget, val=(x[t["val"]], y[t["val"]]), seed=seed,
                         label=label, batch_size=batch_size, patience=patience, eval_every=every,
                         param_groups=new_head_groups(body_factor), bn_eval=bn_eval, device="cpu")
            score = accuracy_score(x[t["test"]], y[t["test"]], batch_size=64)(tuned.model)
        return RunResult(score=round(score, 4), lr=tuned.lr,
                         extra={"lr": tuned.lr, "best_step": tuned.run.best_step, "val": tuned.val_score})
    return arm


def one_thread(arm: Callable[[int, Budget], Any]) -> Callable[[int, Budget], Any]:
    """``arm`` run on one CPU thread (a convex fit on a small matrix is fastest so).

    >>> one_thread(lambda seed, budget: torch.get_num_threads())(0, None)
    1
    """
    def run(seed: int, budget: Budget) -> Any:
        with cpu_threads(1):
            return arm(seed, budget)
    return run


def timed(arm: Callable[[int, Budget], Any], seconds: list[float]) -> Callable[[int, Budget], Any]:
    """``arm``, appending the wall-clock seconds of each call to ``seconds``.

    >>> s = []; timed(lambda seed, budget: 0.5, s)(0, None), len(s)
    (0.5, 1)
    """
    def run(seed: int, budget: Budget) -> Any:
        start = time.perf_counter()
        try:
            return arm(seed, budget)
        finally:
            seconds.append(time.perf_counter() - start)
            if os.environ.get("COURSE_DECIDE_DEBUG"):
                print(f"  arm call: {seconds[-1]:.1f} s, cpu {time.process_time():.0f} s", flush=True)
    return run


# --------------------------------------------------------------------------- the verdict

def recommend(comparisons: Sequence[Comparison], options: Sequence[str] = OPTIONS) -> tuple[str, str]:
    """``(option, sentence)``: the cheapest option (``options`` runs cheapest first) that no other
    option beats detectably (Holm-adjusted verdicts of ``comparisons``), and why, in words.

    >>> from course_lib.compare import paired_comparison
    >>> tie = paired_comparison([0.8, 0.9, 0.85], [0.8, 0.88, 0.86], "last block", "frozen head")
    >>> recommend([tie], ("frozen head", "last block"))[0]
    'frozen head'
    >>> win = paired_comparison([0.9, 0.95, 0.93], [0.8, 0.84, 0.83], "last block", "frozen head")
    >>> recommend([win], ("frozen head", "last block"))
    ('last block', 'last block is detectably better than frozen head; no option is detectably better than last block. Recommended: last block, the cheapest option that no other option beats.')
    """
    beaten: dict[str, list[str]] = {name: [] for name in options}
    for c in comparisons:
        if c.verdict == f"{c.name_a} better":
            beaten[c.name_b].append(c.name_a)
        elif c.verdict == f"{c.name_b} better":
            beaten[c.name_a].append(c.name_b)
    if not any(beaten.values()):
        n = comparisons[0].n if comparisons else 0
        return options[0], (f"Every 95 % interval includes 0 (Holm-adjusted over {len(comparisons)} "
                            f"comparisons, n = {n} splits): the data cannot tell the options apart. "
                            f"Recommended: {options[0]}, the cheapest.")
    choice = next((name for name in options if not beaten[name]), options[-1])
    reasons = [f"{winner} is detectably better than {loser}" for loser in options
               for winner in beaten[loser]]
    return choice, (f"{'; '.join(reasons)}; no option is detectably better than {choice}. "
                    f"Recommended: {choice}, the cheapest option that no other option beats.")


def budget_caveat(results: dict[str, list[RunResult]]) -> str:
    """A sentence when the fine-tuning options' best step came in the last 20 % of the cap in at
    least half of their kept runs (the cap, not the method, may then decide); else ``""``.

    >>> from course_lib.loop import Run
    >>> late = RunResult(0.9, runs=[Run(1e-3, 20, best_step=20, selected=True)])
    >>> budget_caveat({"last block": [late, late]})
    ' Caution: the best step came in the last 20 % of the cap in 2 of 2 kept runs of the fine-tuning options; a larger budget (--compare-steps) may change the verdict.'
    """
    from .loop import late_fraction

    late, total = late_fraction(run for name, rs in results.items() if name != OPTIONS[0]
                                for r in rs for run in r.runs)
    if total and 2 * late >= total:
        return (f" Caution: the best step came in the last 20 % of the cap in {late} of {total} kept runs of the "
                "fine-tuning options; a larger budget (--compare-steps) may change the verdict.")
    return ""


# --------------------------------------------------------------------------- costs

def forward_flops(model: nn.Module, x: torch.Tensor) -> float:
    """Floating-point operations of one forward pass per image of ``x`` (torch.utils.flop_counter).

    >>> forward_flops(nn.Linear(10, 20), torch.rand(4, 10))    # 2 × 10 × 20 per row
    400.0
    """
    from .inspect_model import forward_flops as total

    return total(model, x) / len(x)


def option_costs(flops_front: float, flops_tail: float, n_photos: int, steps: Sequence[int],
                 batch_size: int) -> dict[str, dict[str, float]]:
    """Operations per image and per split for each option (``steps``: optimizer steps counted per
    split, one value per option in :data:`OPTIONS` order; the frozen head's is 0).

    Backward is taken as ``BACKWARD_FACTOR`` × forward (gradients of the inputs and of the weights;
    torch's flop counter overcounts the backward pass of grouped convolutions). The forward pass of
    the frozen part runs once per photo; each optimizer step runs forward + backward on
    ``batch_size`` photos through the trained part. Validation passes are left out.

    >>> c = option_costs(8.0, 2.0, 10, [0, 5, 5], 4)
    >>> c["frozen head"]["total"], c["last block"]["train_per_image"], c["full fine-tuning"]["total"]
    (100.0, 6.0, 600.0)
    """
    fb = 1 + BACKWARD_FACTOR
    full = flops_front + flops_tail
    rows = {
        OPTIONS[0]: {"forward_per_image": full, "train_per_image": 0.0, "once": full * n_photos},
        OPTIONS[1]: {"forward_per_image": full, "train_per_image": fb * flops_tail, "once": flops_front * n_photos},
        OPTIONS[2]: {"forward_per_image": full, "train_per_image": fb * full, "once": 0.0},
    }
    for (name, row), n_steps in zip(rows.items(), steps):
        row["total"] = row["once"] + n_steps * batch_size * row["train_per_image"]
    return rows


# --------------------------------------------------------------------------- the report

@dataclass
class Decision:
    """What :func:`decision_report` measured, and what it recommends."""

    results: dict[str, list[RunResult]]
    comparisons: list[Comparison]
    recommendation: str
    reason: str
    logme: dict[str, dict[str, float]]
    costs: dict[str, dict[str, float]]
    seconds: dict[str, float]
    budget: Budget
    settings: dict[str, Any]
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def undecided(self) -> bool:
        """True when every interval includes 0 (the data cannot tell the options apart)."""
        return all(c.verdict.startswith("no detectable") for c in self.comparisons)

    def mean(self, option: str) -> float:
        return float(np.mean([r.score for r in self.results[option]]))

    def __str__(self) -> str:
        lines = [f"{name:>17}: test accuracy {self.mean(name):.3f} (mean of {len(rs)} splits), "
                 f"{self.seconds[name]:.1f} s per split" for name, rs in self.results.items()]
        return "\n".join(lines + [str(c) for c in self.comparisons] + [self.reason])

    def edge_choices(self) -> dict[str, int]:
        """For each fine-tuning option, in how many splits the chosen rate was the grid's largest or
        smallest (often: widen the grid that way)."""
        edges = (min(self.budget.lr_grid), max(self.budget.lr_grid))
        return {name: sum(r.extra.get("lr") in edges for r in rs) for name, rs in self.results.items()
                if name != OPTIONS[0]}

    def summary(self) -> str:
        """A short paragraph of markdown, every figure in it taken from the measurements."""
        s = self.settings
        means = "; ".join(f"{name} **{self.mean(name):.3f}**" for name in self.results)
        cost = "; ".join(f"{name} {self.seconds[name]:.1f} s and {_gflops(self.costs[name]['total'])} GFLOPs"
                         for name in self.results)
        verdicts = "; ".join(f"{c.name_a} − {c.name_b} {c.mean_difference:+.3f} "
                             f"[{c.interval[0]:+.3f}, {c.interval[1]:+.3f}]: {c.verdict}" for c in self.comparisons)
        return (f"On **{s['folder']}** at {s['image_size']} px, mean test accuracy over {s['seeds']} paired "
                f"splits: {means}. Differences with 95 % intervals, Holm-adjusted: {verdicts}. "
                f"{self.reason} Cost per split here: {cost}.")

    def to_dict(self) -> dict[str, Any]:
        return {"recommendation": self.recommendation, "reason": self.reason, "undecided": self.undecided,
                "accuracy": {n: [r.score for r in rs] for n, rs in self.results.items()},
                "chosen": {n: [r.extra for r in rs] for n, rs in self.results.items()},
                "steps": {n: [r.steps for r in rs] for n, rs in self.results.items()},
                "comparisons": [c.to_dict() for c in self.comparisons], "logme": self.logme,
                "costs": self.costs, "seconds_per_split": self.seconds,
                "budget": {"steps": self.budget.steps, "cap": self.budget.cap,
                           "lr_grid": list(self.budget.lr_grid), "c_grid": list(self.budget.c_grid)},
                "settings": self.settings}


def _plot(decision: Decision, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    for i, (name, rs) in enumerate(decision.results.items()):
        scores = [r.score for r in rs]
        left.scatter([i] * len(scores), scores, color="0.6", zorder=2)
        left.plot([i - 0.25, i + 0.25], [np.mean(scores)] * 2, color="C0", lw=3, zorder=3)
    left.set_xticks(range(len(decision.results)), list(decision.results), fontsize=8)
    left.set_ylabel("test accuracy (each dot: one split)")
    left.set_title("The options")
    for i, c in enumerate(decision.comparisons):
        low, high = c.interval
        colour = "0.5" if c.verdict.startswith("no detectable") else "C3"
        right.errorbar(c.mean_difference, i, xerr=[[c.mean_difference - low], [high - c.mean_difference]],
                       fmt="o", color=colour, capsize=4)
    right.axvline(0, color="k", lw=0.8)
    right.set_yticks(range(len(decision.comparisons)), [f"{c.name_a} − {c.name_b}" for c in decision.comparisons],
                     fontsize=8)
    right.set_xlabel("difference in test accuracy (95 % interval)")
    right.set_title("Paired differences (red: detectable after Holm)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _gflops(x: float) -> str:
    return f"{x / 1e9:,.3g}"


def render_markdown(decision: Decision) -> str:
    """The report's markdown: recommendation, verdicts, options, costs, LogME, budget, settings."""
    s, b = decision.settings, decision.budget
    lines = [f"# Decision report: {s['folder']}", "",
             f"**Recommendation: {decision.recommendation}.** {decision.reason}", "",
             f"![the options and their paired differences]({REPORT}.png)", "",
             "## Verdicts (paired over splits, 95 % intervals, Holm across the comparisons)", ""]
    lines += [f"- {c}" for c in decision.comparisons]
    lines += ["", "## The options", "",
              "| option | test accuracy (mean) | per split | rate chosen | optimizer steps per split | seconds per split |",
              "|---|---|---|---|---|---|"]
    for name, rs in decision.results.items():
        chosen = ", ".join(f"C={r.extra['C']:g}" if "C" in r.extra else f"{r.extra['lr']:g}" for r in rs)
        lines.append(f"| {name} | {decision.mean(name):.3f} | {', '.join(f'{r.score:.3f}' for r in rs)} | "
                     f"{chosen} | {np.mean([r.steps for r in rs]):.0f} | {decision.seconds[name]:.1f} |")
    lines += ["", "## What each option costs", "",
              f"Operations (GFLOPs) at {s['image_size']} px, counted with `torch.utils.flop_counter` "
              f"(forward); backward taken as {BACKWARD_FACTOR:g} × forward. On a GPU the time follows these "
              "counts far more than the CPU seconds above do.", "",
              "| option | forward per image | forward + backward per trained image | total per split |",
              "|---|---|---|---|"]
    for name, row in decision.costs.items():
        lines.append(f"| {name} | {_gflops(row['forward_per_image'])} | {_gflops(row['train_per_image'])} | "
                     f"{_gflops(row['total'])} |")
    lines += ["", "## Candidate feature layers (LogME, higher is better)", "",
              "| layer | features | LogME | frozen-head test accuracy (mean) |", "|---|---|---|---|"]
    for name, row in decision.logme.items():
        lines.append(f"| {name} | {row['dim']} | {row['logme']:.3f} | {row['accuracy']:.3f} |")
    lines += ["", "LogME ranks layers without training; the last column is the measured check "
              "(the frozen-head protocol above, on each layer's features).", "",
              "## Budget and protocol", "",
              f"- Budget per option and split: {b.describe()}; the frozen head's strength C picked from "
              f"{b.c_grid} (logistic regression solved to convergence). Steps are counted by the training "
              "loop, not reported by the options.",
              f"- Photos: the kept split's training and validation photos ({s['photos']}; the test photos are "
              f"not used), at {s['image_size']} px; each of {s['seeds']} splits gives every option the same "
              f"training, validation and test photos ({s['per_split']}).",
              f"- The new head learns at the grid's rate in both fine-tuning options, the pretrained layers at "
              f"{s['body_factor']:g} × that rate; BatchNorm layers keep their pretrained statistics; batch size "
              f"{s['batch_size']}; early stopping after "
              f"{s['patience']} validation checks without improvement.",
              "- " + s["budget_report"].replace("\n", "\n- "),
              "- Chosen rate at an edge of the grid (widen the grid that way if often): " + ", ".join(
                  f"{name} in {n} of {s['seeds']} splits" for name, n in decision.edge_choices().items()) + ".",
              f"- Time of the whole report: {s['wall_seconds']:.0f} s wall clock, {s['cpu_seconds']:.0f} s of CPU "
              f"time, on {s['threads']} CPU thread(s) (on a shared machine the wall clock includes waiting).",
              "", "A small folder decides little: with few photos per split the intervals are wide. The "
              "verdict is for this folder, this image size and this budget."]
    return "\n".join(lines) + "\n"


def _features(front: nn.Module, tail: nn.Module, images: torch.Tensor, preprocess, middle: nn.Module,
              batch_size: int = 64) -> dict[str, torch.Tensor]:
    """Front activations, pooled candidate layers and final features of ``images`` (no gradients)."""
    from .evaluation import evaluating

    caught: list[torch.Tensor] = []
    hook = middle.register_forward_hook(lambda m, i, o: caught.append(o.mean((2, 3))))
    acts, finals = [], []
    try:
        with evaluating(front), evaluating(tail), torch.no_grad():
            for start in range(0, len(images), batch_size):
                a = front(preprocess.normalise(images[start:start + batch_size]))
                acts.append(a)
                finals.append(tail(a))
    finally:
        hook.remove()
    acts_t = torch.cat(acts)
    return {"front": acts_t, "final": torch.cat(finals), "before_tail": acts_t.mean((2, 3)),
            "middle": torch.cat(caught)}


def decision_report(split, model_dir: str | Path, *, backbone: str = "efficientnet_lite0", image_size: int = 64,
                    seeds: Sequence[int] = (0, 1, 2), steps: int = 20, lr_grid: Sequence[float] = LR_GRID,
                    n_last: int = 1, body_factor: float = 0.1, batch_size: int = 8, patience: int = 3,
                    max_per_class: int | None = 60, threads: int | None = 1,
                    say: Callable[[str], None] = print, progress: bool = False) -> Decision:
    """Frozen head vs last ``n_last`` block(s) vs full fine-tuning on ``split``'s photos; writes the report.

    ``split`` is a kept :class:`course_lib.splits.FolderSplit` (or a folder, split with the defaults).
    The protocol is the module's docstring; ``steps`` and ``lr_grid`` make the
    :class:`~course_lib.compare.Budget` every option gets (``COURSE_BUDGET_SCALE`` multiplies the
    cap). ``threads``: CPU threads (default 1: these small networks gain little from a second
    thread, and on a shared machine two threads can be ten times slower; ``None``: torch's
    setting). ``say`` receives one line per stage. Returns the :class:`Decision`; the files are in
    ``model_dir`` (``Decision.files``).
    """
    with cpu_threads(threads):
        return _decision_report(split, model_dir, backbone=backbone, image_size=image_size, seeds=seeds,
                                steps=steps, lr_grid=lr_grid, n_last=n_last, body_factor=body_factor,
                                batch_size=batch_size, patience=patience, max_per_class=max_per_class,
                                say=say, progress=progress)


def _decision_report(split, model_dir, *, backbone, image_size, seeds, steps, lr_grid, n_last, body_factor,
                     batch_size, patience, max_per_class, say, progress) -> Decision:
    from . import splits as splits_mod
    from .compare import budget_report
    from .models import freeze, image_preprocess, load_backbone, remove_head
    from .photos import load_photos
    from .recipe import split_last_blocks
    from .transferability import logme

    start, cpu_start = time.perf_counter(), time.process_time()
    if not hasattr(split, "parts"):
        split = splits_mod.split_folder(split)
    model_dir = Path(model_dir).expanduser()
    model_dir.mkdir(parents=True, exist_ok=True)
    seeds = [int(s) for s in seeds]
    budget = Budget(steps=int(steps), lr_grid=tuple(lr_grid))

    preprocess = image_preprocess(backbone, image_size)
    entries = list(split.parts["train"]) + list(split.parts["val"])
    index = {c: i for i, c in enumerate(split.classes)}
    keep = at_most_per_class([index[c] for _, c in entries], max_per_class)
    photos = load_photos(split.root, [entries[i] for i in keep], split.classes, preprocess, progress=progress,
                         desc="reading photos")
    images = (photos.images * 255).round().to(torch.uint8)        # 4 × smaller than floats
    y = photos.labels
    del photos
    k = len(split.classes)
    counts = torch.bincount(y, minlength=k)
    if int(counts.min()) < 4:
        raise ValueError(f"A decision report needs at least 4 training + validation photos of every class "
                         f"(each split holds some for training, validation and test); "
                         f"{split.classes[int(counts.argmin())]!r} has {int(counts.min())}.")
    trials = decision_trials(y.numpy(), seeds)
    t0 = trials[seeds[0]]
    say(f"decision report: {len(y)} photos ({k} classes) at {image_size} px, {len(seeds)} splits of "
        f"{len(t0['train'])} / {len(t0['val'])} / {len(t0['test'])} (train / validation / test)")

    extractor = freeze(remove_head(load_backbone(backbone).model))
    front, tail = split_last_blocks(extractor, n_last)
    middle = front.blocks[len(extractor._blocks) // 2]
    feature_start = time.perf_counter()
    feats = _features(front, tail, images, preprocess, middle)
    feature_seconds = (time.perf_counter() - feature_start) / len(images)   # per photo
    n_features = feats["final"].shape[1]

    seconds: dict[str, list[float]] = {name: [] for name in OPTIONS}
    arms = {
        OPTIONS[0]: timed(one_thread(convex_arm(feats["final"], y, trials)), seconds[OPTIONS[0]]),
        OPTIONS[1]: timed(gradient_arm(lambda: with_head(tail, n_features, k), feats["front"], y, trials,
                                       body_factor=body_factor, batch_size=batch_size, patience=patience,
                                       label=OPTIONS[1]), seconds[OPTIONS[1]]),
        OPTIONS[2]: timed(gradient_arm(lambda: with_head(Normalised(extractor, preprocess), n_features, k),
                                       images, y, trials, body_factor=body_factor, batch_size=batch_size,
                                       patience=patience, label=OPTIONS[2]), seconds[OPTIONS[2]]),
    }
    say(f"  budget per option and split: {budget.describe()}")
    results = run_paired(arms, seeds, budget, progress=progress)
    comparisons = holm([compare_results(results, OPTIONS[1], OPTIONS[0]),
                        compare_results(results, OPTIONS[2], OPTIONS[0]),
                        compare_results(results, OPTIONS[2], OPTIONS[1])])
    choice, reason = recommend(comparisons)
    reason += budget_caveat(results)

    blocks = len(extractor._blocks)
    candidates = {f"final features (after block {blocks})": feats["final"],
                  f"input of the last {'block' if n_last == 1 else f'{n_last} blocks'} (pooled)":
                      feats["before_tail"],
                  f"output of block {blocks // 2 + 1} of {blocks} (pooled)": feats["middle"]}
    logme_rows = {}
    for i, (name, F) in enumerate(candidates.items()):
        probe = one_thread(convex_arm(F, y, trials))           # the frozen head's protocol, on this layer
        scores = ([r.score for r in results[OPTIONS[0]]] if i == 0      # the final features: measured above
                  else [probe(s, budget).score for s in seeds])
        accuracy = float(np.mean(scores))
        logme_rows[name] = {"dim": int(F.shape[1]), "logme": float(logme(F.numpy(), y.numpy())),
                            "accuracy": accuracy}

    probe_x = images[:2]
    with torch.no_grad():
        flops_total = forward_flops(Normalised(extractor, preprocess), probe_x)
        flops_tail = forward_flops(tail, feats["front"][:2])
    steps_per_split = [float(np.mean([r.steps for r in results[name]])) for name in OPTIONS]
    costs = option_costs(flops_total - flops_tail, flops_tail, len(t0["train"]) + len(t0["val"]),
                         steps_per_split, batch_size)
    per_split = {name: float(np.mean(v)) for name, v in seconds.items()}
    per_split[OPTIONS[0]] += feature_seconds * len(y)          # its features: one forward pass per photo
    per_split[OPTIONS[1]] += feature_seconds * len(y)          # the frozen front, once per photo
    wall = time.perf_counter() - start
    n_split = {p: len(t0[p]) for p in ("train", "val", "test")}
    settings = {"folder": Path(split.root).name, "backbone": backbone, "image_size": image_size,
                "seeds": len(seeds), "photos": f"{len(y)} photos, {', '.join(f'{c}: {int(n)}' for c, n in zip(split.classes, counts))}",
                "per_split": f"{n_split['train']} / {n_split['val']} / {n_split['test']}",
                "n_last": n_last, "body_factor": body_factor, "batch_size": batch_size, "patience": patience,
                "max_per_class": max_per_class, "budget_report": budget_report(results),
                "wall_seconds": wall, "cpu_seconds": time.process_time() - cpu_start,
                "threads": torch.get_num_threads()}
    decision = Decision(results=results, comparisons=comparisons, recommendation=choice, reason=reason,
                        logme=logme_rows, costs=costs, seconds=per_split, budget=budget, settings=settings)
    decision.files = {"png": _plot(decision, model_dir / f"{REPORT}.png"),
                      "md": model_dir / f"{REPORT}.md", "json": model_dir / f"{REPORT}.json"}
    decision.files["md"].write_text(render_markdown(decision), encoding="utf-8")
    decision.files["json"].write_text(json.dumps(decision.to_dict(), indent=1, default=float), encoding="utf-8")
    return decision
