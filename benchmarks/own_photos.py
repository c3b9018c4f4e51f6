"""Benchmark notebook 10's recipe: 200 photos at 224 px → split, features, trained head, exported model.

    PYTHONPATH=. .venv/bin/python benchmarks/own_photos.py [--size 224] [--finetune-epochs 1]

Prints a Markdown table of wall-clock seconds for each stage on this machine (the offline demo
folder: 200 JPEG photos), then:

- the cost of fine-tuning the *whole* network on the same training photos for the same number of
  epochs the head trained for (one epoch is measured, ``--finetune-epochs``, and multiplied out;
  the table says so), and its ratio to features + head;
- the peak memory of reading 200 twelve-megapixel JPEGs at 224 px in a fresh process (draft
  decoding keeps each at about 0.6 MB instead of 36 MB).

A benchmark reports; it is never a timed test (timings vary by machine and load).
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "data_scripts"))

MEMORY_CHILD = r"""
import sys
from pathlib import Path
from course_lib import photos, splits

def peak_mb():  # VmHWM: this process's peak resident memory (ru_maxrss survives exec; this does not)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

root, size = Path(sys.argv[1]), int(sys.argv[2])
before = peak_mb()
split = splits.split_folder(root, split_file=root.parent / "split.json", val=0.2, test=0.2)
sets = splits.load_split(split, photos.Preprocess.for_backbone("efficientnet_lite0", size), progress=False)
print(sum(len(s) for s in sets.values()), before, peak_mb())
"""


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def recipe_timings(folder: Path, work: Path, size: int, steps: int) -> dict:
    import torch
    from torch import nn

    from course_lib import export, models, photos, recipe, splits

    t = {}
    split, t["split (scan + stratified split, kept in JSON)"] = _timed(
        lambda: splits.split_folder(folder, split_file=work / "split.json"))
    pre = photos.Preprocess.for_backbone("efficientnet_lite0", size)
    sets, t["read 200 photos (EXIF, draft decoding, crop)"] = _timed(
        lambda: splits.load_split(split, pre, progress=False))
    extractor = models.remove_head(models.load_backbone("efficientnet_lite0").model)
    feats, t["features (one pass through the frozen network)"] = _timed(
        lambda: {p: recipe.photo_features(extractor, s, progress=False) for p, s in sets.items()})
    (head, info), t[f"train the head ({steps} steps)"] = _timed(
        lambda: recipe.train_steps(nn.Linear(1280, len(split.classes)), *feats["train"], feats["val"],
                                   steps=steps, lr=1e-2, seed=0))
    _, t["export (safetensors + JSON)"] = _timed(
        lambda: export.export_classifier(work / "model", backbone="efficientnet_lite0", head=head,
                                         classes=split.classes, preprocess=pre))
    with torch.no_grad():
        test_acc = float((head(feats["test"][0]).argmax(1) == feats["test"][1]).float().mean())
    epochs = steps * 32 / len(sets["train"])
    return {"times": t, "sets": sets, "epochs": epochs, "test_acc": test_acc, "val_acc": info["val_acc"]}


def full_finetune_epoch_seconds(train_set, epochs_measured: int) -> float:
    """Seconds per epoch of fine-tuning every layer (Adam, batch 32, train mode) at the set's size."""
    import torch

    from course_lib import models
    from course_lib.data import make_loader
    from course_lib.devices import pick_device

    device = pick_device()
    model = models.load_backbone("efficientnet_lite0", num_classes=train_set.num_classes).model.to(device)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    loader = make_loader(train_set, batch_size=32, shuffle=True, seed=0)
    start = time.perf_counter()
    for _ in range(epochs_measured):
        for x, y in loader:
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x.to(device)), y.to(device))
            loss.backward()
            optimizer.step()
    return (time.perf_counter() - start) / epochs_measured


