"""benchmarks/own_photos.py: its report reads the targets on the median of repeated runs."""
import importlib.util
import json
import re

from conftest import REPO_DIR

_spec = importlib.util.spec_from_file_location("own_photos", REPO_DIR / "benchmarks" / "own_photos.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

STEPS = ("[1/6] check", "[2/6] split", "[3/6] features", "[4/6] head", "[5/6] test", "[6/6] export")


def _run(photos: int, seconds: float, peak: float, network: float = 60.0) -> dict:
    """A first run as the benchmark's child process reports it (the network alone at ``network`` photos / s)."""
    features = seconds * 0.95
    return {"photos": photos, "seconds": seconds, "process_seconds": seconds + 2,
            "steps": dict(zip(STEPS, (0.1, 0.0, features, seconds - features - 0.1, 0.0, 0.0))),
            "features_line": f"[3/6] features: efficientnet_lite0 at 224 px: {photos} computed, 0 from the cache",
            "test": {"accuracy": 0.9, "correct": 9, "total": 10, "interval95": [0.6, 0.98]},
            "main_hwm_mb": peak - 10, "tree_mb": peak, "worker_hwm_mb": 430.0, "workers": 1,
            "cpu_workers": photos * 0.004, "load_start": [1.0, 1.0, 1.0], "load_end": [1.5, 1.0, 1.0],
            "forward_before": {"lanes": [network, 31.0], "cores": [network, 32.0]},
            "forward_after": {"lanes": [network, 31.0], "cores": [network, 32.0]},
            "configs": {"lanes": [2, 4, 1], "cores": [1, 8, 2]}}


def _second(photos: int, seconds: float) -> dict:
    return {**_run(photos, seconds, 700.0), "features_line": f"[3/6] features: x: {photos // 100} computed, "
                                                             f"{photos - photos // 100} from the cache"}


def _kept(scale) -> dict:
    demo = _run(200, 4.0, 600.0)
    return {"demo": demo, "scale": scale, "decision": None,
            "second": {"1000": [_second(1010, 1.5), _second(1010, 1.2), _second(1010, 3.0)],
                       "4000": [_second(4040, 9.0), _second(4040, 6.0), _second(4040, 5.0)]}}


def test_the_targets_are_read_on_the_median_run_and_every_run_is_listed():
    scale = {1000: [_run(1000, 20.0, 760.0), _run(1000, 18.0, 800.0), _run(1000, 25.0, 900.0)],
             4000: [_run(4000, 80.0, 880.0), _run(4000, 100.0, 930.0), _run(4000, 78.0, 860.0)]}
    kept = _kept(scale)
    text = bench.report(kept["demo"], scale, {int(n): r for n, r in kept["second"].items()}, 224, 0.01)
    rows = [line for line in text.splitlines() if re.match(r"\| [14],000 \| [123] \|", line)]
    assert [row.split(" | ")[:2] for row in rows] == [["| 1,000", "1"], ["| 4,000", "1"], ["| 1,000", "2"],
                                                       ["| 4,000", "2"], ["| 1,000", "3"], ["| 4,000", "3"]]
    # peak memory: median 880 against median 800 (not 930 against 760, the worst pairing)
    assert "**1.10×**" in text and "(760–900)" in text and "at most 930 MB" in text
    # whole command ÷ the network alone (60 photos / s): median of 50, 40, 51.3 photos / s at 4,000
    assert "4,000 photos, whole command ÷ the network as the command runs it: **0.83** (0.67–0.85" in text
    assert "Each size ran 3 times" in text and "gave 60.0 to 60.0 photos / s over this benchmark (0 % apart)" in text
    # the median second run (1.5 s and 6.0 s) against the median first run (20 s and 80 s)
    assert "the second run, median 1.5 s (1.2–3.0), against the first run's median 20.0 s: **0.075**" in text
    assert "the second run, median 6.0 s (5.0–9.0), against the first run's median 80.0 s: **0.075**" in text
    assert "| 4,000 → 4,040 | 1 | 9.0 | 0.113 |" in text   # each second run is listed
    assert "Where the time went in the median run at 4,000 photos: check 0.1 s, split 0.0 s, features 76.0 s" in text


def test_measurements_kept_by_an_earlier_version_still_give_a_report(tmp_path):
    """``--report-from`` on a file written before repeats (one run per size, not a list)."""
    raw = tmp_path / "raw.json"
    kept = _kept({"1000": _run(1000, 20.0, 800.0), "4000": _run(4000, 80.0, 900.0)})
    kept["second"] = {n: runs[0] for n, runs in kept["second"].items()}
    raw.write_text(json.dumps(kept))
    out = tmp_path / "report.md"
    assert bench.main(["--report-from", str(raw), "--no-readme", "--output", str(out)]) == 0
    text = out.read_text()
    assert "Each size ran once" in text and "**1.12×**" in text and "**0.113**" in text
    # the time the runs were measured, not the time the report is rewritten
    kept["measured"] = "2026-01-02T03:04:00+00:00"
    raw.write_text(json.dumps(kept))
    bench.main(["--report-from", str(raw), "--no-readme", "--output", str(out)])
    assert "Measured 2026-01-02 03:04 UTC" in out.read_text()


def test_the_readme_states_the_targets_the_benchmark_reads():
    text = " ".join((REPO_DIR / "README.md").read_text(encoding="utf-8").split())
    intro = text[text.index("Notebook 10's recipe on a folder, regenerated"):text.index("<!-- OWN-PHOTOS:START -->")]
    assert f"≤ {bench.GROWTH_LIMIT:.2f}×" in intro
    assert f"≤ {bench.MEMORY_LIMIT_MB / 1000:.1f} GB" in intro
    assert f"≥ {bench.SPEED_TARGET:.2f} of the network's speed alone" in intro
    assert f"≤ {bench.SECOND_RUN_LIMIT:.2f} of the first" in intro
    assert f"within {bench.DECISION_LIMIT_S // 60} minutes" in intro
    assert f"Each size runs {bench.REPEATS} times" in intro
    listing = (REPO_DIR / "benchmarks" / "README.md").read_text(encoding="utf-8")
    assert f"{bench.REPEATS} runs of each size" in " ".join(listing.split())
