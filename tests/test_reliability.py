"""The course's promises, tested: offline, reproducible, and safe to "restart and run all" twice."""
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
VARIES = re.compile(r"\d+(\.\d+)? ?(s|ms)\b|\d+%\|.*|0x[0-9a-f]+|/tmp/\S+")


def _execute(name: str) -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    return nb


def _text_outputs(nb) -> list[str]:
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if o.get("output_type") == "stream" and o.get("name") == "stdout":
                out.append(VARIES.sub("<varies>", o["text"]))
            elif "text/plain" in o.get("data", {}):
                out.append(VARIES.sub("<varies>", o["data"]["text/plain"]))
    return out


def test_network_is_really_blocked_in_tests():
    """Proves the offline claim means something: outbound connections fail at once, loopback works."""
    start = time.perf_counter()
    with pytest.raises(OSError, match="blocked by the course's offline test"):
        socket.create_connection(("203.0.113.1", 80), timeout=5)
    with pytest.raises(OSError, match="blocked by the course's offline test"):
        urllib.request.urlopen("https://pypi.org/simple/", timeout=5)
    assert time.perf_counter() - start < 1.0
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    socket.create_connection(server.getsockname(), timeout=5).close()   # loopback stays open
    server.close()


def test_block_also_applies_to_child_processes_like_notebook_kernels():
    code = "import urllib.request\ntry:\n urllib.request.urlopen('https://pypi.org', timeout=5)\nexcept OSError as e:\n print(e)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=dict(os.environ))
    assert "blocked by the course's offline test" in proc.stdout


def test_same_seed_gives_identical_notebook_outputs():
    first, second = _text_outputs(_execute("02_objective_functions.ipynb")), _text_outputs(_execute("02_objective_functions.ipynb"))
    assert first and first == second


def test_restart_and_run_all_twice_in_a_row(tmp_path, monkeypatch):
    """Files a notebook leaves behind (demo folder, cached features) must not break its next run."""
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path))
    for _ in range(2):
        nb = _execute("10_your_own_data.ipynb")
        errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert errors == []
    assert (tmp_path / "demo_photos" / "train").is_dir()   # the notebook wrote where it was told to
