"""Benchmark your own photos at real scale: ``python -m course_lib.train`` on 200, 1,000 and 4,000 photos.

    PYTHONPATH=. .venv/bin/python benchmarks/own_photos.py            # writes benchmarks/own_photos.md + README
    PYTHONPATH=. .venv/bin/python benchmarks/own_photos.py --sizes 200 400 --no-readme --output /tmp/x.md

Measures, each run in a fresh process with an empty feature cache (``COURSE_OUTPUT_DIR`` in a
temporary folder), the one command's own code (``train.train_folder``, what ``python -m
course_lib.train`` runs):

1. notebook 10's demo folder (200 scans, some sideways with EXIF, 4 of 12 megapixels) at 224 px,
   step by step: check, split, features, head, test, export;
2. folders written offline for this run (photos at 1024×768 from the digit scans of
   scikit-learn pasted on photos bundled with scikit-image, and about 1 % at 12 megapixels) of
   1,000 and 4,000 photos: the peak memory (the process and its worker processes), photos per
   second (the whole command, and its features step) against the network alone on batches of
   the same size (timed in fresh processes just before and after, as the command runs it beside
   its decoding workers, in lanes, and as one batch on every core), and a second run after adding
   1 % new photos, against the first run's time. Each size is run ``--repeats`` times (``REPEATS``),
   the sizes taking turns (1,000, 4,000, 1,000, ...), and so is the second run (each from a
   copy of the cache the last first run left); the targets are read on the median run: on a
   shared virtual machine the same run's speed and peak memory drift from run to run (the
   report prints how far), so one run of each size can pass or fail by luck. Every run is listed;
3. the decision report on the demo folder (``python -m course_lib.train FOLDER MODEL_DIR --compare``'s
   :func:`course_lib.decide.decision_report`, as notebook 10 calls it: 64 px, 3 paired splits, ≤ 20
   optimizer steps per rate): wall time, CPU time, peak memory and its verdicts
   (``--decision-only`` runs this part alone and prints it).

Every folder is deleted afterwards. Prints a Markdown report with the machine's load average
(timings on a busy machine are inflated; the network alone is timed just before and just after
each run, so the ratios compare measurements under the same load) and writes it to
``benchmarks/own_photos.md`` and into the README between the OWN-PHOTOS markers. A benchmark reports; it is never a timed test.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "data_scripts"))

DIGITS = {"three": 3, "five": 5, "eight": 8, "nine": 9}
BACKGROUNDS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field", "retina")
PHOTO = (1024, 768)
LARGE = (4000, 3000)
LARGE_EVERY = 101        # photo i is 12 MP when i % 101 == 50: about 1 %, spread over the classes
MEMORY_LIMIT_MB = 1200   # the targets (issue 21), read on the median run; the README states them
GROWTH_LIMIT = 1.15      # peak memory at the largest size ÷ at the smallest
SPEED_TARGET = 0.80      # the whole command ÷ the network alone
SECOND_RUN_LIMIT = 0.10  # a second run after adding 1 % new photos ÷ the first run
DECISION_LIMIT_S = 180   # the decision report on the demo folder
REPEATS = 5              # first runs of each size: the network alone drifts between its short windows
_STATE: dict = {}


# --------------------------------------------------------------------------- folders written offline

def _init_writer(size: tuple[int, int]) -> None:
    import skimage.data
    from PIL import Image
    from sklearn.datasets import load_digits

    w, h = size
    backgrounds = []
    for name in BACKGROUNDS:
        im = Image.fromarray(getattr(skimage.data, name)()).convert("RGB")
        scale = max((w + 256) / im.width, (h + 192) / im.height)
        backgrounds.append(im.resize((round(im.width * scale), round(im.height * scale)),
                                     Image.Resampling.BICUBIC))
    digits = load_digits()
    _STATE.update(size=size, backgrounds=backgrounds,
                  scans={c: digits.images[digits.target == d] for c, d in DIGITS.items()})


def _write_photo(job: tuple[str, int, bool]) -> str:
    """One photo: a crop of a bundled photo with a digit scan pasted in; its content depends on ``index``."""
    from PIL import Image

    path, index, large = job
    rng = np.random.default_rng(index)
    w, h = _STATE["size"]
    scans = _STATE["scans"][Path(path).parent.name]
    scan = scans[(index // len(DIGITS)) % len(scans)]
    background = _STATE["backgrounds"][int(rng.integers(len(_STATE["backgrounds"])))]
    x0, y0 = int(rng.integers(0, background.width - w + 1)), int(rng.integers(0, background.height - h + 1))
    canvas = background.crop((x0, y0, x0 + w, y0 + h))
    side = int(rng.integers(min(w, h) // 3, min(w, h) * 9 // 10))
    ink = Image.fromarray((scan * 255 / 16).astype(np.uint8), "L").resize((side, side), Image.Resampling.BICUBIC)
    colour = tuple(int(v) for v in rng.integers(0, 256, 3))
    canvas.paste(Image.new("RGB", (side, side), colour),
                 (int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))), ink)
    if large:
        canvas = canvas.resize(LARGE, Image.Resampling.BILINEAR)
    canvas.save(path, quality=90)
    return path


def write_photos(dest: Path, indices, processes: int = 2) -> Path:
    """Write photos ``indices`` into ``dest/<digit>/`` (1024×768 JPEGs, about 1 % of 12 MP)."""
    from multiprocessing import get_context

    classes = list(DIGITS)
    for c in classes:
        (dest / c).mkdir(parents=True, exist_ok=True)
    jobs = [(str(dest / classes[i % 4] / f"{classes[i % 4]}_{i:05d}.jpg"), i, i % LARGE_EVERY == LARGE_EVERY // 2)
            for i in indices]
    method = "fork" if "fork" in __import__("multiprocessing").get_all_start_methods() else "spawn"
    with get_context(method).Pool(processes, initializer=_init_writer, initargs=(PHOTO,)) as pool:
        for _ in pool.imap_unordered(_write_photo, jobs, chunksize=16):
            pass
    return dest


def link_folder(pool: Path, dest: Path, n: int) -> Path:
    """``dest`` with the first ``n`` photos of ``pool`` (hard links: no copy)."""
    for path in sorted(pool.rglob("*.jpg")):
        if int(path.stem.split("_")[1]) < n:
            (dest / path.parent.name).mkdir(parents=True, exist_ok=True)
            target = dest / path.parent.name / path.name
            if not target.exists():
                os.link(path, target)
    return dest


# --------------------------------------------------------------------------- one run, in a fresh process

CHILD = r"""
import json, os, resource, sys, threading, time
from pathlib import Path

