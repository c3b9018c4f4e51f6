"""data_scripts: offline they fail fast and clearly; the demo-folder builder is deterministic."""
import hashlib
import subprocess
import sys
import time
from pathlib import Path

from course_lib.data import load_image_folder

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "data_scripts"))


def test_hymenoptera_fetch_fails_fast_offline(tmp_path):
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, str(REPO / "data_scripts" / "fetch_hymenoptera.py"),
                           "--dest", str(tmp_path), "--url", "http://203.0.113.1/hymenoptera_data.zip",
                           "--timeout", "3"], capture_output=True, text=True, timeout=60)
    assert time.perf_counter() - start < 30
    assert proc.returncode == 2 and "offline" in proc.stderr and "Nothing was changed" in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_demo_folder_is_deterministic_and_valid(tmp_path):
    import build_demo_folder

    def digest(folder):
        return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(folder.rglob("*.png"))}

    a = build_demo_folder.build(tmp_path / "a", per_class=4, test_per_class=2)
    b = build_demo_folder.build(tmp_path / "b", per_class=4, test_per_class=2)
    assert digest(a) == digest(b) and len(digest(a)) == 3 * 6
    train = load_image_folder(a / "train", image_size=32)
    assert train.classes == ["brick", "grass", "gravel"] and len(train) == 12
    assert train.images.shape[1:] == (3, 32, 32)
