"""Speed benchmarks behind two of the course's claims (a report, not a timed test).

1. Training a new head on **cached features** against the naive loop that pushes every image
   through the frozen backbone every epoch.
2. The article's loop (SGD lr=0.001 on every layer, inputs in [0, 1], 100 epochs, never
   switched to eval mode, no validation) against the course's recipe, exactly as notebook 06
   §5 runs it: :func:`course_lib.finetune.article_ablation` on the same paired seeds and
   splits, one fix at a time, each step a paired comparison with its 95 % interval.

Usage: ``.venv/bin/python benchmarks/speed.py [--epochs 20] [--article-epochs 100] [--no-readme]``.
Writes ``benchmarks/speed.md`` and prints it. Task: faces vs non-faces (200 real photos),
EfficientNet-Lite0 (ImageNet weights), 32×32 inputs (the photos are 25×25) as in notebook 06.
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
from course_lib.repro import seed_everything

HERE = Path(__file__).resolve().parent
IMAGE_SIZE = 32  # as notebook 06
SEEDS = range(5)


def _setup(seed: int = 0):
    seed_everything(seed)
    faces = data.load_faces()
    train_idx, test_idx = data.stratified_split(faces.labels, test_size=0.5, seed=seed)
    return faces, train_idx, test_idx


def cached_vs_naive(epochs: int) -> dict[str, float]:
    """Seconds to train the same linear head for ``epochs`` epochs, both ways."""
    faces, train_idx, _ = _setup()
    backbone = models.load_backbone("efficientnet_lite0", image_size=IMAGE_SIZE)
    return finetune.cached_vs_naive(backbone, faces.subset(train_idx), num_classes=2, epochs=epochs)


def article_vs_course(article_epochs: int) -> dict:
    """Notebook 06's fair version: the article's loop, then one fix at a time, paired over seeds."""
    from course_lib.compare import few_shot_trials

    faces = data.load_faces()
    backbone = models.load_backbone("efficientnet_lite0", image_size=IMAGE_SIZE)
    trials = {t["seed"]: t for t in few_shot_trials(faces.labels, ks=[16], seeds=SEEDS, val_per_class=12)}
    ablation = finetune.article_ablation(backbone, faces, trials, epochs=article_epochs)
    return {"ablation": ablation, "comparisons": finetune.ablation_comparisons(ablation["scores"]),
            "n_train": len(trials[0]["train"]), "n_val": len(trials[0]["val"])}


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20, help="epochs for the cached-vs-naive timing")
    parser.add_argument("--article-epochs", type=int, default=100, help="epochs of the article's loop")
    parser.add_argument("--no-readme", action="store_true", help="do not update README.md")
    args = parser.parse_args(argv)

    speed = cached_vs_naive(args.epochs)
    versus = article_vs_course(args.article_epochs)
    ablation = versus["ablation"]
    lines = [
        "# Speed benchmarks",
        "",
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"{torch.get_num_threads()} torch threads, torch {torch.__version__}. "
        f"Task: faces vs non-faces (100 training photos), EfficientNet-Lite0 at {IMAGE_SIZE}×{IMAGE_SIZE}.",
        "",
        f"## Cached features vs the naive loop ({speed['epochs']} epochs, same linear head)",
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
        f"## The article's loop vs the course's recipe ({args.article_epochs} epochs, same data, "
        f"{len(SEEDS)} paired seeds)",
        "",
        f"{versus['n_train']} training photos per seed ({versus['n_val']} more for the recipe's validation "
        "split), 100 test photos; as notebook 06 §5. Each fix is added to the step above it.",
        "",
        "| step | mean test accuracy | seconds per run |",
        "|---|---:|---:|",
        *[f"| {name} | {sum(accs) / len(accs):.3f} | "
          f"{sum(ablation['seconds']) / len(ablation['seconds']):.1f} |" if i == 0 else
          f"| {name} | {sum(accs) / len(accs):.3f} | |"
          for i, (name, accs) in enumerate(ablation["scores"].items())],
        "",
        *[f"- {c}" for c in versus["comparisons"]],
        "",
    ]
    report = "\n".join(lines)
    (HERE / "speed.md").write_text(report)
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
