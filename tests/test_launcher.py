"""course.py, the launcher: its platform logic for Linux, macOS and Windows (no real installs).

Every function tested here is pure: it builds paths and command lines. The end-to-end path
(create .venv, install, run pytest) is exercised by `./run.sh test` itself, which CI runs.
"""
from __future__ import annotations

import doctest
import importlib.util
import json
import os
import sys
from pathlib import Path, PurePosixPath

import pytest

from conftest import REPO_DIR as REPO  # the repository path lives in conftest.py
from conftest import load_course
course = load_course()
kit = course._load_kit_tool(REPO)   # constraints/kit.py, the room-kit builder

PINS = REPO / "constraints"
# (sys.platform, platform.machine()) as each system reports them, and the expected pins.
SYSTEMS = [
    ("linux", "x86_64", "linux-x86_64", ("bin", "python")),
    ("darwin", "arm64", "macos-arm64", ("bin", "python")),
    ("win32", "AMD64", "windows-x86_64", ("Scripts", "python.exe")),
]


def test_doctests_in_course_py_pass():
    result = doctest.testmod(course, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.attempted >= 10 and result.failed == 0


@pytest.mark.parametrize("sys_platform, machine, key, layout", SYSTEMS)
def test_each_system_gets_its_pins_and_venv_layout(sys_platform, machine, key, layout):
    assert course.platform_key(sys_platform, machine) == key
    assert course.venv_python(Path(".venv"), sys_platform).parts == (".venv", *layout)
    path, why = course.choose_constraints(key, "cpython", (3, 11, 7), None, PINS)
    assert path == PINS / f"{key}.txt" and path.is_file()
    assert key in why


@pytest.mark.parametrize("sys_platform, machine", [
    ("darwin", "x86_64"),     # Intel Mac: no pins (PyPI has no recent torch for it)
    ("linux", "aarch64"),     # Raspberry Pi, ARM servers
    ("win32", "ARM64"),       # Windows on ARM
    ("freebsd14", "amd64"),
])
def test_unpinned_platforms_fall_back_with_a_clear_message(sys_platform, machine):
    key = course.platform_key(sys_platform, machine)
    assert key is None
    path, why = course.choose_constraints(key, "cpython", (3, 11, 7), None, PINS)
    assert path is None
    assert "no pins" in why and "linux-x86_64" in why
    with pytest.raises(course.LauncherError, match="room kit .* COURSE_WHEELHOUSE"):
        course.wheelhouse_folder("kit", key)


@pytest.mark.parametrize("implementation, version, pinned", [
    ("cpython", (3, 11, 7), True),
    ("cpython", (3, 11, 5), True),
    ("cpython", (3, 11, 2), False),   # soupsieve's pin needs 3.11.5
    ("cpython", (3, 12, 4), False),
    ("cpython", (3, 10, 14), False),
    ("pypy", (3, 11, 7), False),
])
def test_pins_only_for_cpython_311(implementation, version, pinned):
    path, why = course.choose_constraints("linux-x86_64", implementation, version, None, PINS)
    assert (path is not None) is pinned
    if not pinned:
        assert "3.11" in why and "newest compatible" in why
        assert ".".join(map(str, version)) in why


def test_course_constraints_none_and_a_custom_file():
    for key, *_ in [(s[2],) for s in SYSTEMS]:
        assert course.choose_constraints(key, "cpython", (3, 11, 7), "none", PINS)[0] is None
        assert course.choose_constraints(key, "cpython", (3, 11, 7), "NONE", PINS)[0] is None
    path, why = course.choose_constraints("linux-x86_64", "cpython", (3, 12, 0), "my.txt", PINS)
    assert path == Path("my.txt") and "COURSE_CONSTRAINTS" in why


@pytest.mark.parametrize("sys_platform, machine, key, layout", SYSTEMS)
def test_install_command_with_and_without_a_wheelhouse(sys_platform, machine, key, layout):
    python = course.venv_python(Path(".venv"), sys_platform)
    pins = PINS / f"{key}.txt"
    online = course.install_command(python, pins)
    assert online[:4] == [str(python), "-m", "pip", "install"]
    assert "--no-index" not in online and online[-2:] == ["-e", ".[test]"]
    assert online[online.index("-c") + 1] == str(pins)
    kit = course.wheelhouse_folder("/usb/kit", key)
    assert PurePosixPath(Path(kit).as_posix()) == PurePosixPath("/usb/kit") / key
    served = course.wheelhouse_folder("http://10.0.0.2:8000", key)
    assert served == f"http://10.0.0.2:8000/{key}/"
    assert course.install_command(python, pins, served)[-6:-4] == ["--find-links", served]
    offline = course.install_command(python, pins, kit)
    assert "--no-index" in offline and offline[offline.index("--find-links") + 1] == kit
    assert "-c" not in course.install_command(python, None)


@pytest.mark.parametrize("key", course.PLATFORMS)
def test_wheelhouse_download_targets_the_platform_tags(key):
    cmd = kit.download_command("python", key, Path("kit") / key, Path(f"constraints/{key}.txt"))
    platforms = [cmd[i + 1] for i, arg in enumerate(cmd) if arg == "--platform"]
    assert platforms == list(course.PLATFORM_TAGS[key])
    assert "--only-binary=:all:" in cmd and "--no-deps" in cmd
    assert cmd[cmd.index("--python-version") + 1].startswith("3.11")
    assert cmd[cmd.index("-d") + 1] == str(Path("kit") / key)
    other_keys = [k for k in course.PLATFORMS if k != key]
    for other in other_keys:   # no tag of another system leaks in
        assert not set(platforms) & set(course.PLATFORM_TAGS[other])


def test_platform_tags_match_each_system():
    assert all("x86_64" in t and ("linux" in t) for t in course.PLATFORM_TAGS["linux-x86_64"])
    assert "macosx_14_0_arm64" in course.PLATFORM_TAGS["macos-arm64"]   # torch 2.14.1 needs macOS 14
    assert course.PLATFORM_TAGS["windows-x86_64"] == ("win_amd64",)


def test_reinstall_when_pyproject_pins_or_python_change_but_never_for_the_source(tmp_path):
    stamp = tmp_path / "stamp"
    first = course.install_fingerprint(b"a", b"torch==2.14.1\n", "cpython 3.11.7")
    assert course.needs_install(stamp, first)            # never installed
    stamp.write_text(json.dumps({"fingerprint": first, "from": "/media/usb/kit/linux-x86_64"}))
    assert not course.needs_install(stamp, course.install_fingerprint(b"a", b"torch==2.14.1\n",
                                                                      "cpython 3.11.7"))
    for changed in [(b"a", b"torch==2.14.0\n", "cpython 3.11.7"),   # the pins
                    (b"b", b"torch==2.14.1\n", "cpython 3.11.7"),   # pyproject.toml
                    (b"a", None, "cpython 3.11.7"),                  # COURSE_CONSTRAINTS=none
                    (b"a", b"torch==2.14.1\n", "cpython 3.11.9")]:  # another Python
        assert course.needs_install(stamp, course.install_fingerprint(*changed)), changed
    stamp.write_text(first)                              # the old launcher's stamp format
    assert course.needs_install(stamp, first)


def test_lab_command_opens_notebook_00_and_allows_root_only_as_root():
    python = Path(".venv/bin/python")
    user = course.lab_command(python, REPO, as_root=False)
    root = course.lab_command(python, REPO, as_root=True)
    assert user[1:4] == ["-m", "jupyter", "lab"] and "--allow-root" not in user
    assert "--allow-root" in root
    assert f"--ServerApp.root_dir={REPO}" in user
    assert "--LabApp.default_url=/lab/tree/notebooks/00_start_here.ipynb" in user
    mine = course.lab_command(python, REPO, False, start="my_notebooks/00_start_here.ipynb")
    assert "--LabApp.default_url=/lab/tree/my_notebooks/00_start_here.ipynb" in mine
    assert (REPO / course.NOTEBOOK_00).is_file()
    assert course.lab_command(python, REPO, False, ["--port=9999"])[-1] == "--port=9999"


def test_test_command_is_the_readme_command_with_extra_arguments():
    cmd = course.test_command("py", ["-k", "x"], workers=2)
    assert " ".join(cmd) == (
        "py -m pytest tests course_lib notebooks --doctest-modules --nbval-lax --sanitize-with "
        "tests/nbval_sanitize.cfg --cov=course_lib --cov-report=term --cov-fail-under=90 "
        "--durations=15 -n 2 --dist loadfile -k x")
    one = course.test_command("py", [], workers=1)
    assert one[-2:] == ["-p", "no:xdist"] and "-n" not in one


def test_test_workers_follow_the_machine_or_the_variable(monkeypatch):
    monkeypatch.delenv("COURSE_TEST_WORKERS", raising=False)
    assert course.test_workers() in (1, 2)
    monkeypatch.setenv("COURSE_TEST_WORKERS", "1")
    assert course.test_workers() == 1
    for bad in ("two", "0", "-1"):
        monkeypatch.setenv("COURSE_TEST_WORKERS", bad)
        with pytest.raises(course.LauncherError, match="COURSE_TEST_WORKERS=.*Set it to 1"):
            course.test_workers()


def test_bench_runs_the_notebooks_then_4x_then_speed_and_own_photos_then_the_documents():
    commands = course.bench_commands("py", ["--no-readme"])
    assert commands[0] == ["py", "benchmarks/run_notebooks.py", "--no-readme"]
    assert [c[1] for c in commands[1:]] == ["benchmarks/robustness.py", "benchmarks/speed.py",
                                            "benchmarks/own_photos.py", "tools/docs.py",
                                            "tools/instructor_outline.py"]
    assert all((REPO / cmd[1]).is_file() for cmd in commands)


def test_no_command_or_an_unknown_one_prints_usage_and_does_nothing(capsys):
    assert course.main([], repo=REPO) == 2
    assert "usage" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        course.main(["deploy"], repo=REPO)
    assert stop.value.code == 2 and "invalid choice" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        course.main(["--help"], repo=REPO)
    out = capsys.readouterr().out
    assert stop.value.code == 0
    for command in ("doctor", "setup", "lab", "fresh", "test", "bench", "wheelhouse"):
        assert command in out


def test_options_are_parsed_once_and_the_rest_goes_to_the_program():
    parser = course.build_parser(REPO)
    args, extra = parser.parse_known_args(["test", "-k", "launcher", "--wheelhouse", "/kit", "-x"])
    assert (args.command, args.wheelhouse, extra) == ("test", "/kit", ["-k", "launcher", "-x"])
    args, extra = parser.parse_known_args(["lab", "--originals", "--no-browser", "--port=9999"])
    assert args.originals and extra == ["--no-browser", "--port=9999"]
    args, extra = parser.parse_known_args(["wheelhouse", "kit", "--platform", "all"])
    assert args.dir == Path("kit") and args.platform == ["all"] and extra == []
    with pytest.raises(SystemExit):     # setup takes no stray arguments
        course.main(["setup", "--bogus"], repo=REPO)


def test_missing_wheelhouse_folder_stops_before_any_install(tmp_path, monkeypatch):
    """setup() stops with the doctor's words, before pip, when the kit has no folder for this platform."""
    key = course.platform_key(sys.platform, __import__("platform").machine())
    if key is None or not course.pins_apply(sys.implementation.name, sys.version_info):
        pytest.skip("this machine has no pins")
    venv = tmp_path / "venv"
    base = Path(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))
    fake_python = course.venv_python(venv, sys.platform)
    fake_python.parent.mkdir(parents=True)
    fake_python.symlink_to(base)
    (venv / "pyvenv.cfg").write_text(f"home = {base.parent}\nversion = {course.version_text(sys.version_info)}\n")
    monkeypatch.setattr(course.subprocess, "run", _refuse_pip(course.subprocess.run))
    with pytest.raises(course.LauncherError, match=r"no wheels at .*empty-kit.*\n.*fix: check the path"):
        course.setup(REPO, venv, {}, str(tmp_path / "empty-kit"))