def memory_of_large_photos(work: Path, size: int, n: int = 200) -> tuple[int, float, float]:
    """Peak RSS (MB) of a fresh process reading ``n`` 12-megapixel JPEGs at ``size`` px."""
    import numpy as np
    from PIL import Image

    root = work / "large" / "photos"
    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        (root / c).mkdir(parents=True)
        base = root / c / "base.jpg"
        noise = rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)
        Image.fromarray(noise).resize((4000, 3000), Image.Resampling.BILINEAR).save(base, quality=85)
        for i in range(n // 2 - 1):
            os.link(base, root / c / f"copy_{i:03d}.jpg")      # 100 files per class, one on disk
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(root), str(size)], env=env,
                         capture_output=True, text=True, check=True).stdout.split()
    return int(out[0]), float(out[1]), float(out[2])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--steps", type=int, default=300, help="head training steps (as notebook 10)")
    parser.add_argument("--finetune-epochs", type=int, default=1, help="epochs of full fine-tuning to measure")
    parser.add_argument("--memory-only", action="store_true", help="only the 12-megapixel memory test")
    args = parser.parse_args(argv)
    import torch

    if args.memory_only:
        work = Path(tempfile.mkdtemp(prefix="own_photos_bench-"))
        try:
            n_read, rss_before, rss_after = memory_of_large_photos(work, args.size)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        _print_memory(n_read, rss_before, rss_after, args.size)
        return 0

    import build_demo_folder

    work = Path(tempfile.mkdtemp(prefix="own_photos_bench-"))
    try:
        folder = build_demo_folder.build(work / "demo_faces")
        r = recipe_timings(folder, work, args.size, args.steps)
        times = r["times"]
        total = sum(times.values())
        extraction = times["features (one pass through the frozen network)"]
        training = times[f"train the head ({args.steps} steps)"]
        per_epoch = full_finetune_epoch_seconds(r["sets"]["train"], args.finetune_epochs)
        finetune = per_epoch * r["epochs"]
        n_read, rss_before, rss_after = memory_of_large_photos(work, args.size)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"## Own photos: 200 photos at {args.size} px on {platform.machine()}, "
          f"{torch.get_num_threads()} threads, device {os.environ.get('COURSE_DEVICE', 'auto')}\n")
    print("| stage | seconds |\n|---|---:|")
    for name, s in times.items():
        print(f"| {name} | {s:.2f} |")
    print(f"| **total: folder → exported model** | **{total:.2f}** |")
    print(f"\nTest accuracy of the exported head: {r['test_acc']:.3f} (40 photos); "
          f"best validation accuracy {r['val_acc']:.3f}.\n")
    print("| compared with fine-tuning the whole network | value |\n|---|---:|")
    print(f"| epochs the head trained for ({args.steps} steps of 32 on {len(r['sets']['train'])} photos) "
          f"| {r['epochs']:.0f} |")
    print(f"| one epoch of full fine-tuning, measured ({args.finetune_epochs} epoch(s) averaged) | "
          f"{per_epoch:.2f} s |")
    print(f"| full fine-tuning for the same {r['epochs']:.0f} epochs (measured epoch × epochs) | "
          f"{finetune:.0f} s |")
    print(f"| features + head (extraction {extraction:.2f} s + training {training:.2f} s) | "
          f"{extraction + training:.2f} s |")
    print(f"| ratio: full fine-tuning / (features + head) | {finetune / (extraction + training):.0f}× |")
    _print_memory(n_read, rss_before, rss_after, args.size)
    return 0


def _print_memory(n_read: int, rss_before: float, rss_after: float, size: int) -> None:
    print(f"\n| reading {n_read} twelve-megapixel JPEGs at {size} px (fresh process) | MB |\n|---|---:|")
    print(f"| peak memory after imports | {rss_before:.0f} |")
    print(f"| peak memory after reading them all | {rss_after:.0f} |")
    print(f"| the same photos fully decoded would need | {n_read * 36:.0f} |")


if __name__ == "__main__":
    sys.exit(main())
