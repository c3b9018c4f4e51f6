"""data_scripts: offline, every fetch script fails fast and clearly and writes nothing; the
demo-folder builder is deterministic."""
import hashlib
import os
import subprocess
import sys

import pytest


BLOCKED_URL = "http://203.0.113.1/"   # TEST-NET-3, and the network is blocked anyway
FETCH_SCRIPTS = {                      # script -> its arguments; {dest} is where files would land
    "fetch_hymenoptera.py": ["--dest", "{dest}", "--url", BLOCKED_URL + "hymenoptera_data.zip"],
    "fetch_sst2.py": ["--dest", "{dest}", "--url", BLOCKED_URL + "SST-2.zip"],
    "fetch_resnet18_weights.py": ["--url", BLOCKED_URL + "resnet18-f37072fd.pth"],  # into $TORCH_HOME
}
HELP_MENTIONS = {"fetch_hymenoptera.py": "--dest", "fetch_sst2.py": "--dest",
                 "fetch_resnet18_weights.py": "torch cache"}


def _run(repo_dir, script, *args, env=None):
    # The timeout only stops a hang; a script that fails fast takes a second or two.
    return subprocess.run([sys.executable, str(repo_dir / "data_scripts" / script), *args],
                          capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("script", sorted(FETCH_SCRIPTS))
def test_fetch_script_offline_fails_with_a_clear_message_and_writes_nothing(script, repo_dir, tmp_path):
    dest = tmp_path / "dest"
    env = {**os.environ, "TORCH_HOME": str(dest), "COURSE_BLOCK_NETWORK": "1"}
    args = [a.format(dest=dest) for a in FETCH_SCRIPTS[script]]
    proc = _run(repo_dir, script, *args, "--timeout", "3", env=env)
    assert proc.returncode == 2
    assert "offline" in proc.stderr and "Nothing was changed" in proc.stderr
    assert [p for p in dest.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("script", sorted(HELP_MENTIONS))
def test_fetch_script_help_explains_it(script, repo_dir):
    proc = _run(repo_dir, script, "--help")
    assert proc.returncode == 0
    assert "--url" in proc.stdout and HELP_MENTIONS[script] in proc.stdout


def test_demo_folder_is_deterministic_and_valid(tmp_path, repo_dir, monkeypatch):
    monkeypatch.syspath_prepend(str(repo_dir / "data_scripts"))
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
    assert scan.classes == ["eight", "five", "nine", "three"] and scan.count() == 200
    assert scan.problems == [] and build_demo_folder.is_built(a)
    with Image.open(a / "three" / "three_000.jpg") as raw:      # stored sideways, with EXIF
        assert raw.size == (133, 100) and raw.getexif()[0x0112] == 6
    assert read_photo(a / "three" / "three_000.jpg").size == (100, 133)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]      # no half-built folder left