def kb(pid, fields):
    # the sum of these fields of /proc/<pid>/smaps_rollup, in kB (0 once the process is gone)
    try:
        return sum(int(line.split()[1]) for line in open(f"/proc/{pid}/smaps_rollup")
                   if line.split(":")[0] in fields)
    except OSError:
        return 0

def rss_kb(pid):
    # resident set from /proc/<pid>/statm: cheap (smaps_rollup walks the page tables under the
    # process's memory lock, and read every 0.1 s it slowed this process's network by a third)
    try:
        return int(open(f"/proc/{pid}/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    except OSError:
        return 0

def children(pid):
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            out += [int(c) for c in open(f"/proc/{pid}/task/{tid}/children").read().split()]
    except OSError:
        pass
    return out

peak = {"tree_mb": 0.0, "workers": 0}
def sample():
    # the process's resident set, plus what each worker holds on its own (private pages): the
    # libraries a forked worker shares with the process are counted once
    me = os.getpid()
    while not peak.get("stop"):
        kids = children(me)
        peak["workers"] = max(peak["workers"], len(kids))
        total = rss_kb(me) + sum(kb(k, ("Private_Clean", "Private_Dirty")) for k in kids)
        peak["tree_mb"] = max(peak["tree_mb"], total / 1024)
        time.sleep(0.1)
if os.path.exists("/proc/self/smaps_rollup"):
    threading.Thread(target=sample, daemon=True).start()

load_start = os.getloadavg()
import torch
from course_lib import cpu, models, photos, recipe, train
cpu.reuse_large_blocks()   # as `python -m course_lib.train` does at start
folder, model_dir, size, mode = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]

def forward_rate(lanes, batch, threads, seconds=6.0):
    # the network alone on ready-made batches of `batch` photos: `lanes` batches at once through
    # cpu.in_lanes (one thread each, as the command runs it beside decoding workers), or with
    # lanes=1 one batch at a time on `threads` threads; photos per second and CPU ms per photo
    net = models.remove_head(models.load_backbone("efficientnet_lite0").model).eval()
    x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(0))

    def forward(x):
        with torch.no_grad():
            return net(x)

    with cpu.cpu_threads(threads):
        forward(x)
        t0, c0, n = time.perf_counter(), time.process_time(), 0
        until = t0 + seconds
        batches = (x for _ in iter(lambda: time.perf_counter() < until, False))
        for _, out in cpu.in_lanes(forward, batches, lanes):
            n += len(out)
    return [n / (time.perf_counter() - t0), 1000 * (time.process_time() - c0) / n]

