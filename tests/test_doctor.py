"""course.py in the room: the pre-flight check, help that never acts, an install that stays installed.

The verdicts are pure functions, tested here for faked Pythons and systems; the same checks
also run for real under every Python interpreter this machine has (3.9 to 3.13 where present),
in a temporary copy of the launcher, with the network blocked (tests/conftest.py).
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO_DIR as REPO  # the repository path lives in conftest.py
from conftest import load_course
course = load_course()
kit = course._load_kit_tool(REPO)
COMMANDS = ("doctor", "setup", "lab", "fresh", "test", "bench", "wheelhouse")
WHEELS = json.loads((REPO / "constraints" / "wheels.json").read_text())


# --------------------------------------------------------------------------- verdicts, faked

# (version, with a kit, expected level): the issue's five Pythons, and 3.10.
PYTHONS = [
    ((3, 9, 18), False, "problem"), ((3, 9, 18), True, "problem"),
    ((3, 10, 13), False, "note"), ((3, 10, 13), True, "problem"),
    ((3, 11, 2), False, "note"), ((3, 11, 2), True, "problem"),     # Debian 12's python3
    ((3, 11, 5), True, "ok"), ((3, 11, 7), False, "ok"), ((3, 11, 7), True, "ok"),
    ((3, 12, 1), False, "note"), ((3, 12, 1), True, "problem"),
    ((3, 13, 0), False, "note"), ((3, 13, 0), True, "problem"),
]


def expected_level(version: tuple[int, ...], with_kit: bool) -> str:
    """The verdict the guide promises, written independently of course.py."""
    if version[:2] < (3, 10):
        return "problem"
    if version[:2] == (3, 11) and version[2] >= 5:
        return "ok"
    return "problem" if with_kit else "note"


@pytest.mark.parametrize("version, with_kit, level", PYTHONS)
def test_python_verdicts(version, with_kit, level):
    assert expected_level(version, with_kit) == level
    finding = course.python_finding("cpython", version, "/usr/bin/python3", with_kit)
    assert finding.level == level
    assert ".".join(map(str, version)) in finding.text
    if level != "ok":
        assert "3.11.5" in finding.text and "PYTHON=python3.11 ./run.sh lab" in finding.fix
        assert "py -3.11 course.py lab" in finding.fix                   # the Windows spelling
    if version == (3, 11, 2):
        assert "soupsieve" in finding.text and "Debian 12" in finding.text
    if version < (3, 10):
        assert "too old" in finding.text


def _kit_listing(key: str) -> list[str]:
    return sorted(WHEELS[key].values())


@pytest.mark.parametrize("version, with_kit, level", [p for p in PYTHONS if p[1]])
def test_kit_verdicts_follow_the_python(version, with_kit, level):
    finding = course.kit_finding("/kit", "/kit/linux-x86_64", _kit_listing("linux-x86_64"), None,
                                 "cpython", version)
    assert finding.level == ("ok" if level == "ok" else "problem")
    if level != "ok":
        assert "3.11.5" in finding.text and ".".join(map(str, version)) in finding.text


def test_kit_verdicts_name_the_cause_and_the_fix():
    missing = course.kit_finding("/usb/kit", "/usb/kit/linux-x86_64", None, "no such folder",
                                 "cpython", (3, 11, 7))
    assert missing.level == "problem" and "no such folder" in missing.text
    assert "linux-x86_64/, macos-arm64/, windows-x86_64/" in missing.fix
    served = course.kit_finding("http://10.0.0.2:8000", "http://10.0.0.2:8000/linux-x86_64/",
                                None, "timed out", "cpython", (3, 11, 7))
    assert "timed out" in served.text
    assert all(word in served.fix for word in ("http.server", "firewall", "isolate", "USB"))
    incomplete = course.kit_finding("/k", "/k/linux-x86_64", ["numpy-2.4.6-cp311-cp311-x.whl"],
                                    None, "cpython", (3, 11, 7))
    assert incomplete.level == "problem" and "--checksums" in incomplete.fix


def test_the_kit_or_its_platform_folder_both_work(tmp_path):
    folder = tmp_path / "kit" / "linux-x86_64"
    folder.mkdir(parents=True)
    assert course.wheelhouse_folder(str(tmp_path / "kit"), "linux-x86_64") == str(folder)
    assert course.wheelhouse_folder(str(folder), "linux-x86_64") == str(folder)


@pytest.mark.parametrize("sys_platform, machine, macos, level, words", [
    ("darwin", "x86_64", (13, 6), "problem", ("Intel Mac", "2.2.2", "Binder")),
    ("darwin", "arm64", (13, 6), "problem", ("macOS 13.6", "macOS 14",)),
    ("darwin", "arm64", (14, 5), "ok", ("macos-arm64",)),
    ("linux", "aarch64", None, "note", ("no pins", "newest compatible")),
    ("win32", "ARM64", None, "note", ("no pins",)),
    ("linux", "x86_64", None, "ok", ("linux-x86_64",)),
    ("win32", "AMD64", None, "ok", ("windows-x86_64",)),
])
def test_platform_verdicts(sys_platform, machine, macos, level, words):
    finding = course.platform_finding(sys_platform, machine, macos)
    assert finding.level == level
    assert all(word in finding.text + finding.fix for word in words)


def test_venv_verdicts_say_which_python_and_what_setup_does():
    kept = course.venv_finding((3, 11, 7), "/a/python3.11", (3, 12, 1), "/b/python3.12", None, False)
    assert kept.level == "note" and "keeps using" in kept.text and "3.11.7" in kept.text
    rebuilt = course.venv_finding((3, 11, 2), "/usr/bin/python3.11", (3, 11, 7), "/p/python3.11",
                                  "python3.11", True)
    assert rebuilt.level == "note" and "deletes" in rebuilt.text and "builds it again" in rebuilt.text
    stuck = course.venv_finding((3, 11, 2), "/usr/bin/python3.11", (3, 11, 2), "/usr/bin/python3.11",
                                None, True)
    assert stuck.level == "problem" and "delete the .venv folder" in stuck.fix
    fine = course.venv_finding((3, 11, 7), "/p", (3, 11, 7), "/p", None, True)
    assert fine.level == "ok"


def test_disk_and_memory_needs_come_from_measurements():
    peaks = course.measured_peaks((REPO / "benchmarks" / "results.md").read_text(encoding="utf-8"))
    assert len(peaks) >= 12 and all(0.3 < gb < 2.0 for gb in peaks.values())
    heaviest = max(peaks, key=peaks.get)
    need = peaks[heaviest] + course.JUPYTERLAB_SERVER_GB
    assert course.memory_finding(int(need * 1e9) - 1, None, need, heaviest).level == "problem"
    assert course.memory_finding(8 * 10**9, int(need * 1e9) - 1, need, heaviest).level == "note"
    linux = course.INSTALL_GIB["linux-x86_64"]
    assert course.disk_finding(int((linux - 0.1) * 2**30), "linux-x86_64", True).level == "problem"
    assert course.disk_finding(int((linux + 0.1) * 2**30), "linux-x86_64", False).level == "problem"


def test_the_measured_install_size_covers_this_machines_venv():
    """INSTALL_GIB for Linux is at least what the installed .venv/ measures here."""
    venv = REPO / ".venv"
    if course.platform_key(sys.platform, __import__("platform").machine()) != "linux-x86_64" \
            or not (venv / "pyvenv.cfg").is_file():
        pytest.skip("needs the Linux .venv")
    size = 0
    for root, _, files in os.walk(venv.resolve()):
        size += sum(os.lstat(os.path.join(root, name)).st_size for name in files)
    assert size / 2**30 <= course.INSTALL_GIB["linux-x86_64"], size / 2**30


def test_windows_path_limit_matches_the_measured_longest_install_path():
    limit = course.WINDOWS_MAX_PATH - 1 - course.WINDOWS_LONGEST_INSTALLED
    assert course.path_finding("C:/" + "x" * (limit - 3), None).level == "ok"
    too_long = course.path_finding("C:/" + "x" * (limit - 2), None)
    assert too_long.level == "problem" and "C:\\course" in too_long.fix
    assert "no admin" in too_long.fix
    guide = (REPO / "INSTRUCTORS.md").read_text(encoding="utf-8")
    assert f"{limit} characters" in guide


def test_the_index_check_never_hangs():
    error, _ = course.probe("http://10.255.255.1:9/", timeout=0.5)   # blocked or unroutable
    assert error is not None
    finding = course.network_finding("package index", course.INDEX_URL, error, needed=True)
    assert finding.level == "problem" and "COURSE_WHEELHOUSE=KIT" in finding.fix


# --------------------------------------------------------------------------- real interpreters

def _interpreters() -> dict[tuple[int, ...], str]:
    """Every Python 3.9+ found on this machine: {version: path}."""
    candidates = [sys.executable, "/usr/bin/python3", "/usr/bin/python3.11"]
    candidates += [shutil.which(f"python3.{minor}") or "" for minor in range(9, 15)]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates += [str(p) for p in sorted(pyenv.glob("3.*/bin/python3"))]
    found: dict[tuple[int, ...], str] = {}
    for path in candidates:
        if not path or not Path(path).exists():
            continue
        try:
            out = subprocess.run([path, "-c", "import sys; print(*sys.version_info[:3])"],
                                 capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            continue
        if out.returncode == 0 and out.stdout.split():
            version = tuple(int(v) for v in out.stdout.split())
            if version >= (3, 9):
                found.setdefault(version, path)
    return found


INTERPRETERS = _interpreters()


def _launcher_copy(tmp_path: Path) -> Path:
    """A temporary copy of what the launcher reads: course.py, run.sh, constraints/, pyproject."""
    copy = tmp_path / "course"
    (copy / "constraints").mkdir(parents=True)
    (copy / "benchmarks").mkdir()
    for name in ("course.py", "run.sh", "pyproject.toml", "benchmarks/results.md"):
        shutil.copy2(REPO / name, copy / name)
    for path in (REPO / "constraints").glob("*.*"):
        if path.suffix in (".txt", ".py", ".json", ".md"):
            shutil.copy2(path, copy / "constraints" / path.name)
    return copy


def _fake_kit(tmp_path: Path) -> Path:
    """A kit folder with the recorded Linux wheel names (empty files)."""
    folder = tmp_path / "kit" / "linux-x86_64"
    folder.mkdir(parents=True)
    for name in _kit_listing("linux-x86_64"):
        (folder / name).write_bytes(b"")
    return folder.parent


def _clean_env() -> dict[str, str]:
    """This environment without the launcher's settings (and with bytecode writing on)."""
    return {k: v for k, v in os.environ.items()
            if k not in ("PYTHON", "COURSE_WHEELHOUSE", "COURSE_CONSTRAINTS", "PYTHONDONTWRITEBYTECODE")}


