"""Speed benchmarks behind two of the course's claims (a report, not a timed test).

1. Training a new head on **cached features** against the naive loop that pushes every image
   through the frozen backbone every epoch.
2. The same fine-tuning task done **the article's way** (SGD lr=0.001, every layer trained,
   never switching to eval mode, no validation) against **the course's way** (normalised
   inputs, frozen backbone with cached features, validation split, early stopping, best epoch
   kept, eval mode for predictions).

Usage: ``.venv/bin/python benchmarks/speed.py [--epochs 20] [--article-epochs 100]``.
Writes ``benchmarks/speed.md`` and prints it. Task: faces vs non-faces (200 real photos),
EfficientNet-Lite0 (ImageNet weights), 64×64 inputs, a stratified 50/50 split.
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
IMAGE_SIZE = 64


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


def article_vs_course(article_epochs: int) -> dict[str, dict[str, float]]:
    """Accuracy and seconds: the article's loop against the course's recipe, same data."""
    faces, train_idx, test_idx = _setup()
    # The article's way: every parameter trained with plain SGD(lr=0.001), inputs in [0, 1]
    # (no normalisation matching pretraining), no validation, never switched to eval mode.
    seed_everything(0)
    model = models.load_backbone("efficientnet_lite0", image_size=IMAGE_SIZE).model
    models.replace_head(model, 2)
    raw = models.ImagePreprocess(IMAGE_SIZE, (0, 0, 0), (1, 1, 1))
    seconds = finetune.article_loop(model, faces.with_transform(raw).subset(train_idx), epochs=article_epochs)
    accuracy = finetune.accuracy_as_left(model, faces.with_transform(raw).subset(test_idx))
    results = {"article": {"seconds": seconds, "epochs": article_epochs, "accuracy": accuracy["train_mode"],
                           "accuracy_if_eval": accuracy["eval_mode"]}}

    # The course's way: matching preprocessing, frozen backbone, cached features, a validation
    # split carved from the training half, early stopping, best epoch kept, eval mode.
    seed_everything(0)
    start = time.perf_counter()
    backbone = models.load_backbone("efficientnet_lite0", image_size=IMAGE_SIZE)
    images = faces.with_transform(backbone.preprocess)
    fit_idx, val_idx = data.stratified_split(faces.labels[train_idx], test_size=0.25, seed=0)
    course = finetune.head_on_cached_features(models.remove_head(backbone.model), images.subset(train_idx[fit_idx]),
                                              images.subset(test_idx), 2, val_set=images.subset(train_idx[val_idx]))
    course["seconds"] = time.perf_counter() - start
    results["course"] = {**course, "accuracy_if_eval": course["accuracy"]}
    return results


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20, help="epochs for the cached-vs-naive timing")
    parser.add_argument("--article-epochs", type=int, default=100, help="epochs of the article's loop")
    args = parser.parse_args(argv)

    speed = cached_vs_naive(args.epochs)
    versus = article_vs_course(args.article_epochs)
    art, course = versus["article"], versus["course"]
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
        "## The article's loop vs the course's recipe (same data and split)",
        "",
        "| way | epochs run | seconds | test accuracy | (with `model.eval()`) |",
        "|---|---:|---:|---:|---:|",
        f"| article: SGD lr=0.001, all layers, no eval mode, no validation | {art['epochs']} | "
        f"{art['seconds']:.1f} | {art['accuracy']:.3f} | {art['accuracy_if_eval']:.3f} |",
        f"| course: frozen backbone, cached features, validation + early stopping | {course['epochs']} | "
        f"{course['seconds']:.1f} | {course['accuracy']:.3f} | {course['accuracy_if_eval']:.3f} |",
        "",
    ]
    report = "\n".join(lines)
    (HERE / "speed.md").write_text(report)
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
