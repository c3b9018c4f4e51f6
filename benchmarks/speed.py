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
import time
from datetime import datetime, timezone
from pathlib import Path

import torch
from torch import nn

from course_lib import data, models, training
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
    model = backbone.model
    models.replace_head(model, 2)
    models.freeze_all_but_last(model, 1)
    train = faces.with_transform(backbone.preprocess).subset(train_idx)
    loader = data.make_loader(train, 32, shuffle=True)

    start = time.perf_counter()  # naive: the frozen backbone runs on every image, every epoch
    training.fit(model, loader, epochs=epochs, lr=1e-3, progress=False)
    naive = time.perf_counter() - start

    features_model = models.remove_head(model)
    start = time.perf_counter()
    feats, labels = training.extract_features(features_model, train)
    extraction = time.perf_counter() - start
    start = time.perf_counter()
    training.fit_linear_head(feats, labels, 2, epochs=epochs, lr=1e-3, batch_size=32)
    cached = time.perf_counter() - start
    return {"epochs": epochs, "naive_s": naive, "extract_s": extraction, "cached_s": cached,
            "training_ratio": naive / cached, "end_to_end_ratio": naive / (extraction + cached)}


def article_vs_course(article_epochs: int) -> dict[str, dict[str, float]]:
    """Accuracy and seconds: the article's loop against the course's recipe, same data."""
    faces, train_idx, test_idx = _setup()
    results = {}

    # The article's way: every parameter trained with plain SGD(lr=0.001), no normalisation
    # matching pretraining, no validation, and the model never put in eval mode.
    seed_everything(0)
    backbone = models.load_backbone("efficientnet_lite0", image_size=IMAGE_SIZE)
    model = backbone.model
    models.replace_head(model, 2)
    raw = models.ImagePreprocess(IMAGE_SIZE, (0, 0, 0), (1, 1, 1))  # [0, 1] pixels, as in the article
    train_loader = data.make_loader(faces.with_transform(raw).subset(train_idx), 32, shuffle=True)
    test_set = faces.with_transform(raw).subset(test_idx)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.001)
    start = time.perf_counter()
    for _ in range(article_epochs):
        for inputs, labels in train_loader:
            optimizer.zero_grad()
            loss = criterion(model(inputs), labels)
            loss.backward()
            optimizer.step()
    seconds = time.perf_counter() - start
    x, y = next(iter(data.make_loader(test_set, len(test_set))))
    with torch.no_grad():
        acc_train_mode = float((model(x).argmax(1) == y).float().mean())  # as the article leaves it
        model.eval()
        acc_eval_mode = float((model(x).argmax(1) == y).float().mean())
    results["article"] = {"seconds": seconds, "epochs": article_epochs,
                          "accuracy": acc_train_mode, "accuracy_if_eval": acc_eval_mode}

    # The course's way: matching preprocessing, frozen backbone, cached features, a validation
    # split carved from the training half, early stopping, best epoch kept, eval mode.
    seed_everything(0)
    start = time.perf_counter()
    backbone = models.load_backbone("efficientnet_lite0", image_size=IMAGE_SIZE)
    features_model = models.remove_head(backbone.model)
    feats, labels = training.extract_features(features_model, faces.with_transform(backbone.preprocess))
    fit_idx, val_idx = data.stratified_split(labels[train_idx], test_size=0.25, seed=0)
    fit_idx, val_idx = train_idx[fit_idx], train_idx[val_idx]
    head, history = training.fit_linear_head(feats[fit_idx], labels[fit_idx], 2,
                                             val=(feats[val_idx], labels[val_idx]),
                                             epochs=200, lr=1e-2, patience=20)
    seconds = time.perf_counter() - start
    with torch.no_grad():
        accuracy = float((head(feats[test_idx]).argmax(1) == labels[test_idx]).float().mean())
    results["course"] = {"seconds": seconds, "epochs": history.epochs, "accuracy": accuracy,
                         "accuracy_if_eval": accuracy}
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
    print(report)
    return report


if __name__ == "__main__":
    main()