def _verdicts(output: str) -> dict[str, str]:
    return {m.group(2): m.group(1).lower() for m in re.finditer(r"^(ok|note|PROBLEM)\s+(\S+):", output, re.M)}


@pytest.mark.skipif(sys.platform != "linux", reason="the fake kit holds Linux wheels")
@pytest.mark.parametrize("version", sorted(INTERPRETERS), ids=lambda v: ".".join(map(str, v)))
def test_doctor_gives_each_real_python_its_verdict(version, tmp_path):
    python, copy, kit_dir = INTERPRETERS[version], _launcher_copy(tmp_path), _fake_kit(tmp_path)
    for with_kit in (False, True):
        args = [python, "course.py", "doctor", "--offline"] + (["--wheelhouse", str(kit_dir)] if with_kit else [])
        result = subprocess.run(args, cwd=copy, capture_output=True, text=True, env=_clean_env(), timeout=120)
        verdicts = _verdicts(result.stdout)
        level = expected_level(version, with_kit)
        assert verdicts["python"] == level, result.stdout + result.stderr
        if with_kit:
            assert verdicts["kit"] == ("ok" if level == "ok" else "problem"), result.stdout
        assert verdicts[".venv"] == "ok" and "does not exist yet" in result.stdout
        assert result.returncode == (1 if "problem" in verdicts.values() else 0), result.stdout
    assert sorted(p.name for p in copy.iterdir()) == ["benchmarks", "constraints", "course.py",
                                                      "pyproject.toml", "run.sh"]