all_threads = torch.get_num_threads()
# the network as the command runs it while workers decode photos (recipe.network_lanes, lane_batch)
lanes = recipe.network_lanes(photos.default_workers(photos.scan_folder(folder).count(), "cpu"), "cpu")
configs = {"lanes": (lanes, recipe.lane_batch(size, lanes), 1), "cores": (1, recipe.batch_for(size), all_threads)}
if mode == "network":   # the network alone, in a process of its own: the command's peak memory stays its own
    print(json.dumps({"rates": {k: forward_rate(*c) for k, c in configs.items()}, "configs": configs}))
    sys.exit(0)
marks = [("start", time.perf_counter())]
def say(line):
    if line.startswith("["):
        marks.append((line, time.perf_counter()))
t0, c0 = time.perf_counter(), time.process_time()
card = train.train_folder(folder, model_dir, image_size=size, progress=False, say=say)
seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
peak["stop"] = True
steps = {marks[i][0].split(":")[0]: marks[i][1] - marks[i - 1][1] for i in range(1, len(marks))}
features_line = next(line for line, _ in marks if line.startswith("[3/"))
hwm = next(int(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({
    "photos": sum(sum(v.values()) for v in card["counts"].values()), "seconds": seconds, "cpu_main": cpu_seconds,
    "cpu_workers": resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
                   + resource.getrusage(resource.RUSAGE_CHILDREN).ru_stime,
    "steps": steps, "features_line": features_line,
    "test": card["metrics"]["test"], "main_hwm_mb": hwm,
    "worker_hwm_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    "tree_mb": peak["tree_mb"], "workers": peak["workers"],
    "load_start": load_start, "load_end": os.getloadavg()}))
"""


DECIDE_CHILD = r"""
import json, os, sys, time
from course_lib import decide, splits
folder, model_dir = sys.argv[1], sys.argv[2]
load_start = os.getloadavg()
t0, c0 = time.perf_counter(), time.process_time()
d = decide.decision_report(splits.split_folder(folder), model_dir, image_size=64, seeds=range(3), steps=20,
                           say=lambda line: None)
seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
hwm = next(int(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"seconds": seconds, "cpu": cpu_seconds, "hwm_mb": hwm, "recommendation": d.recommendation,
                  "reason": d.reason, "verdicts": [str(c) for c in d.comparisons],
                  "means": {n: d.mean(n) for n in d.results}, "load_start": load_start,
                  "load_end": os.getloadavg()}))
"""


def run_decision(folder: Path, model_dir: Path, outputs: Path) -> dict:
    """The decision report on ``folder`` in a fresh process: its time, memory and verdicts."""
    env = {**os.environ, "COURSE_OUTPUT_DIR": str(outputs),
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", DECIDE_CHILD, str(folder), str(model_dir)], env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"the decision report failed:\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_seconds"] = time.perf_counter() - start
    return out


def decision_lines(r: dict) -> list[str]:
    """The report's section on the decision report (target: within 3 minutes on 2 cores)."""
    means = ", ".join(f"{name} {m:.3f}" for name, m in r["means"].items())
    return ["", "**The decision report on the demo folder** (`--compare`: 64 px, 3 paired splits, ≤ 20 "
            "optimizer steps per rate, one CPU thread)", "",
            f"- {r['seconds']:.0f} s wall clock ({r['process_seconds']:.0f} s with the process's start-up; "
            f"target ≤ {DECISION_LIMIT_S} s), {r['cpu']:.0f} s of CPU time, peak memory (VmHWM) {r['hwm_mb']:.0f} MB; load "
            f"{_load(r['load_start'])} at the start, {_load(r['load_end'])} at the end.",
            f"- Mean test accuracy over the splits: {means}."] + [f"- {v}" for v in r["verdicts"]] + [
            f"- {r['reason']}"]


