"""Benchmark notebook 10's recipe: 200 photos at 224 px → split, features, trained head, exported model.

    PYTHONPATH=. .venv/bin/python benchmarks/own_photos.py            # writes benchmarks/own_photos.md
    PYTHONPATH=. .venv/bin/python benchmarks/own_photos.py --threads 1 --output /tmp/x.md

Measures, on the offline demo folder (200 JPEG scans in 4 class folders, some sideways with
EXIF, 4 of them 12-megapixel):

1. the recipe, stage by stage (wall-clock seconds): split, read, **extraction** (one pass
   through the frozen network), **training** the head, export; and its total;
2. the ratio to fine-tuning the *whole* network on the same training photos for the same number
   of epochs as the head trained for. Fine-tuning for all those epochs would take many minutes,
   so a few batches are timed (after one warm-up batch) and the time per photo is multiplied by
   photos × epochs; the table says so;
3. the peak memory of a fresh process reading 200 twelve-megapixel JPEGs at 224 px (JPEG draft
   decoding keeps each at about 0.6 MB instead of 36 MB).

Prints a Markdown report (with the machine's load average, since timings on a busy machine are
inflated) and writes it to ``benchmarks/own_photos.md`` (``--output``). A benchmark reports; it
is never a timed test.
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
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "data_scripts"))

MEMORY_CHILD = r"""
import sys
from pathlib import Path
from course_lib import photos, splits

def peak_mb():  # VmHWM: this process's peak resident memory
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