def _refuse_pip(run):
    def guarded(cmd, *args, **kwargs):
        assert "pip" not in cmd, f"pip was started: {cmd}"
        return run(cmd, *args, **kwargs)
    return guarded


def test_readme_memory_note_matches_the_measured_peaks():
    """The README's Binder note names the heaviest notebook and its peak from benchmarks/results.md."""
    from course_lib.envcheck import notebook_peaks

    peaks = notebook_peaks((REPO / "benchmarks" / "results.md").read_text(encoding="utf-8"))
    heaviest = max(peaks, key=peaks.get)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    note = " ".join(readme[readme.index("**Binder's memory"):readme.index("## Troubleshooting")].split())
    expected = f"`{heaviest}` at {peaks[heaviest]:.2f} GB"
    assert expected in note, f"README's Binder note is out of date: it should say {expected}"
    assert f"from {min(peaks.values()):.2f} to {peaks[heaviest]:.2f} GB" in note


def _course_copy(tmp_path):
    """A stand-in repository with the real notebooks' names (contents are tiny)."""
    (tmp_path / "notebooks").mkdir()
    for original in sorted((REPO / "notebooks").glob("*.ipynb")):
        (tmp_path / "notebooks" / original.name).write_text(f'{{"v": "{original.name}"}}')
    return tmp_path


