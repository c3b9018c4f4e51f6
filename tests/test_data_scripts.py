"""data_scripts: offline they fail fast and clearly; the demo-folder builder is deterministic."""
import hashlib
import subprocess
import sys
import time
from pathlib import Path


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
    from PIL import Image

    from course_lib.photos import read_photo, scan_folder

    def digest(folder):
        return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(folder.rglob("*.jpg"))}

    a = build_demo_folder.build(tmp_path / "a", large=False)
    b = build_demo_folder.build(tmp_path / "b", large=False)
    assert digest(a) == digest(b) and len(digest(a)) == 200
    assert len(set(digest(a).values())) == 200                    # 200 different photos
    scan = scan_folder(a)
    assert scan.classes == ["face", "not_face"] and scan.count() == 200 and scan.problems == []
    with Image.open(a / "face" / "face_000.jpg") as raw:        # stored sideways, with EXIF
        assert raw.size == (133, 100) and raw.getexif()[0x0112] == 6
    assert read_photo(a / "face" / "face_000.jpg").size == (100, 133)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]      # no half-built folder left