root, size = Path(sys.argv[1]), int(sys.argv[2])
before = peak_mb()
split = splits.split_folder(root, split_file=root.parent / "split.json", val=0.2, test=0.2)
pre = photos.Preprocess.for_backbone("efficientnet_lite0", size)
sets = splits.load_split(split, pre, progress=False)
print(sum(len(s) for s in sets.values()), before, peak_mb())
"""
EXTRACT = "features: one pass of 200 photos through the frozen network"
TRAIN = "train the head"


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def recipe_timings(folder: Path, work: Path, size: int, steps: int) -> dict:
    """Time each stage of the recipe on ``folder``; return times, data, epochs and accuracy."""
    import torch
    from torch import nn

    from course_lib import export, models, photos, recipe, splits

    t = {}
    split, t["split (scan + stratified split, kept in JSON)"] = _timed(
        lambda: splits.split_folder(folder, split_file=work / "split.json"))
    pre = photos.Preprocess.for_backbone("efficientnet_lite0", size)
    sets, t["read 200 photos (EXIF, draft decoding, crop)"] = _timed(
        lambda: splits.load_split(split, pre, progress=False))
    extractor, t["load the pretrained network"] = _timed(
        lambda: models.remove_head(models.load_backbone("efficientnet_lite0").model))
    feats, t[EXTRACT] = _timed(
        lambda: {p: recipe.photo_features(extractor, s, progress=False) for p, s in sets.items()})
    n_classes = len(split.classes)
    (head, info), t[TRAIN] = _timed(
        lambda: recipe.train_steps(nn.Linear(1280, n_classes), *feats["train"], feats["val"],
                                   steps=steps, lr=1e-2, seed=0))
    _, t["export (safetensors + JSON)"] = _timed(
        lambda: export.export_classifier(work / "model", backbone="efficientnet_lite0",
                                         head=head, classes=split.classes, preprocess=pre))
    with torch.no_grad():
        test_x, test_y = feats["test"]
        test_acc = float((head(test_x).argmax(1) == test_y).float().mean())
    epochs = steps * 32 / len(sets["train"])
    return {"times": t, "sets": sets, "epochs": epochs, "test_acc": test_acc,
            "val_acc": info["val_acc"], "classes": split.classes}


def finetune_seconds_per_photo(train_set, batches: int, batch_size: int = 32) -> float:
    """Seconds per training photo of fine-tuning every layer (Adam, train mode) at the set's size.

    One warm-up batch first (not timed), then ``batches`` timed batches of ``batch_size``
    photos drawn from ``train_set`` (with a fixed seed).
    """
    import torch

    from course_lib import models
    from course_lib.devices import pick_device, to_device

    torch.manual_seed(0)
    device = pick_device()
    model = models.load_backbone("efficientnet_lite0", num_classes=train_set.num_classes).model
    model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    gen = torch.Generator().manual_seed(0)

    def step() -> None:
        idx = torch.randint(0, len(train_set), (batch_size,), generator=gen)
        x = to_device(train_set.preprocess.normalise(train_set.images[idx]), device)
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), to_device(train_set.labels[idx], device))
        loss.backward()
        optimizer.step()

    step()  # warm-up: first-call allocations
    start = time.perf_counter()
    for _ in range(batches):
        step()
    return (time.perf_counter() - start) / (batches * batch_size)


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


def _load() -> str:
    return " / ".join(f"{v:.1f}" for v in os.getloadavg())


def report(r: dict, size: int, steps: int, batches: int, per_photo: float, memory,
           loads: tuple[str, str]) -> str:
    """The Markdown report of one benchmark run."""
    import torch

    times = r["times"]
    total = sum(times.values())
    extraction, training = times[EXTRACT], times[TRAIN]
    n_train, epochs = len(r["sets"]["train"]), r["epochs"]
    finetune = per_photo * n_train * epochs
    ours = extraction + training
    lines = [
        f"## Own photos: 200 photos at {size} px, folder → exported model",
        "",
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by `benchmarks/own_photos.py` on "
        f"{os.cpu_count()} CPU cores ({platform.machine()}), torch {torch.__version__} with "
        f"{torch.get_num_threads()} thread{'s' if torch.get_num_threads() != 1 else ''}, device {os.environ.get('COURSE_DEVICE', 'auto')}. "
        f"Load average (1 / 5 / 15 min) {loads[0]} at the start, {loads[1]} at the end: a load "
        "above the number of cores means other work shared the processors and every time below "
        "is inflated.",
        "",
        "| stage | seconds |", "|---|---:|"]
    lines += [f"| {name} | {s:.2f} |" for name, s in times.items()]
    lines += [f"| **total: folder → exported model** | **{total:.2f}** |", "",
              f"Test accuracy of the exported head: {r['test_acc']:.3f} on "
              f"{len(r['sets']['test'])} photos ({len(r['classes'])} classes; best validation "
              f"accuracy {r['val_acc']:.3f}).", "",
              "| compared with fine-tuning the whole network | value |", "|---|---:|",
              f"| epochs the head trained for ({steps} steps of 32 on {n_train} photos) | "
              f"{epochs:.0f} |",
              f"| full fine-tuning, seconds per training photo (measured on {batches} batches "
              f"of 32 after a warm-up batch) | {per_photo:.3f} |",
              f"| full fine-tuning for the same {epochs:.0f} epochs (per photo × {n_train} "
              f"photos × {epochs:.0f} epochs, scaled, not run) | {finetune:.0f} s |",
              f"| features + head (extraction {extraction:.2f} s + training {training:.2f} s) | "
              f"{ours:.2f} s |",
              f"| ratio: full fine-tuning / (features + head) | {finetune / ours:.0f}× |"]
    if memory is not None:
        n_read, before, after = memory
        lines += ["", f"| reading {n_read} twelve-megapixel JPEGs at {size} px (fresh process) "
                  "| MB |", "|---|---:|",
                  f"| peak memory after imports | {before:.0f} |",
                  f"| peak memory after reading them all | {after:.0f} |",
                  f"| the same photos fully decoded would need | {n_read * 36:.0f} |"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--steps", type=int, default=300, help="head training steps (as notebook 10)")
    parser.add_argument("--finetune-batches", type=int, default=2,
                        help="timed batches of 32 photos of full fine-tuning (after a warm-up batch)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice, one per core); on a "
                             "busy machine 1 thread avoids threads waiting for each other")
    parser.add_argument("--no-memory", action="store_true", help="skip the 12-megapixel memory test")
    parser.add_argument("--output", type=Path, default=HERE / "own_photos.md",
                        help="where to write the Markdown report")
    parser.add_argument("--no-readme", action="store_true",
                        help="do not copy the report into README.md (OWN-PHOTOS markers)")
    args = parser.parse_args(argv)

    import build_demo_folder
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    load_start = _load()
    work = Path(tempfile.mkdtemp(prefix="own_photos_bench-"))
    try:
        folder = build_demo_folder.build(work / "demo")
        r = recipe_timings(folder, work, args.size, args.steps)
        per_photo = finetune_seconds_per_photo(r["sets"]["train"], args.finetune_batches)
        memory = None if args.no_memory else memory_of_large_photos(work, args.size)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = report(r, args.size, args.steps, args.finetune_batches, per_photo, memory,
                  (load_start, _load()))
    print(text)
    args.output.write_text(text)
    print(f"written to {args.output}")
    if not args.no_readme:
        publish(text)
    return 0


def publish(report: str) -> None:
    """Show the report in the README, between the OWN-PHOTOS markers (headings demoted)."""
    sys.path.insert(0, str(HERE))
    from run_notebooks import update_readme

    body = report.strip().replace("## ", "#### ", 1)
    update_readme(body, start="<!-- OWN-PHOTOS:START -->", end="<!-- OWN-PHOTOS:END -->")


if __name__ == "__main__":
    sys.exit(main())