def test_the_issues_pythons_are_covered_here():
    """Where the machine has them, 3.9, 3.11.2, 3.11.7, 3.12 and 3.13 ran above for real."""
    minors = {v[:2] for v in INTERPRETERS}
    assert (3, 11) in minors                                   # at least the one running this
    print("real interpreters:", sorted(".".join(map(str, v)) for v in INTERPRETERS))


@pytest.mark.skipif(sys.platform != "linux", reason="the fake kit holds Linux wheels")
def test_setup_refuses_a_mismatched_python_before_creating_anything(tmp_path):
    wrong = [v for v in INTERPRETERS if expected_level(v, True) == "problem"]
    if not wrong:
        pytest.skip("no Python other than 3.11.5+ here")
    copy, kit_dir = _launcher_copy(tmp_path), _fake_kit(tmp_path)
    for version in wrong:
        result = subprocess.run([INTERPRETERS[version], "course.py", "setup", "--wheelhouse",
                                 str(kit_dir)], cwd=copy, capture_output=True, text=True,
                                env=_clean_env(), timeout=120)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "PROBLEM  python:" in result.stderr and "fix: install CPython 3.11" in result.stderr
        assert not (copy / ".venv").exists()


# --------------------------------------------------------------------------- help never acts

def _snapshot(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("args", [[], ["--help"]] + [[c, "--help"] for c in COMMANDS] + [["lab", "-h"]])
def test_help_describes_and_does_nothing(args, tmp_path):
    """Every --help, run in an empty copy of the launcher, prints and creates nothing."""
    copy = tmp_path / "empty"
    (copy / "constraints").mkdir(parents=True)
    shutil.copy2(REPO / "course.py", copy)
    shutil.copy2(REPO / "run.sh", copy)
    shutil.copy2(REPO / "constraints" / "kit.py", copy / "constraints")
    before = _snapshot(copy)
    result = subprocess.run([sys.executable, "course.py", *args], cwd=copy, capture_output=True,
                            text=True, env=_clean_env(), timeout=60)
    assert _snapshot(copy) == before
    if not args:
        assert result.returncode == 2 and "doctor" in result.stderr
        return
    assert result.returncode == 0, result.stderr
    out = result.stdout
    if len(args) == 1:
        assert all(command in out for command in COMMANDS)
        return
    expected = {"doctor": ["--wheelhouse KIT", "--offline", "--checksums", "3.11.5"],
                "setup": ["--wheelhouse KIT", "Opens nothing"],
                "lab": ["--originals", "--wheelhouse KIT", "JupyterLab", "--no-browser"],
                "fresh": ["NN", "all", ".mine-"],
                "test": ["--wheelhouse KIT", "pytest"],
                "bench": ["--wheelhouse KIT", "README", "run_notebooks.py"],
                "wheelhouse": ["DIR", "--platform NAME", "linux-x86_64", "--record",
                               "course.zip", "SHA256SUMS"]}[args[0]]
    flat = " ".join(out.split())
    assert all(word in flat for word in expected), (args, out)


@pytest.mark.skipif(shutil.which("bash") is None, reason="run.sh needs bash")
def test_run_sh_help_does_nothing_either(tmp_path):
    copy = tmp_path / "empty"
    (copy / "constraints").mkdir(parents=True)
    for name in ("course.py", "run.sh", "constraints/kit.py"):
        shutil.copy2(REPO / name, copy / name)
    before = _snapshot(copy)
    env = _clean_env() | {"PYTHON": sys.executable}
    for command in COMMANDS:
        result = subprocess.run(["bash", "run.sh", command, "--help"], cwd=copy,
                                capture_output=True, text=True, env=env, timeout=60)
        assert result.returncode == 0 and "usage: course.py " + command in result.stdout
    assert _snapshot(copy) == before


# --------------------------------------------------------------------------- installed stays installed

class FakePip:
    """Records pip commands instead of running them; everything else runs for real."""

    def __init__(self, run, returncode: int = 0):
        self.run, self.returncode, self.calls = run, returncode, []

    def __call__(self, cmd, *args, **kwargs):
        if len(cmd) > 2 and cmd[1:3] == ["-m", "pip"]:
            self.calls.append(cmd)
            return subprocess.CompletedProcess(cmd, self.returncode)
        return self.run(cmd, *args, **kwargs)


def _fake_venv(venv: Path, version: str) -> None:
    """A venv whose python is this interpreter, recorded as made with ``version``."""
    base = Path(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))
    python = course.venv_python(venv, sys.platform)
    python.parent.mkdir(parents=True)
    python.symlink_to(base)
    (venv / "pyvenv.cfg").write_text(f"home = {base.parent}\nversion = {version}\n")
    (venv / "marker").write_text("the old venv")


