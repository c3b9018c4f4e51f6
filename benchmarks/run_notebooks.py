"""Run every notebook in a fresh kernel, one at a time; record wall time and the kernel's peak memory.

    .venv/bin/python benchmarks/run_notebooks.py                 # all notebooks
    .venv/bin/python benchmarks/run_notebooks.py notebooks/06_*.ipynb --write-outputs

Each run also compares the result lines a fresh kernel printed with the committed outputs (text
only, after the substitutions of ``tests/nbval_sanitize.cfg``: timings, progress bars, sizes) and
reports the code cells that differ, so "what is committed is what a learner gets" is measured.
A full run (no notebooks named) writes ``benchmarks/results.md`` (a Markdown table with the
budgets) and ``benchmarks/results.png``, and replaces the table between the ``BENCHMARK-TABLE``
markers in README.md, and the measured minutes and peaks in INSTRUCTORS.md's headings and the
README's Binder note; naming notebooks only prints their table. ``--write-outputs`` saves each executed notebook in place, so the committed
notebooks carry the outputs of a real run. Exits non-zero if a notebook fails.
Notebooks start from an empty ``outputs`` folder (``COURSE_OUTPUT_DIR`` set to a new temporary
folder for the run), so timings and printed lines are those of a fresh clone; ``--keep-outputs``
reuses ``outputs/``.
Budgets (2 CPU cores): each notebook ≤ 4 min and ≤ 1.5 GB; the whole course ≤ 10 min.
The verdicts each notebook recorded (``course_lib.verdicts``) are copied to ``benchmarks/verdicts/``,
where ``benchmarks/robustness.py`` and the claims table read them.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MINUTES_BUDGET, GB_BUDGET, TOTAL_BUDGET = 4.0, 1.5, 10.0
VERDICTS = HERE / "verdicts"
START, END = "<!-- BENCHMARK-TABLE:START -->", "<!-- BENCHMARK-TABLE:END -->"


class PeakMemory(threading.Thread):
    """Polls a process and its children every ``interval`` seconds; keeps the peak RSS sum."""

    def __init__(self, pid: int, interval: float = 0.1):
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak, self._halt = pid, interval, 0, threading.Event()

    def run(self) -> None:
        import psutil

        try:
            proc = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._halt.is_set():
            try:
                rss = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
                self.peak = max(self.peak, rss)
            except psutil.Error:
                pass
            self._halt.wait(self.interval)

    def stop(self) -> int:
        self._halt.set()
        self.join()
        return self.peak


def _progress_text(model_id: str, state: dict) -> str | None:
    """The final text of a tqdm bar stored as widgets (an HBox of HTML, FloatProgress, HTML)."""
    import html

    box = state.get(model_id, {})
    if box.get("model_name") != "HBoxModel":
        return None
    children = [state.get(c.removeprefix("IPY_MODEL_"), {}) for c in box["state"].get("children", [])]
    names = [c.get("model_name") for c in children]
    if names != ["HTMLModel", "FloatProgressModel", "HTMLModel"]:
        return None
    bar = children[1]["state"]
    done, total = float(bar.get("value", 0)), float(bar.get("max", 0) or 0)
    left = html.unescape(children[0]["state"].get("value", "")).replace("\u2007", " ")
    desc = re.sub(r"\s*\d{1,3}%\s*$", "", left).rstrip(": ").strip()
    if total <= 0:
        return f"{desc}: {int(done)} done" if desc else f"{int(done)} done"
    pct = int(100 * done / total)
    filled = int(10 * done / total)
    text = f"{pct:3d}%|{'█' * filled}{' ' * (10 - filled)}| {int(done)}/{int(total)}"
    return f"{desc}: {text}" if desc else text


def static_progress_bars(nb) -> int:
    """Replace each stored tqdm widget by the text of its final state; return how many.

    A progress bar is live feedback while a cell runs. Stored as a widget, a static render
    (GitHub, nbviewer) shows its *first* frame ("0%|"); as final text it shows where it ended.
    Other widgets (sliders, explorers) keep their view and saved state.
    """
    widgets = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    state = widgets.get("state", {})
    replaced = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            view = out.get("data", {}).get("application/vnd.jupyter.widget-view+json")
            text = _progress_text(view["model_id"], state) if view else None
            if text is not None:
                out["data"] = {"text/plain": text}
                replaced += 1
    return replaced


def _sanitizers(cfg: Path = REPO / "tests" / "nbval_sanitize.cfg") -> list[tuple[re.Pattern, str]]:
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    parser.read(cfg, encoding="utf-8")
    return [(re.compile(parser[name]["regex"]), parser[name]["replace"]) for name in parser.sections()]


def result_text(cell, sanitizers) -> str:
    """The text a code cell printed (stdout, results, errors), with run-dependent parts replaced.

    Figures, widgets and stderr (warnings) are left out: they are not result lines.
    """
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            parts.append(out.get("text", ""))
        elif out.get("output_type") in ("execute_result", "display_data"):
            data = out.get("data", {})
            if "application/vnd.jupyter.widget-view+json" in data or "image/png" in data:
                continue
            parts.append(data.get("text/plain", ""))
        elif out.get("output_type") == "error":
            parts.append(f"{out.get('ename')}: {out.get('evalue')}")
    text = "".join(parts)
    for pattern, replacement in sanitizers:
        text = pattern.sub(replacement, text)
    return text


def differing_cells(committed, executed) -> list[int]:
    """Indices of the code cells whose result lines differ between two copies of a notebook."""
    sanitizers = _sanitizers()
    return [i for i, (a, b) in enumerate(zip(committed.cells, executed.cells))
            if a.cell_type == "code" and result_text(a, sanitizers) != result_text(b, sanitizers)]


def run_notebook(path: Path, timeout: int, write_outputs: bool) -> dict:
    """Execute one notebook in a fresh kernel; return seconds, peak GB and any error."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    committed = nbformat.read(path, as_version=4)
    nb.metadata.pop("widgets", None)  # stale widget state would not match the new outputs' model ids
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    error, seconds, peak = None, 0.0, 0
    # What NotebookClient.execute() does, cell by cell, so the kernel's memory can be watched
    with client.setup_kernel():
        pid = client.km.provisioner.process.pid
        monitor = PeakMemory(pid)
        monitor.start()
        cpu_before = _cpu_seconds(pid)
        start = time.perf_counter()
        try:
            reply = client.wait_for_reply(client.kc.kernel_info())
            if reply is not None and "language_info" in reply["content"]:
                nb.metadata["language_info"] = reply["content"]["language_info"]
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
            client.set_widgets_metadata()  # so saved widgets render on GitHub/nbviewer
        except Exception as exc:  # noqa: BLE001 - report any failure, keep benchmarking the rest
            message = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip() or "(no message)"   # drop ANSI colours
            error = f"{type(exc).__name__}: {message.splitlines()[-1][:300]}"
        seconds = time.perf_counter() - start
        peak = monitor.stop()
        cpu = _cpu_seconds(pid) - cpu_before
    static_progress_bars(nb)
    if error is None:
        keep_verdicts(path.stem[:2])
    differ = differing_cells(committed, nb) if error is None else []
    if write_outputs and error is None:
        nbformat.write(nb, path)
    return {"notebook": path.stem, "seconds": seconds, "peak_gb": peak / 2**30, "error": error,
            "differ": differ, "cpu_seconds": cpu}


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (with its children): a load-independent cost."""
    import psutil

    try:
        proc = psutil.Process(pid)
        times = proc.cpu_times()
        return times.user + times.system + times.children_user + times.children_system
    except psutil.Error:
        return 0.0


def keep_verdicts(notebook: str, into: Path = VERDICTS) -> list[Path]:
    """Copy the verdict records a notebook just wrote (at this run's budget scale) into ``benchmarks/verdicts/``."""
    import shutil

    scale = float(os.environ.get("COURSE_BUDGET_SCALE", "").strip() or 1)
    source = Path(os.environ.get("COURSE_OUTPUT_DIR", REPO / "outputs")) / "verdicts"
    copied = []
    for found in sorted(source.glob(f"{notebook}@{scale:g}x.json")):
        into.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(found, into / found.name)
        copied.append(into / found.name)
    return copied


def table(results: list[dict], label: str = "whole course") -> str:
    lines = ["| notebook | minutes | peak memory (GB) | within budget | prints what is committed |",
             "|---|---:|---:|:---:|:---:|"]
    for r in results:
        ok = r["error"] is None and r["seconds"] / 60 <= MINUTES_BUDGET and r["peak_gb"] <= GB_BUDGET
        status = "✓" if ok else ("✗ failed" if r["error"] else "✗")
        differ = r.get("differ", [])
        same = "–" if r["error"] else ("✓" if not differ else f"✗ cells {', '.join(map(str, differ))}")
        lines.append(f"| `{r['notebook']}` | {r['seconds'] / 60:.2f} | {r['peak_gb']:.2f} | {status} "
                     f"| {same} |")
    total = sum(r["seconds"] for r in results) / 60
    all_same = not any(r.get("differ") or r["error"] for r in results)
    lines.append(f"| **{label}** | **{total:.1f}** | max {max(r['peak_gb'] for r in results):.2f} | "
                 f"{'✓' if total <= TOTAL_BUDGET and not any(r['error'] for r in results) else '✗'} "
                 f"| {'✓' if all_same else '✗'} |")
    return "\n".join(lines)


def machine() -> str:
    import torch
    import torchvision
    import transformers

    return (f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by `./run.sh bench`: each notebook in a "
            f"fresh kernel, one at a time; {os.cpu_count()} CPU cores, torch {torch.__version__} with "
            f"{torch.get_num_threads()} threads, torchvision {torchvision.__version__}, transformers "
            f"{transformers.__version__}, Python {platform.python_version()} on {platform.system()} "
            f"{platform.machine()}. Minutes exclude the kernel's start-up; peak memory is the "
            f"kernel's resident set. Budgets: ≤ {MINUTES_BUDGET:g} min and ≤ {GB_BUDGET:g} GB per notebook, "
            f"≤ {TOTAL_BUDGET:g} min in all.")


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["notebook"] for r in results][::-1]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 0.35 * len(names) + 1.5), sharey=True)
    ax1.barh(names, [r["seconds"] / 60 for r in results][::-1], color="C0")
    ax1.axvline(MINUTES_BUDGET, color="C3", ls="--", label=f"budget {MINUTES_BUDGET:g} min")
    ax1.set_xlabel("wall time (minutes)")
    ax1.set_title("Time per notebook (2 CPU cores)")
    ax1.legend()
    ax2.barh(names, [r["peak_gb"] for r in results][::-1], color="C1")
    ax2.axvline(GB_BUDGET, color="C3", ls="--", label=f"budget {GB_BUDGET:g} GB")
    ax2.set_xlabel("kernel peak memory (GB)")
    ax2.set_title("Peak memory per notebook")
    ax2.legend()
    total = sum(r["seconds"] for r in results) / 60
    fig.suptitle(f"Whole course: {total:.1f} min (budget {TOTAL_BUDGET:g} min), each notebook in a fresh kernel")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def update_readme(block: str, readme: Path = REPO / "README.md", start: str = START, end: str = END) -> bool:
    """Replace the text between the ``start`` and ``end`` marker lines of the README with ``block``."""
    text = readme.read_text()
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        return False
    readme.write_text(pattern.sub(lambda _: f"{start}\n{block}\n{end}", text))
    return True