def run_child(folder: Path, model_dir: Path, outputs: Path, size: int, forward: bool) -> dict:
    """``train_folder`` in a fresh process; its measurements, plus the process's own wall time.
    With ``forward``, the network alone is timed in fresh processes just before and just after."""
    env = {**os.environ, "COURSE_OUTPUT_DIR": str(outputs),
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}

    def child(mode: str) -> dict:
        proc = subprocess.run([sys.executable, "-c", CHILD, str(folder), str(model_dir), str(size), mode],
                              env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"the benchmark run failed:\n{proc.stderr[-3000:]}")
        return json.loads(proc.stdout.strip().splitlines()[-1])

    network = child("network") if forward else None
    start = time.perf_counter()
    out = child("run")
    out["process_seconds"] = time.perf_counter() - start
    if network is not None:
        after = child("network")
        out.update(forward_before=network["rates"], forward_after=after["rates"], configs=network["configs"])
    return out


# --------------------------------------------------------------------------- the report

def _load(values) -> str:
    return " / ".join(f"{v:.1f}" for v in values)


def _peak(r: dict) -> float:
    """The memory a run held at its peak: the process with its workers (sampled), or the
    process's own exact peak (VmHWM) if that is larger."""
    return max(r["tree_mb"], r["main_hwm_mb"])


def _network(r: dict, key: str) -> tuple[float, float, float, float]:
    """The network alone as ``key`` runs it ("lanes": as the command, "cores": one batch on every
    core): photos / s before, after, their mean, and CPU ms per photo."""
    before, after = r["forward_before"][key], r["forward_after"][key]
    return before[0], after[0], (before[0] + after[0]) / 2, (before[1] + after[1]) / 2


def _median(values) -> float:
    return float(np.median(values))


def _span(values, spec: str) -> str:
    """``a-b`` over the runs (one value: itself)."""
    low, high = min(values), max(values)
    return f"{low:{spec}}" if len(values) == 1 else f"{low:{spec}}–{high:{spec}}"


