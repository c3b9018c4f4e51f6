"""Speed benchmarks behind two of the course's claims (a report, not a timed test).

1. Training a new head on **cached features** against the naive loop that pushes every image
   through the frozen backbone every epoch.
2. The article's loop (SGD lr=0.001 on every layer, inputs in [0, 1], 100 epochs, never
   switched to eval mode, no validation) against the course's recipe (a logistic-regression head
   on the frozen backbone's features, solved to convergence, its strength picked on validation)
   on the faces with EfficientNet-Lite0, as notebook 06 §6 runs it
   (:func:`course_lib.finetune.article_vs_recipe_arms`), with more labelled photos per seed:
   5 paired seeds; the recipe against the article's model scored as left (train mode) and in
   eval mode, Holm-adjusted, with their 95 % intervals, and the seconds per arm.

Usage: ``.venv/bin/python benchmarks/speed.py [--epochs 20] [--article-epochs 100]
[--per-class 16] [--threads 1] [--output benchmarks/speed.md] [--no-readme]``. Writes the report and prints it.
Task: faces vs non-faces (200 real photos), EfficientNet-Lite0 (ImageNet weights), 32×32 inputs
(the photos are 25×25) as in notebook 06.
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from course_lib import data, finetune, models
from course_lib.compare import Budget, compare_results, holm, run_paired, trials_by_seed
from course_lib.repro import seed_everything

HERE = Path(__file__).resolve().parent
IMAGE_SIZE = 32  # as notebook 06
SEEDS = range(5)
BATCH = 32
GRID = (1e-3, 3e-3, 1e-2)   # run_paired's grid; the recipe is convex (its C grid), the article fixed


def cached_vs_naive(epochs: int) -> dict[str, float]:
    """Seconds to train the same linear head for ``epochs`` epochs, both ways."""
    seed_everything(0)
    faces = data.load_faces()
    train_idx, _ = data.stratified_split(faces.labels, test_size=0.5, seed=0)
    backbone = models.load_backbone("efficientnet_lite0", image_size=IMAGE_SIZE)
    return finetune.cached_vs_naive(backbone, faces.subset(train_idx), num_classes=2, epochs=epochs)


def article_vs_course(article_epochs: int, per_class: int) -> dict:
    """The article's loop against the recipe on the same labelled photos, paired over seeds.

    Each seed's pool holds ``per_class`` photos per class: the article trains on all of them,
    the recipe on three quarters, keeping the rest to pick its strength C.
    """
    faces = data.load_faces()
    backbone = models.load_backbone("efficientnet_lite0", image_size=IMAGE_SIZE)
    n_val = max(1, per_class // 4)
    trials = trials_by_seed(faces.labels, per_class - n_val, SEEDS, val_per_class=n_val)
    seconds: dict[str, float] = {}

    def timed(name, arm):
        def run(seed, budget):
            start = time.perf_counter()
            result = arm(seed, budget)
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start
            return result
        return run

    arms = finetune.article_vs_recipe_arms(backbone, faces, trials, epochs=article_epochs, batch_size=BATCH,
                                           fine_tune=False)
    steps = article_epochs * -(-2 * per_class // BATCH)        # the article's loop: a fixed setting
    budget = Budget(steps=-(-steps // len(GRID)), lr_grid=GRID, scale=1)
    runs = run_paired({name: timed(name, arm) for name, arm in arms.items()}, SEEDS, budget)
    as_left, _, eval_mode, *_, recipe = finetune.ARTICLE_ARMS
    return {"scores": {name: [r.score for r in runs[name]] for name in (as_left, eval_mode, recipe)},
            "seconds": {as_left: seconds[as_left] / len(SEEDS), recipe: seconds[recipe] / len(SEEDS)},
            "comparisons": holm([compare_results(runs, recipe, as_left), compare_results(runs, recipe, eval_mode)]),
            "pool": 2 * per_class, "n_val": 2 * n_val}


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20, help="epochs for the cached-vs-naive timing")
    parser.add_argument("--article-epochs", type=int, default=100, help="epochs of the article's loop")
    parser.add_argument("--per-class", type=int, default=16, help="labelled photos per class and seed")
    parser.add_argument("--output", type=Path, default=HERE / "speed.md", help="where to write the report")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1, as notebook 06)")
    parser.add_argument("--no-readme", action="store_true", help="do not update README.md")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    speed = cached_vs_naive(args.epochs)
    versus = article_vs_course(args.article_epochs, args.per_class)
    lines = [
        "# Speed benchmarks",
        "",
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"{torch.get_num_threads()} torch threads, torch {torch.__version__}. "
        f"Task: faces vs non-faces, EfficientNet-Lite0 at {IMAGE_SIZE}×{IMAGE_SIZE}.",
        "",
        f"## Cached features vs the naive loop ({speed['epochs']} epochs, same linear head, "
        "100 training photos)",
        "",
        "| way | seconds |",
        "|---|---:|",
        f"| naive: images through the frozen backbone every epoch | {speed['naive_s']:.2f} |",
        f"| cached: training the head on cached features | {speed['cached_s']:.3f} |",
        f"| (one-off feature extraction for the cache) | {speed['extract_s']:.2f} |",
        "",
        f"Training is **{speed['training_ratio']:.0f}× faster** on cached features; "
        f"{speed['end_to_end_ratio']:.1f}× faster end to end, counting the one-off extraction.",
        "",
        f"## The article's loop vs the course's recipe ({args.article_epochs} epochs, same photos, "
        f"{len(SEEDS)} paired seeds)",
        "",
        f"{versus['pool']} labelled photos per seed (the recipe keeps {versus['n_val']} of them to pick "
        "its strength C), 100 test photos. Article: SGD lr 0.001 on every layer, inputs in [0, 1]; one "
        "model per seed, scored as left (train mode) and in eval mode. Recipe: frozen backbone, normalised "
        "inputs, a logistic-regression head solved to convergence, C picked on validation.",
        "",
        "| arm | mean test accuracy | seconds per run |",
        "|---|---:|---:|",
        *[f"| {name} | {sum(accs) / len(accs):.3f} | "
          f"{versus['seconds'][name]:.1f} |" if name in versus["seconds"] else
          f"| {name} | {sum(accs) / len(accs):.3f} | (the same run) |"
          for name, accs in versus["scores"].items()],
        "",
        *[f"- {c}" for c in versus["comparisons"]],
        "",
    ]
    report = "\n".join(lines)
    args.output.write_text(report)
    if not args.no_readme:
        publish(report)
    print(report)
    return report


def publish(report: str) -> None:
    """Show the report in the README, between the SPEED markers (headings demoted one level)."""
    sys.path.insert(0, str(HERE))
    from run_notebooks import update_readme

    body = "\n".join(line for line in report.splitlines() if not line.startswith("# "))
    update_readme(body.replace("\n## ", "\n#### ").strip(), start="<!-- SPEED:START -->", end="<!-- SPEED:END -->")


if __name__ == "__main__":
    main()