@pytest.fixture
def pinned_here():
    if course.platform_key(sys.platform, __import__("platform").machine()) is None \
            or not course.pins_apply(sys.implementation.name, sys.version_info) \
            or os.name != "posix":
        pytest.skip("needs a pinned platform and Python")


def test_a_kit_install_stays_installed_when_the_kit_is_gone(tmp_path, monkeypatch, pinned_here, capsys):
    venv, kit_dir = tmp_path / "venv", _fake_kit(tmp_path)
    _fake_venv(venv, course.version_text(sys.version_info))
    pip = FakePip(subprocess.run)
    monkeypatch.setattr(course.subprocess, "run", pip)
    course.setup(REPO, venv, {"COURSE_WHEELHOUSE": str(kit_dir)})
    assert len(pip.calls) == 1 and "--no-index" in pip.calls[0]
    stamp = json.loads((venv / course.STAMP_NAME).read_text())
    assert stamp["from"].endswith("linux-x86_64") and stamp["python"].startswith("cpython 3.11")
    shutil.rmtree(kit_dir)                      # the USB stick went home with the instructor
    for env in ({}, {"COURSE_WHEELHOUSE": str(kit_dir)}, {"COURSE_WHEELHOUSE": "http://10.0.0.9:8000"}):
        course.setup(REPO, venv, env)           # plain ./run.sh lab, or the kit variable still set
    assert len(pip.calls) == 1, pip.calls[1:]   # nothing reinstalled, nothing fetched