def _median_run(runs: list[dict]) -> dict:
    """The run whose whole-command time is the median (of an even number, the slower middle one)."""
    ranked = sorted(runs, key=lambda r: r["seconds"])
    return ranked[len(ranked) // 2]


def _how(r: dict, key: str) -> str:
    lanes, batch, threads = r["configs"][key]
    if lanes > 1:
        return f"{lanes} batches of {batch} at once, one thread each"
    return f"one batch of {batch}, {threads} thread{'s' * (threads > 1)}"


def _rates(r: dict) -> dict[str, float]:
    """Photos per second of the whole command and of its features step."""
    features = next(sec for name, sec in r["steps"].items() if name.startswith("[3/"))
    return {"whole": r["photos"] / r["seconds"], "features": r["photos"] / features}


def report(demo: dict, scale: dict[int, list[dict]], second: dict[int, list[dict]], size: int, grow: float,
           decision: dict | None = None, measured: datetime | None = None) -> str:
    """The Markdown report; ``measured``: when the runs ended (default: now)."""
    import torch

    lines = [
        f"## Own photos at real scale: `python -m course_lib.train`, {size} px",
        "",
        f"Measured {measured or datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by `benchmarks/own_photos.py` on "
        f"{os.cpu_count()} CPU cores ({platform.machine()}), torch {torch.__version__}, each run in a fresh "
        "process with an empty feature cache. The load average (1 / 5 / 15 min) is given for every run: a load "
        "above the number of cores means other work shared the processors and its times are inflated; the "
        "network alone is timed just before and just after each run, so the ratios compare measurements "
        "under the same load.",
        "",
        f"**Notebook 10's demo folder: {demo['photos']} photos (4 of 12 megapixels), step by step**",
        "",
        "| step | seconds |", "|---|---:|"]
    lines += [f"| {name} | {s:.2f} |" for name, s in demo["steps"].items()]
    t = demo["test"]
    lines += [f"| **total: folder → exported model** | **{demo['seconds']:.2f}** |", "",
              f"Test accuracy {t['accuracy']:.3f} ({t['correct']} of {t['total']} photos; 95 % interval "
              f"{t['interval95'][0]:.2f} to {t['interval95'][1]:.2f}). Load {_load(demo['load_start'])} "
              f"at the start, {_load(demo['load_end'])} at the end.", "",
              f"**Folders of {PHOTO[0]}×{PHOTO[1]} photos (about 1 % of 12 megapixels), written for this run**",
              "",
              "| photos | run | seconds | photos / s: whole command / files → features | network alone as the "
              "command runs it, photos / s (before / after) | ratio: whole command / files → features | "
              "network alone, one batch on every core, photos / s (before / after) | ratio: whole "
              "command / files → features | peak memory (MB) | worker processes | load at start / end |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    order = [(i, n) for i in range(max(len(runs) for runs in scale.values())) for n in scale if i < len(scale[n])]
    for i, n in order:   # in the order they ran
        r = scale[n][i]
        rates = _rates(r)
        cells = []
        for key in ("lanes", "cores"):
            before, after, mean, _ = _network(r, key)
            cells += [f"{mean:.1f} ({before:.1f} / {after:.1f})", f"{rates['whole'] / mean:.2f} / {rates['features'] / mean:.2f}"]
        lines.append(f"| {r['photos']:,} | {i + 1} | {r['seconds']:.1f} | {rates['whole']:.1f} / {rates['features']:.1f} | "
                     + " | ".join(cells) + f" | {_peak(r):.0f} | {r['workers']} | "
                     f"{r['load_start'][0]:.1f} / {r['load_end'][0]:.1f} |")
    sizes = sorted(scale)
    smalls, bigs = scale[sizes[0]], scale[sizes[-1]]
    big = _median_run(bigs)
    peaks = {n: [_peak(r) for r in scale[n]] for n in sizes}
    growth = _median(peaks[sizes[-1]]) / _median(peaks[sizes[0]])
    alone = [rate for runs in scale.values() for r in runs for rate in _network(r, "lanes")[:2]]
    decode_ms = _median([1000 * r["cpu_workers"] / r["photos"] for r in bigs])
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    lanes_rate, lanes_ms = (_median([_network(r, "lanes")[i] for r in bigs]) for i in (2, 3))
    cores_rate, cores_ms = (_median([_network(r, "cores")[i] for r in bigs]) for i in (2, 3))
    best = max(lanes_rate, cores_rate)
    bound = cores * 1000 / (lanes_ms + decode_ms)   # every core busy with the network and decoding
    n_runs = len(bigs)
    lines += ["",
              (f"Each size ran {n_runs} times, the sizes taking turns; the targets are read on the median run (the "
               "range over the runs in brackets). The same network alone, timed before and after each run, gave "
               f"{min(alone):.1f} to {max(alone):.1f} photos / s over this benchmark ({100 * (max(alone) / min(alone) - 1):.0f} % "
               "apart): one run of each size can pass or fail by luck; every run is in the table."
               if n_runs > 1 else "Each size ran once (`--repeats 1`)."),
              ""]
    for n in sizes:
        runs = scale[n]
        for key, name in (("lanes", "the network as the command runs it"), ("cores", "one batch on every core")):
            ratios = [_rates(r)["whole"] / _network(r, key)[2] for r in runs]
            lines.append(f"- {runs[0]['photos']:,} photos, whole command ÷ {name}: **{_median(ratios):.2f}** "
                         f"({_span(ratios, '.2f')}; target ≥ {SPEED_TARGET:.2f}).")
    lines += [f"- Peak memory, median: {_median(peaks[sizes[0]]):.0f} MB at {smalls[0]['photos']:,} photos "
              f"({_span(peaks[sizes[0]], '.0f')}), {_median(peaks[sizes[-1]]):.0f} MB at {bigs[0]['photos']:,} "
              f"({_span(peaks[sizes[-1]], '.0f')}): **{growth:.2f}×** (target ≤ {GROWTH_LIMIT:.2f}×) and at most "
              f"{max(peaks[sizes[-1]]):.0f} MB (target ≤ {MEMORY_LIMIT_MB:,} MB). A run's peak is the process's own "
              "(VmHWM) or, if larger, its resident memory plus what its decoding worker(s) held privately, sampled "
              f"every 0.1 s. In the median run at {big['photos']:,} photos: VmHWM {big['main_hwm_mb']:.0f} MB, "
              f"sampled {big['tree_mb']:.0f} MB (a worker's own peak resident set, shared libraries included: "
              f"{big['worker_hwm_mb']:.0f} MB).",
              f"- Where the time went in the median run at {big['photos']:,} photos: "
              + ", ".join(f"{name.split('] ')[-1]} {sec:.1f} s" for name, sec in big["steps"].items()) + ".",
              "- The whole command counts everything it does (check, split, features, head, test, export); "
              "files → features is its features step alone (hashing, reading, decoding, the network, the "
              "cache). The network alone runs on ready-made batches, in fresh processes just before and just "
              "after the command's (so the command's peak memory is its own), two ways: as the command runs "
              f"it beside its decoding worker(s) ({_how(big, 'lanes')}: `recipe.network_lanes`, "
              f"`recipe.lane_batch`), and one batch at a time with torch's threads on every core "
              f"({_how(big, 'cores')}). The target, ≥ {SPEED_TARGET:.2f} of the network alone (decoding hidden behind "
              "compute), is read on both; the faster of the two is the stricter.",
              f"- What decoding costs (medians at {big['photos']:,} photos): the worker(s) used {decode_ms:.1f} ms of "
              f"CPU per photo; the network alone {lanes_ms:.1f} ms of CPU per photo as the command runs it, "
              f"{cores_ms:.1f} ms as one batch on every core. Decoding needs the same {cores} cores as the "
              f"network: with every core busy and nothing lost, the command could reach {bound:.1f} photos / s, "
              f"{bound / best:.2f} of the faster way of running the network alone.",
              "",
              f"**A second run after adding {grow:.0%} new photos**",
              "",
              "| photos before → after | run | second run (s) | ÷ the first run's median | computed / from the cache "
              "| the second process, start-up included (s) | load at start / end |",
              "|---|---:|---:|---:|---|---:|---|"]
    for n, runs in second.items():
        first = _median([f["seconds"] for f in scale[n]])
        for i, r in enumerate(runs):
            counts = r["features_line"].split(": ", 2)[-1]
            lines.append(f"| {scale[n][0]['photos']:,} → {r['photos']:,} | {i + 1} | {r['seconds']:.1f} | "
                         f"{r['seconds'] / first:.3f} | {counts} | {r['process_seconds']:.1f} | "
                         f"{r['load_start'][0]:.1f} / {r['load_end'][0]:.1f} |")
    lines += [""]
    for n, runs in second.items():
        first = [f["seconds"] for f in scale[n]]
        seconds = [r["seconds"] for r in runs]
        lines.append(f"- {scale[n][0]['photos']:,} → {runs[0]['photos']:,} photos: the second run, median "
                     f"{_median(seconds):.1f} s ({_span(seconds, '.1f')}), against the first run's median "
                     f"{_median(first):.1f} s: **{_median(seconds) / _median(first):.3f}** (target ≤ {SECOND_RUN_LIMIT:.2f}).")
    lines += ["", "Each second run starts from a copy of the cache and model folder the last first run left, so "
              "each repeats the same work. Only the new photos are read and passed through the network; every "
              "other photo is found in the cache by the hash of its content. The head is fitted again on the "
              "grown training split: a previous run's solution is reused only where it still passes the "
              "convergence test, so the head is the one a fresh fit gives."]
    for n, runs in second.items():
        r = _median_run(runs)
        lines.append(f"- Where the median second run's time went at {r['photos']:,} photos: "
                     + ", ".join(f"{name.split('] ')[-1]} {sec:.1f} s" for name, sec in r["steps"].items()) + ".")
    if decision is not None:
        lines += decision_lines(decision)
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000], help="folder sizes (photos)")
    parser.add_argument("--grow", type=float, default=0.01, help="share of new photos before the second run")
    parser.add_argument("--repeats", type=int, default=REPEATS,
                        help="first runs of each size (the sizes take turns); targets read on the median")
    parser.add_argument("--size", type=int, default=224, help="image size in pixels")
    parser.add_argument("--output", type=Path, default=HERE / "own_photos.md",
                        help="where to write the Markdown report")
    parser.add_argument("--no-readme", action="store_true",
                        help="do not copy the report into README.md (OWN-PHOTOS markers)")
    parser.add_argument("--work", type=Path, default=None,
                        help="folder for the photos (default: a new temporary folder, deleted afterwards)")
    parser.add_argument("--decision-only", action="store_true",
                        help="only time the decision report on the demo folder, print it, write nothing")
    parser.add_argument("--report-from", type=Path, default=None,
                        help="write the report from a run's kept measurements, running nothing")
    args = parser.parse_args(argv)

    if args.report_from:
        kept = json.loads(args.report_from.read_text())
        scale, second = ({int(n): r if isinstance(r, list) else [r] for n, r in kept[part].items()}   # older: one run
                         for part in ("scale", "second"))
        measured = (datetime.fromisoformat(kept["measured"]) if "measured" in kept else   # older files: when written
                    datetime.fromtimestamp(args.report_from.stat().st_mtime, timezone.utc))
        return _write(report(kept["demo"], scale, second, args.size, args.grow, kept["decision"], measured), args)

    import build_demo_folder

    if args.decision_only:
        work = Path(tempfile.mkdtemp(prefix="own_photos_decide-", dir=args.work))
        try:
            folder = build_demo_folder.build(work / "demo_digits")
            result = run_decision(folder, work / "model", work / "outputs")
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print("\n".join(decision_lines(result)))
        return 0

    work = Path(tempfile.mkdtemp(prefix="own_photos_bench-", dir=args.work))
    try:
        demo_folder = build_demo_folder.build(work / "demo" / "demo_digits")
        demo = run_child(demo_folder, work / "demo" / "model", work / "demo" / "outputs", args.size, False)
        print(f"demo: {demo['seconds']:.1f} s", flush=True)
        top = max(args.sizes)
        extra = max(1, round(top * args.grow))
        pool = write_photos(work / "pool", range(top + extra))
        folders = {n: link_folder(pool, work / f"photos_{n}" / "photos", n) for n in args.sizes}
        scale: dict[int, list[dict]] = {n: [] for n in args.sizes}
        second: dict[int, list[dict]] = {}
        for run in range(args.repeats):   # the sizes take turns: a slow spell of the machine hits both
            for n in args.sizes:
                where = work / f"photos_{n}"
                scale[n].append(run_child(folders[n], where / f"model_{run}", where / f"outputs_{run}",
                                          args.size, True))
                print(f"{n} photos, run {run + 1}: {scale[n][-1]['seconds']:.1f} s", flush=True)
        for n in args.sizes:   # the last run's cache, then 1 % new photos
            where, folder = work / f"photos_{n}", folders[n]
            added = [i for i in range(top, top + extra)][: max(1, round(n * args.grow))]
            for path in sorted(pool.rglob("*.jpg")):
                if int(path.stem.split("_")[1]) in added:
                    os.link(path, folder / path.parent.name / path.name)
            second[n] = []
            last = args.repeats - 1
            for run in range(args.repeats):   # each from a copy of the last first run's cache and model
                shutil.copytree(where / f"outputs_{last}", where / f"outputs_second_{run}")
                shutil.copytree(where / f"model_{last}", where / f"model_second_{run}")
                second[n].append(run_child(folder, where / f"model_second_{run}", where / f"outputs_second_{run}",
                                           args.size, False))
                print(f"{n} photos + {len(added)}, run {run + 1}: {second[n][-1]['seconds']:.1f} s", flush=True)
        decision = run_decision(demo_folder, work / "demo" / "decision", work / "demo" / "decision_outputs")
        print(f"decision report: {decision['seconds']:.1f} s", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    raw = Path(tempfile.gettempdir()) / "own_photos_raw.json"
    measured = datetime.now(timezone.utc)
    raw.write_text(json.dumps({"demo": demo, "scale": scale, "second": second, "decision": decision,
                               "measured": measured.isoformat()}))
    print(f"measurements kept in {raw} (--report-from rewrites the report from them)", flush=True)
    return _write(report(demo, scale, second, args.size, args.grow, decision, measured), args)


def _write(text: str, args: argparse.Namespace) -> int:
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