def test_lab_gives_the_learner_copies_and_never_overwrites_them(tmp_path):
    repo = _course_copy(tmp_path)
    news = course.learner_copies(repo)
    names = sorted(p.name for p in (repo / "notebooks").glob("*.ipynb"))
    assert len(news) == 1 and all(name in news[0] for name in names) and len(names) >= 12
    assert sorted(p.name for p in (repo / course.LEARNER_DIR).glob("*.ipynb")) == names
    mine = repo / course.LEARNER_DIR / "06_fine_tuning.ipynb"
    mine.write_text("my answers")                               # the learner works
    assert course.learner_copies(repo) == []                    # second launch: nothing to say
    assert mine.read_text() == "my answers"
    (repo / "notebooks" / "06_fine_tuning.ipynb").write_text('{"v": 2}')   # git pull
    (repo / "notebooks" / "12_new.ipynb").write_text("{}")                 # a new notebook
    news = course.learner_copies(repo)
    assert mine.read_text() == "my answers"                     # still never overwritten
    assert any("fresh 06" in line for line in news) and any("12_new" in line for line in news)


def test_fresh_keeps_the_learners_copy_and_rejects_unknown_numbers(tmp_path):
    repo = _course_copy(tmp_path)
    course.learner_copies(repo)
    mine = repo / course.LEARNER_DIR / "03_gradient_descent.ipynb"
    mine.write_text("my answers")
    news = course.fresh_copies(repo, ["03"], now="t0")
    kept = repo / course.LEARNER_DIR / "03_gradient_descent.mine-t0.ipynb"
    assert kept.read_text() == "my answers" and "mine-t0" in news[0]
    assert mine.read_text() == (repo / "notebooks" / "03_gradient_descent.ipynb").read_text()
    with pytest.raises(course.LauncherError, match="no course notebook numbered 42.*fresh 06"):
        course.fresh_copies(repo, ["42"])
    assert len(course.fresh_copies(repo, ["all"], now="t1")) >= 12


def test_learner_copies_are_git_ignored_and_not_collected_by_the_tests():
    assert "my_notebooks/" in (REPO / ".gitignore").read_text().splitlines()
    assert "my_notebooks" not in " ".join(course.TEST_ARGS)
