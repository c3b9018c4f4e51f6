"""course.py, the launcher: its platform logic for Linux, macOS and Windows (no real installs).

Every function tested here is pure: it builds paths and command lines. The end-to-end path
(create .venv, install, run pytest) is exercised by `./run.sh test` itself, which CI runs.
"""
from __future__ import annotations

import doctest
import importlib.util
import sys
from pathlib import Path, PurePosixPath

import pytest

from conftest import REPO_DIR as REPO  # the repository path lives in conftest.py
if "course" not in sys.modules:  # course.py is a script at the repository root, not a package
    _spec = importlib.util.spec_from_file_location("course", REPO / "course.py")
    sys.modules["course"] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules["course"])
course = sys.modules["course"]

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
    path, why = course.choose_constraints(key, "cpython", (3, 11, 7), None)
    assert path == course.CONSTRAINTS_DIR / f"{key}.txt" and path.is_file()
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
    path, why = course.choose_constraints(key, "cpython", (3, 11, 7), None)
    assert path is None
    assert "no pins" in why and "linux-x86_64" in why
    with pytest.raises(course.LauncherError, match="wheelhouse"):
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
    path, why = course.choose_constraints("linux-x86_64", implementation, version, None)
    assert (path is not None) is pinned
    if not pinned:
        assert "3.11" in why and "newest compatible" in why
        assert ".".join(map(str, version)) in why


def test_course_constraints_none_and_a_custom_file():
    for key, *_ in [(s[2],) for s in SYSTEMS]:
        assert course.choose_constraints(key, "cpython", (3, 11, 7), "none")[0] is None
        assert course.choose_constraints(key, "cpython", (3, 11, 7), "NONE")[0] is None
    path, why = course.choose_constraints("linux-x86_64", "cpython", (3, 12, 0), "my.txt")
    assert path == Path("my.txt") and "COURSE_CONSTRAINTS" in why


@pytest.mark.parametrize("sys_platform, machine, key, layout", SYSTEMS)
def test_install_command_with_and_without_a_wheelhouse(sys_platform, machine, key, layout):
    python = course.venv_python(Path(".venv"), sys_platform)
    pins = course.CONSTRAINTS_DIR / f"{key}.txt"
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
    cmd = course.download_command("python", key, Path("kit") / key, Path(f"constraints/{key}.txt"))
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


def test_reinstall_when_pyproject_or_pins_change(tmp_path):
    pyproject, pins, stamp = tmp_path / "pyproject.toml", tmp_path / "pins.txt", tmp_path / "stamp"
    pyproject.write_text("a")
    pins.write_text("torch==2.14.1\n")
    first = course.install_fingerprint([pyproject, pins], "mode")
    assert course.needs_install(stamp, first)            # never installed
    stamp.write_text(first + "\n")
    assert not course.needs_install(stamp, course.install_fingerprint([pyproject, pins], "mode"))
    pins.write_text("torch==2.14.0\n")
    assert course.needs_install(stamp, course.install_fingerprint([pyproject, pins], "mode"))
    pins.write_text("torch==2.14.1\n")
    pyproject.write_text("b")
    assert course.needs_install(stamp, course.install_fingerprint([pyproject, pins], "mode"))
    pyproject.write_text("a")
    assert course.needs_install(stamp, course.install_fingerprint([pyproject, pins], "other"))


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
    cmd = course.test_command("py", ["-k", "x"])
    assert " ".join(cmd) == (
        "py -m pytest tests course_lib notebooks --doctest-modules --nbval-lax --sanitize-with "
        "tests/nbval_sanitize.cfg --cov=course_lib --cov-report=term --cov-fail-under=90 "
        "--durations=15 -k x")


def test_bench_runs_the_notebooks_then_the_speed_claims_then_own_photos():
    first, second, third = course.bench_commands("py", ["--no-readme"])
    assert first == ["py", "benchmarks/run_notebooks.py", "--no-readme"]
    assert second == ["py", "benchmarks/speed.py"]
    assert third == ["py", "benchmarks/own_photos.py"]
    assert all((REPO / cmd[1]).is_file() for cmd in (first, second, third))


def test_requirements_read_from_pyproject_match_tomllib():
    import tomllib

    text = (REPO / "pyproject.toml").read_text()
    project = tomllib.loads(text)["project"]
    expected = project["dependencies"] + project["optional-dependencies"]["test"]
    assert course.read_requirements(text) == expected


def test_wheelhouse_option_is_taken_out_of_pytest_arguments():
    assert course._pop_option(["--wheelhouse=/k", "-x"], "--wheelhouse") == ("/k", ["-x"])
    assert course._pop_option(["-x"], "--wheelhouse") == (None, ["-x"])


def test_unknown_command_prints_usage(capsys):
    assert course.main(["deploy"]) == 2
    assert "usage" in capsys.readouterr().err
    assert course.main(["--help"]) == 0


def test_missing_wheelhouse_folder_says_how_to_make_it(tmp_path, monkeypatch):
    """setup() stops before any install when the kit has no folder for this platform."""
    key = course.platform_key(sys.platform, __import__("platform").machine())
    if key is None:
        pytest.skip("this machine has no pins")
    monkeypatch.setattr(course, "VENV", tmp_path / "venv")
    fake_python = course.venv_python(tmp_path / "venv", sys.platform)
    fake_python.parent.mkdir(parents=True)
    fake_python.symlink_to(sys.executable)
    monkeypatch.delenv("COURSE_CONSTRAINTS", raising=False)
    with pytest.raises(course.LauncherError, match=r"course\.py wheelhouse .* --platform"):
        course.setup(str(tmp_path / "empty-kit"))


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