def update_guides(results: list[dict], guide: Path = REPO / "INSTRUCTORS.md",
                  readme: Path = REPO / "README.md") -> None:
    """Write the measured minutes and peaks into INSTRUCTORS.md's notebook headings (marking the
    heaviest) and into the README's Binder note, so neither can drift from the table."""
    peaks = {r["notebook"]: r["peak_gb"] for r in results if r["error"] is None}
    if not peaks:
        return
    # the heaviest as the table prints them (GB to 2 decimals; a tie: the first in course order),
    # so a reader of the table, and the tests that read it, name the same notebook
    heaviest = max(peaks, key=lambda nb: round(peaks[nb], 2))
    text = guide.read_text(encoding="utf-8")
    for r in results:
        if r["error"] is None:
            mark = " (the heaviest)" if r["notebook"] == heaviest else ""
            text = re.sub(rf"^(### {r['notebook'][:2]} · [^\n]*?— )run [\d.]+ min, peak [\d.]+ GB"
                          r"( \(the heaviest\))?$",
                          lambda m: f"{m.group(1)}run {r['seconds'] / 60:.2f} min, peak "
                                    f"{r['peak_gb']:.2f} GB{mark}", text, flags=re.M)
    guide.write_text(text, encoding="utf-8")
    text = readme.read_text(encoding="utf-8")
    text = re.sub(r"run from [\d.]+ to [\d.]+ GB per(\s+)notebook; the heaviest is `\w+` at [\d.]+ GB",
                  lambda m: f"run from {min(peaks.values()):.2f} to {peaks[heaviest]:.2f} GB per"
                            f"{m.group(1)}notebook; the heaviest is `{heaviest}` at "
                            f"{peaks[heaviest]:.2f} GB", text)
    readme.write_text(text, encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    parser.add_argument("--write-outputs", action="store_true", help="save executed notebooks in place")
    parser.add_argument("--no-readme", action="store_true", help="do not update README.md")
    parser.add_argument("--keep-outputs", action="store_true",
                        help="let notebooks reuse what earlier runs left in outputs/ (cached "
                             "features, pretrained CNN, kept splits); by default they start from an "
                             "empty outputs folder, as on a fresh clone")
    args = parser.parse_args(argv)
    if not args.keep_outputs:  # one empty folder for the whole run, as a learner's first pass
        import tempfile

        os.environ["COURSE_OUTPUT_DIR"] = tempfile.mkdtemp(prefix="course-outputs-")
    paths = sorted(args.notebooks or (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    results = []
    for path in paths:
        print(f"running {path.name} ...", end=" ", flush=True)
        result = run_notebook(path.resolve(), args.timeout, args.write_outputs)
        results.append(result)
        print(f"{result['seconds']:.1f} s ({result['cpu_seconds']:.0f} CPU s), {result['peak_gb']:.2f} GB"
              + (f"  FAILED: {result['error']}" if result["error"] else "")
              + (f"  result lines differ from the committed ones in cells {result['differ']}"
                 if result["differ"] else ""))
    block = machine() + "\n\n" + table(results, "total of these" if args.notebooks else "whole course")
    if not args.notebooks:  # only a full run replaces the published table, plot and README section
        (HERE / "results.md").write_text(block + "\n")
        plot(results, HERE / "results.png")
        if not args.no_readme:
            update_readme(block + "\n\n![time and memory per notebook](benchmarks/results.png)")
            update_guides(results)
    print("\n" + block)
    failed = [r["notebook"] for r in results if r["error"]]
    if failed:
        print(f"\nFailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