def test_a_failed_reinstall_offline_says_to_use_the_kit(tmp_path, monkeypatch, pinned_here):
    venv = tmp_path / "venv"
    _fake_venv(venv, course.version_text(sys.version_info))
    monkeypatch.setattr(course.subprocess, "run", FakePip(subprocess.run, returncode=1))
    monkeypatch.setattr(course, "probe", lambda url, timeout=4: ("timed out", b""))
    with pytest.raises(course.LauncherError) as failure:
        course.setup(REPO, venv, {})
    message = str(failure.value)
    assert "cannot reach the package index" in message and "COURSE_WHEELHOUSE=KIT ./run.sh lab" in message
    assert "--wheelhouse KIT" in message and not (venv / course.STAMP_NAME).exists()


def test_python_different_from_the_venvs_rebuilds_it_after_saying_so(tmp_path, monkeypatch,
                                                                    pinned_here, capsys):
    venv = tmp_path / "venv"
    _fake_venv(venv, "3.11.2")

    class FakeBuilder:
        def __init__(self, **kwargs):
            pass

        def create(self, where):
            _fake_venv(Path(where), course.version_text(sys.version_info))
            (Path(where) / "marker").unlink()

    monkeypatch.setattr("venv.EnvBuilder", FakeBuilder)
    pip = FakePip(subprocess.run)
    monkeypatch.setattr(course.subprocess, "run", pip)
    course.setup(REPO, venv, {"PYTHON": "python3.11"})
    said = capsys.readouterr().out
    assert "was made with Python 3.11.2" in said and "deletes .venv/ and builds it again" in said
    assert not (venv / "marker").exists() and len(pip.calls) == 1
    course.setup(REPO, venv, {"PYTHON": "python3.11"})     # same Python now: nothing to do
    assert len(pip.calls) == 1


def test_without_python_set_a_different_venv_is_kept(tmp_path, monkeypatch, pinned_here):
    venv = tmp_path / "venv"
    _fake_venv(venv, "3.11.6")                  # fits the pins; this file runs under another
    monkeypatch.setattr(course.subprocess, "run", FakePip(subprocess.run))
    course.setup(REPO, venv, {})
    assert (venv / "marker").exists()


# --------------------------------------------------------------------------- the lab notice

