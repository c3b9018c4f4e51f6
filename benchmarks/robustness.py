"""Every verdict of notebooks 06–11 re-checked at four times the budget.

    .venv/bin/python benchmarks/robustness.py              # 06–11 at 4× (1× records from the last bench)
    .venv/bin/python benchmarks/robustness.py 06 --both    # one notebook, at 1× and at 4×
    .venv/bin/python benchmarks/robustness.py --tables     # no runs: the README tables from the kept records

Runs the notebooks in fresh kernels with ``COURSE_BUDGET_SCALE=4`` (every step cap and fixed epoch
count × 4; the notebooks themselves are not rewritten), copies the verdicts they record into
``benchmarks/verdicts/NN@4x.json`` beside the 1× records the notebook benchmark keeps there, and
writes ``benchmarks/robustness.json`` (what ``course_lib.verdicts.record`` reads back to check
each notebook's declaration) and, on a full run, the README table between the
``ROBUSTNESS`` markers: one row per printed verdict, at 1× and at 4×.
``--both`` first runs the named notebooks at 1× too (a helper for whoever changes a notebook).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

import run_notebooks  # noqa: E402

from course_lib import verdicts  # noqa: E402

START, END = "<!-- ROBUSTNESS:START -->", "<!-- ROBUSTNESS:END -->"
CLAIMS = ("<!-- CLAIMS:START -->", "<!-- CLAIMS:END -->")
SUMMARIES = ("<!-- SUMMARIES-ZH:START -->", "<!-- SUMMARIES-ZH:END -->")
NOTEBOOKS = ("06", "07", "08", "09", "10", "11")
SCALE = 4


def _paths(numbers) -> list[Path]:
    out = []
    for n in numbers:
        found = sorted((REPO / "notebooks").glob(f"{n}_*.ipynb"))
        if not found:
            raise SystemExit(f"No notebook numbered {n} in notebooks/.")
        out.extend(found)
    return out


def run_at(paths: list[Path], scale: float, timeout: int) -> list[dict]:
    """Execute ``paths`` at budget ``scale`` in a fresh outputs folder; keep their verdict records."""
    os.environ["COURSE_BUDGET_SCALE"] = f"{scale:g}"
    os.environ["COURSE_OUTPUT_DIR"] = tempfile.mkdtemp(prefix=f"course-outputs-{scale:g}x-")
    results = []
    try:
        for path in paths:
            print(f"running {path.name} at {scale:g}× the budget ...", end=" ", flush=True)
            result = run_notebooks.run_notebook(path.resolve(), timeout, write_outputs=False)
            results.append(result)
            print(f"{result['seconds'] / 60:.1f} min" + (f"  FAILED: {result['error']}" if result["error"] else ""))
    finally:
        os.environ.pop("COURSE_BUDGET_SCALE", None)
    return results


def build(when: str, numbers=None, keep_date: bool = False) -> list[verdicts.RobustnessRow]:
    """Rows from the kept records; merges into ``robustness.json`` (all rows when ``numbers`` is None).

    Each verdict keeps the date of the run at 4× that checked it (what its notebook prints as the
    bench's date): ``when`` for the notebooks run now (``numbers``), its earlier date for the
    others; ``keep_date`` (``--tables``, which runs nothing) keeps every earlier date."""
    ones = verdicts.load(run_notebooks.VERDICTS, 1.0)
    fours = verdicts.load(run_notebooks.VERDICTS, float(SCALE))
    ones = {nb: recs for nb, recs in ones.items() if nb in NOTEBOOKS}
    rows = verdicts.robustness_rows(ones, fours)
    path = HERE / "robustness.json"
    table = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    earlier = {k: v.get("date", table.get("date", when)) for k, v in table.get("verdicts", {}).items()}
    fresh = verdicts.robustness_json([r for r in rows if numbers is None or r.notebook in numbers], when)
    merged = {k: v for k, v in table.get("verdicts", {}).items()
              if numbers is not None and k.split("/")[0] not in numbers}
    merged.update(fresh["verdicts"])
    for key, entry in merged.items():
        if key in earlier and (keep_date or key not in fresh["verdicts"]):
            entry["date"] = earlier[key]
    if keep_date:
        when = table.get("date", when)
    path.write_text(json.dumps({"date": when, "verdicts": dict(sorted(merged.items()))}, ensure_ascii=False,
                               indent=1) + "\n", encoding="utf-8")
    return rows


def write_claims(when: str, source: str = verdicts.BENCH) -> None:
    """The README's claims table and its collected 中文小结, from every notebook's kept records."""
    ones = verdicts.load(run_notebooks.VERDICTS, 1.0)
    fours = verdicts.load(run_notebooks.VERDICTS, float(SCALE))
    run_notebooks.update_readme(verdicts.claims_markdown(verdicts.claim_rows(ones, fours), when, source),
                                start=CLAIMS[0], end=CLAIMS[1])
    run_notebooks.update_readme(verdicts.summaries_markdown(ones), start=SUMMARIES[0], end=SUMMARIES[1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help=f"two-digit numbers (default: {' '.join(NOTEBOOKS)})")
    parser.add_argument("--both", action="store_true", help="run the notebooks at 1× first, then at 4×")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds allowed per cell")
    parser.add_argument("--tables", action="store_true",
                        help="run nothing: write robustness.json and the README tables from the records "
                             "already kept in benchmarks/verdicts/ (after notebooks were re-run one by one)")
    args = parser.parse_args(argv)
    if args.tables:
        if args.notebooks or args.both:
            parser.error("--tables runs nothing; give it no notebook numbers and no --both")
        when = f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"
        rows = build(when, keep_date=True)
        run_notebooks.update_readme(verdicts.robustness_markdown(rows, when, verdicts.TABLES), start=START,
                                    end=END)
        write_claims(when, verdicts.TABLES)
        wrong = [f"{r.notebook}/{r.key}" for r in rows if not r.consistent]
        print(f"{len(rows)} verdicts; declared budget_dependent wrong for: {', '.join(wrong) or 'none'}")
        return 1 if wrong else 0
    numbers = tuple(args.notebooks) or NOTEBOOKS
    paths = _paths(numbers)
    failed = []
    if args.both:
        failed += [r["notebook"] for r in run_at(paths, 1.0, args.timeout) if r["error"]]
    failed += [r["notebook"] for r in run_at(paths, float(SCALE), args.timeout) if r["error"]]
    when = f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"
    rows = build(when, None if not args.notebooks else numbers)
    block = verdicts.robustness_markdown(rows, when)
    if not args.notebooks:
        run_notebooks.update_readme(block, start=START, end=END)
        write_claims(when)
    print("\n" + block)
    wrong = [f"{r.notebook}/{r.key}" for r in rows if not r.consistent]
    if wrong:
        print("\nDeclared budget_dependent does not match the 4× run: " + ", ".join(wrong)
              + "\nFix the declaration in the notebook and the prose that depends on it.", file=sys.stderr)
    if failed:
        print(f"\nFailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed or wrong else 0


if __name__ == "__main__":
    sys.exit(main())
