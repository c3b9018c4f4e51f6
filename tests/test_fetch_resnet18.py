"""data_scripts/fetch_resnet18_weights.py: offline, it fails fast with a clear message."""
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_offline_fetch_fails_fast_and_clearly(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "TORCH_HOME": str(tmp_path / "torch"), "COURSE_BLOCK_NETWORK": "1",
           "PYTHONPATH": str(REPO / "tests" / "_netblock"), "HOME": str(tmp_path)}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, str(REPO / "data_scripts" / "fetch_resnet18_weights.py"),
                           "--url", "http://203.0.113.1/resnet18-f37072fd.pth", "--timeout", "3"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert time.perf_counter() - start < 30
    assert proc.returncode == 2
    assert "offline" in proc.stderr and "Nothing was changed" in proc.stderr
    assert not any((tmp_path / "torch").rglob("*.pth")) and not any((tmp_path / "torch").rglob("*.part"))


def test_help_explains_the_script():
    proc = subprocess.run([sys.executable, str(REPO / "data_scripts" / "fetch_resnet18_weights.py"), "--help"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "torch cache" in proc.stdout