def test_the_changed_notice_comes_after_jupyterlabs_start_up_lines(tmp_path, monkeypatch, capfd):
    runtime, repo = tmp_path / "runtime", tmp_path / "repo"
    runtime.mkdir()
    repo.mkdir()
    info = {"url": "http://localhost:8899/", "token": "abc", "root_dir": str(repo)}
    server = (f"import json, pathlib, sys, time; print('[I] fake JupyterLab starting', flush=True); "
              f"time.sleep(0.5); pathlib.Path(sys.argv[1]).write_text(json.dumps({info!r})); "
              "print('[I] fake JupyterLab is running', flush=True); time.sleep(2.5)")
    monkeypatch.setattr(course, "_jupyter_runtime_dir", lambda python: runtime)
    cmd = [sys.executable, "-c", server, str(runtime / "jpserver-1.json")]
    news = ["notebooks/06_fine_tuning.ipynb changed in the course since your copy was made"]
    assert course.run_lab(Path(sys.executable), repo, cmd, news) == 0
    out = capfd.readouterr().out
    assert out.index("fake JupyterLab is running") < out.index("JupyterLab is running: "
                                                               "http://localhost:8899/lab?token=abc")
    assert out.index("fake JupyterLab is running") < out.index("06_fine_tuning.ipynb changed")


# --------------------------------------------------------------------------- the kit

@pytest.mark.skipif(not (REPO / ".git").exists(), reason="the kit's course.zip comes from git")
def test_the_kit_holds_the_course_a_readme_and_checksums(tmp_path, monkeypatch):
    import zipfile

    def fake_download(cmd, cwd):                 # no index: one tiny wheel per platform folder
        folder = Path(cmd[cmd.index("-d") + 1])
        with zipfile.ZipFile(folder / "torch-2.14.1-cp311-cp311-manylinux_2_28_x86_64.whl", "w") as w:
            w.writestr("torch/__init__.py", "")

    monkeypatch.setattr(course, "_run", fake_download)
    dest = tmp_path / "kit"
    kit.build(REPO, dest, ["linux-x86_64", "windows-x86_64"])
    names = sorted(p.name for p in dest.iterdir())
    assert names == ["README.txt", "SHA256SUMS", "course.zip", "linux-x86_64", "windows-x86_64"]
    with zipfile.ZipFile(dest / "course.zip") as archive:
        inside = archive.namelist()
    assert f"{kit.COURSE_FOLDER}/course.py" in inside and f"{kit.COURSE_FOLDER}/run.sh" in inside
    assert not any("/.venv/" in name or "my_notebooks" in name for name in inside)
    readme = (dest / "README.txt").read_text()
    for words in ("py -3.11 course.py lab --wheelhouse KIT", "COURSE_WHEELHOUSE=KIT",
                  "doctor --wheelhouse KIT", "sha256sum -c SHA256SUMS", "Expand-Archive"):
        assert words in readme
    sums = (dest / "SHA256SUMS").read_text().splitlines()
    assert len(sums) == 4 and all(re.match(r"^[0-9a-f]{64}  \S+$", line) for line in sums)
    assert course.verify_checksums(dest, "linux-x86_64").level == "ok"
    assert kit.longest_install_path(dest / "windows-x86_64") == (41, ".venv\\Lib\\site-packages\\torch\\__init__.py")
    (dest / "linux-x86_64" / "torch-2.14.1-cp311-cp311-manylinux_2_28_x86_64.whl").write_bytes(b"x")
    damaged = course.verify_checksums(dest, "linux-x86_64")
    assert damaged.level == "problem" and "torch-2.14.1" in damaged.text


def test_kit_doctests_pass():
    import doctest

    result = doctest.testmod(kit, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.attempted >= 6 and result.failed == 0


def test_setup_refuses_an_existing_venv_the_kit_cannot_install(tmp_path, monkeypatch, pinned_here):
    """The issue's laptop: a .venv made by Debian's 3.11.2, then the kit: the doctor's words, no pip."""
    venv, kit_dir = tmp_path / "venv", _fake_kit(tmp_path)
    _fake_venv(venv, "3.11.2")
    monkeypatch.setattr(course, "interpreter_of",
                        lambda python: course.Interpreter("cpython", (3, 11, 2), "/usr/bin/python3.11"))
    monkeypatch.setattr(course, "this_interpreter",
                        lambda: course.Interpreter("cpython", (3, 11, 2), "/usr/bin/python3.11"))
    pip = FakePip(subprocess.run)
    monkeypatch.setattr(course.subprocess, "run", pip)
    with pytest.raises(course.LauncherError) as refused:
        course.setup(REPO, venv, {"COURSE_WHEELHOUSE": str(kit_dir)})
    message = str(refused.value)
    assert "PROBLEM  .venv: .venv/ was made with Python 3.11.2" in message
    assert "fix: delete the .venv folder" in message and pip.calls == []
