#!/usr/bin/env python3
"""Transfer Learning in Practice: check a laptop, set up the course, open it, test it or measure it.

The same commands on Linux, macOS and Windows (standard library only, no bash needed)::

    python course.py doctor       check this laptop in seconds, before installing anything
    python course.py setup        create .venv/ if needed and install (e.g. before a workshop)
    python course.py lab          ... install, open JupyterLab at your copy of notebook 00
    python course.py fresh NN     replace your copy of notebook NN by the course's current one
    python course.py test         ... install, run the unit tests and every notebook (what CI runs)
    python course.py bench        ... install, run the benchmarks (they rewrite README tables)
    python course.py wheelhouse DIR   build a room kit in DIR (maintainers; constraints/kit.py)

Every command has ``--help``, which describes its options and does nothing else.
``./run.sh lab`` and ``./run.sh test`` are the same commands (run.sh only calls this file).

Environment variables:
    PYTHON=python3.11           (run.sh) the interpreter that runs this file and creates .venv/;
                                when .venv/ was made with another Python, it is built again
    COURSE_CONSTRAINTS=none     install without exact pins (the newest compatible versions)
    COURSE_WHEELHOUSE=KIT       install from a room kit only, never from the internet
                                (same as --wheelhouse KIT: a folder, or its URL when served)
    COURSE_TEST_WORKERS=1       ``test`` runs one test at a time (default: two pytest-xdist
                                workers on two or more cores with 4 GB free)

Pins: ``constraints/<platform>.txt`` for linux-x86_64, macos-arm64 and windows-x86_64, made for
CPython 3.11 (3.11.5 or newer). On any other platform or Python the launcher says so and installs
without pins from the package index; a room kit holds wheels for the pinned Python only.
The functions before "actions" below are pure (no installs) and unit-tested in
tests/test_launcher.py and tests/test_doctor.py for all three systems.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

REPO = Path(__file__).resolve().parent
STAMP_NAME = ".course-installed"
NOTEBOOK_00 = "notebooks/00_start_here.ipynb"
#: The learner's own copies of the notebooks (git-ignored): `lab` opens these, so "Run All"
#: and autosave never touch the tracked notebooks and `git pull` never conflicts with them.
LEARNER_DIR = "my_notebooks"
COPIES_RECORD = ".originals.json"
KIT_TOOL = "constraints/kit.py"
BINDER_URL = "https://mybinder.org (the Binder link in README.md)"
INDEX_URL = "https://pypi.org/simple/"

#: CPython version the pins were resolved for (soupsieve's pin needs 3.11.5 or newer).
PINNED_PYTHON = (3, 11)
PINNED_PYTHON_MIN_MICRO = 5
#: requires-python of pyproject.toml: older interpreters cannot install the course at all.
OLDEST_PYTHON = (3, 10)

#: Platforms with their own constraints file, and the wheel platform tags pip may use there.
#: macOS: torch 2.14.1 ships arm64 wheels for macOS 14 (Sonoma) or newer only.
PLATFORM_TAGS: dict[str, tuple[str, ...]] = {
    "linux-x86_64": tuple(f"manylinux_2_{minor}_x86_64" for minor in range(28, 16, -1))
    + ("manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64", "linux_x86_64"),
    "macos-arm64": tuple(f"macosx_{major}_0_arm64" for major in range(14, 10, -1))
    + tuple(f"macosx_{major}_0_universal2" for major in range(14, 10, -1))
    + tuple(f"macosx_10_{minor}_universal2" for minor in range(16, 8, -1)),
    "windows-x86_64": ("win_amd64",),
}
PLATFORMS = tuple(PLATFORM_TAGS)
OLDEST_MACOS = (14, 0)

#: Disk an install needs, in GiB (measured 2026-12-06, INSTRUCTORS.md "Disk per laptop"):
#: Linux: from a kit folder, .venv/ plus pip's temporary files peaked at 6.32 GiB (the .venv/
#: itself measures 6.32 GiB); 7.0 leaves room for outputs/. macOS/Windows: not measured (no such
#: machine here); the Linux .venv/ without its CUDA libraries and triton is 2.1 GiB, and their
#: PyTorch is smaller, so 3.0 is an upper estimate.
INSTALL_GIB = {"linux-x86_64": 7.0, "macos-arm64": 3.0, "windows-x86_64": 3.0}
#: Extra disk when the wheels come over the network (the index, or a served kit): pip first
#: downloads them (the kit's size: 3.13 / 0.40 / 0.42 GiB); a served Linux install peaked at 9.45 GiB.
DOWNLOAD_GIB = {"linux-x86_64": 3.2, "macos-arm64": 0.5, "windows-x86_64": 0.5}
#: JupyterLab's own server process (resident memory, measured idle 2026-12-06: 0.09 GB).
JUPYTERLAB_SERVER_GB = 0.1
PROBE_SECONDS = 4.0
#: Windows without long-path support: a path has at most 259 characters. The longest path an
#: install writes below the course folder (measured from the pinned Windows wheels by
#: constraints/kit.py's longest_install_path, 2026-12-06) is .venv\Lib\site-packages\ plus a
#: JupyterLab file: 161 characters. So the course folder's own path may have 259 - 1 - 161.
WINDOWS_MAX_PATH = 259
WINDOWS_LONGEST_INSTALLED = 161

TEST_ARGS = ["tests", "course_lib", "notebooks", "--doctest-modules",
             "--nbval-lax", "--sanitize-with", "tests/nbval_sanitize.cfg",
             "--cov=course_lib", "--cov-report=term", "--cov-fail-under=90",
             "--durations=15"]


class LauncherError(RuntimeError):
    """A setup problem, with what is wrong and how to fix it."""


# --------------------------------------------------------------------------- pure platform logic

def platform_key(sys_platform: str, machine: str) -> str | None:
    """Name of this platform's constraints file, or None when the course has no pins for it.

    >>> platform_key("linux", "x86_64"), platform_key("darwin", "arm64"), platform_key("win32", "AMD64")
    ('linux-x86_64', 'macos-arm64', 'windows-x86_64')
    >>> platform_key("darwin", "x86_64") is None
    True
    """
    machine = machine.lower()
    if sys_platform.startswith("linux") and machine in ("x86_64", "amd64"):
        return "linux-x86_64"
    if sys_platform == "darwin" and machine in ("arm64", "aarch64"):
        return "macos-arm64"
    if sys_platform in ("win32", "cygwin") and machine in ("amd64", "x86_64"):
        return "windows-x86_64"
    return None


def venv_python(venv: Path, sys_platform: str) -> Path:
    """The interpreter inside a virtual environment: Scripts\\python.exe on Windows.

    >>> venv_python(Path("v"), "win32").parts, venv_python(Path("v"), "linux").parts
    (('v', 'Scripts', 'python.exe'), ('v', 'bin', 'python'))
    """
    if sys_platform in ("win32", "cygwin"):
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def version_text(version: Sequence[int]) -> str:
    """``(3, 11, 7)`` as ``'3.11.7'``."""
    return ".".join(str(part) for part in version[:3])


def pins_apply(implementation: str, version: Sequence[int]) -> bool:
    """True when the exact pins fit this interpreter (CPython 3.11.5+ on 3.11).

    >>> pins_apply("cpython", (3, 11, 7)), pins_apply("cpython", (3, 11, 2)), pins_apply("cpython", (3, 12, 1))
    (True, False, False)
    """
    return (implementation == "cpython" and tuple(version[:2]) == PINNED_PYTHON
            and (len(version) < 3 or version[2] >= PINNED_PYTHON_MIN_MICRO))


def choose_constraints(key: str | None, implementation: str, version: Sequence[int],
                       setting: str | None, folder: Path) -> tuple[Path | None, str]:
    """Which constraints file to install with, and a one-line message saying why.

    ``setting`` is COURSE_CONSTRAINTS: "none" turns pins off, a path picks a file.

    >>> path, why = choose_constraints("macos-arm64", "cpython", (3, 11, 7), None, Path("c"))
    >>> path.as_posix(), why
    ('c/macos-arm64.txt', 'exact pins for macos-arm64 (c/macos-arm64.txt)')
    >>> choose_constraints("linux-x86_64", "cpython", (3, 11, 7), "none", Path("c"))[0] is None
    True
    """
    if setting and setting.lower() == "none":
        return None, "no pins (COURSE_CONSTRAINTS=none): newest compatible versions"
    if setting:
        return Path(setting), f"pins from COURSE_CONSTRAINTS={setting}"
    if key is None:
        return None, ("no pins: this platform has no constraints file (pins exist for "
                      + ", ".join(PLATFORMS) + "); installing the newest compatible versions")
    if not pins_apply(implementation, version):
        return None, (f"no pins: they are for CPython 3.11.{PINNED_PYTHON_MIN_MICRO}+ and this is "
                      f"{implementation} {version_text(version)}; installing the newest compatible "
                      f"versions (to use the pins: PYTHON=python3.11 ./run.sh lab, or "
                      f"py -3.11 course.py lab)")
    path = folder / f"{key}.txt"
    return path, f"exact pins for {key} ({path.as_posix()})"


def is_url(location: str) -> bool:
    """True for http(s) addresses (a kit served with `python -m http.server`)."""
    return location.startswith(("http://", "https://"))


def wheelhouse_folder(wheelhouse: str, key: str | None) -> str:
    """Where this platform's wheels are in a room kit: a folder, or a URL when one laptop serves it.

    The kit itself or its platform folder both work (``kit`` or ``kit/linux-x86_64``).

    >>> wheelhouse_folder("/usb/kit", "windows-x86_64").replace("\\\\", "/")
    '/usb/kit/windows-x86_64'
    >>> wheelhouse_folder("http://192.168.1.10:8000/", "macos-arm64")
    'http://192.168.1.10:8000/macos-arm64/'
    >>> wheelhouse_folder("http://192.168.1.10:8000/macos-arm64", "macos-arm64")
    'http://192.168.1.10:8000/macos-arm64/'
    """
    if key is None:
        raise LauncherError("A room kit holds wheels for " + ", ".join(PLATFORMS)
                            + " only; this laptop is none of them. Unset COURSE_WHEELHOUSE and "
                            "install from the package index.")
    if is_url(wheelhouse):
        base = wheelhouse.rstrip("/")
        return base + "/" if base.endswith("/" + key) else base + f"/{key}/"
    if Path(wheelhouse).name == key:
        return str(Path(wheelhouse))
    return str(Path(wheelhouse) / key)


def install_command(python: Path | str, constraints: Path | None,
                    wheels: str | None = None) -> list[str]:
    """The pip command that installs the course (editable, with its test tools).

    >>> install_command("py", Path("c.txt"), "w")[4:]
    ['--disable-pip-version-check', '--no-index', '--find-links', 'w', '-c', 'c.txt', '-e', '.[test]']
    """
    cmd = [str(python), "-m", "pip", "install", "--disable-pip-version-check"]
    if wheels is not None:
        cmd += ["--no-index", "--find-links", wheels]
    if constraints is not None:
        cmd += ["-c", str(constraints)]
    return cmd + ["-e", ".[test]"]


def install_fingerprint(project: bytes, pins: bytes | None, python: str) -> str:
    """A digest of what is installed: the project's metadata, the pins and the Python.

    Where the wheels came from (the index, a kit on a USB stick, a served kit) is not part of
    it: a course installed from a kit stays installed when the kit is gone.

    >>> a = install_fingerprint(b"[project]", b"torch==2.14.1", "cpython 3.11.7")
    >>> a == install_fingerprint(b"[project]", b"torch==2.14.1", "cpython 3.11.7")
    True
    >>> a == install_fingerprint(b"[project]", b"torch==2.14.0", "cpython 3.11.7")
    False
    """
    digest = hashlib.sha256()
    for part in (python.encode(), project, b"<no pins>" if pins is None else pins):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def needs_install(stamp: Path, fingerprint: str) -> bool:
    """True when nothing was installed yet or what is installed differs from what is wanted."""
    try:
        return json.loads(stamp.read_text(encoding="utf-8")).get("fingerprint") != fingerprint
    except (OSError, ValueError, AttributeError):
        return True


def lab_command(python: Path | str, repo: Path, as_root: bool,
                extra: list[str] | None = None, start: str = NOTEBOOK_00) -> list[str]:
    """JupyterLab serving the repository, opened at ``start`` (``--allow-root`` as root).

    ``extra`` goes to JupyterLab, e.g. ``["--port=9999", "--no-browser"]``.
    """
    cmd = [str(python), "-m", "jupyter", "lab"]
    if as_root:
        cmd.append("--allow-root")  # e.g. inside a container
    return cmd + [f"--ServerApp.root_dir={repo}",
                  f"--LabApp.default_url=/lab/tree/{start}", *(extra or [])]


def choose_workers(cpus: int, available: int | None) -> int:
    """Test workers for a machine: one per core up to two, and one only where less than 4 GB is
    free (two notebook kernels at once need up to 2 × 1.5 GB). Notebooks 06–11 compute on one
    thread each, so two cores run two of them at once.

    >>> choose_workers(8, 16 * 10**9), choose_workers(1, 16 * 10**9)
    (2, 1)
    >>> choose_workers(4, 3 * 10**9), choose_workers(4, None)
    (1, 2)
    """
    return 2 if cpus >= 2 and (available is None or available >= 4 * 10**9) else 1


def test_workers() -> int:
    """``COURSE_TEST_WORKERS`` if set (1 runs one test at a time), else :func:`choose_workers`."""
    chosen = os.environ.get("COURSE_TEST_WORKERS", "").strip()
    if not chosen:
        return choose_workers(os.cpu_count() or 1, memory_bytes()[1])
    if not chosen.isdigit() or int(chosen) < 1:
        raise LauncherError(f"COURSE_TEST_WORKERS={chosen!r} is not a number of workers. "
                            "Set it to 1 (one test at a time) or more, or unset it.")
    return int(chosen)


def test_command(python: Path | str, extra: list[str], workers: int | None = None) -> list[str]:
    """The README's test command (what CI runs), with extra pytest arguments appended.

    With two or more workers (:func:`test_workers`), pytest-xdist runs test files side by side;
    ``--dist loadfile`` keeps each file, so each notebook and its one kernel, on one worker.
    """
    workers = test_workers() if workers is None else workers
    parallel = ["-n", str(workers), "--dist", "loadfile"] if workers > 1 else ["-p", "no:xdist"]
    return [str(python), "-m", "pytest", *TEST_ARGS, *parallel, *extra]


def bench_commands(python: Path | str, extra: list[str]) -> list[list[str]]:
    """The notebook benchmark (README table), every verdict of 06–11 at 4× the budget (robustness and
    claims tables), the speed claims, the own-photos recipe, then the documents written from the code
    (CONTRIBUTING's module map, INSTRUCTORS' projector outlines)."""
    return [[str(python), "benchmarks/run_notebooks.py", *extra],
            [str(python), "benchmarks/robustness.py"],
            [str(python), "benchmarks/speed.py"],
            [str(python), "benchmarks/own_photos.py"],
            [str(python), "tools/docs.py"],
            [str(python), "tools/instructor_outline.py", "--write"]]


def read_pins(text: str) -> dict[str, str]:
    """``{normalized name: version}`` from a constraints file's text (``name==version`` lines).

    >>> read_pins("# c\\nPyYAML==6.0.4\\nsoupsieve==4.1.3 ; python_version >= '3'\\n")
    {'pyyaml': '6.0.4', 'soupsieve': '4.1.3'}
    """
    pins = {}
    for line in text.splitlines():
        line = line.split("#")[0].split(";")[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[normalize(name)] = version.strip()
    return pins


def normalize(name: str) -> str:
    """PEP 503 name: ``Jinja2`` and ``typing_extensions`` become ``jinja2``, ``typing-extensions``."""
    return re.sub(r"[-_.]+", "-", name).lower().strip()


# --------------------------------------------------------------------------- doctor: verdicts

@dataclass(frozen=True)
class Finding:
    """One pre-flight verdict: ``level`` is "ok", "note" or "problem"; ``fix`` says what to do."""

    level: str
    topic: str
    text: str
    fix: str = ""

    def lines(self) -> list[str]:
        """The verdict as printed (plain ASCII words, so every console shows it).

        >>> Finding("problem", "python", "too old", "install 3.11").lines()
        ['PROBLEM  python: too old', '         fix: install 3.11']
        """
        head = {"ok": "ok      ", "note": "note    ", "problem": "PROBLEM "}[self.level]
        return [f"{head} {self.topic}: {self.text}"] + ([f"         fix: {self.fix}"] if self.fix else [])


def _install_311_fix(command: str = "lab") -> str:
    return ("install CPython 3.11 (3.11.5 or newer: python.org on Windows and macOS; on Linux "
            "pyenv, uv or your package manager), then run with it: "
            f"PYTHON=python3.11 ./run.sh {command} (Windows: py -3.11 course.py {command})")


def platform_finding(sys_platform: str, machine: str,
                     macos: tuple[int, ...] | None = None) -> Finding:
    """Can the course be installed on this system at all, and with exact pins?

    >>> platform_finding("darwin", "x86_64").level
    'problem'
    >>> platform_finding("win32", "AMD64").text
    'windows-x86_64: exact pins and room-kit wheels exist for it'
    """
    key = platform_key(sys_platform, machine)
    if sys_platform == "darwin" and machine.lower() in ("x86_64", "amd64", "i386"):
        return Finding("problem", "platform",
                       "an Intel Mac: the package index has PyTorch for Intel Macs only up to "
                       "2.2.2, and the course needs 2.4 or newer, so it cannot be installed here",
                       f"use Binder in the browser ({BINDER_URL}), or pair up with someone "
                       "whose laptop passes this check")
    if key == "macos-arm64" and macos and tuple(macos[:2]) < OLDEST_MACOS:
        return Finding("problem", "platform",
                       f"macOS {version_text(macos)}: the pinned PyTorch (2.14.1) has Apple-silicon "
                       "wheels for macOS 14 (Sonoma) or newer only, so neither the pins nor the "
                       "room kit install here",
                       "update macOS to 14 or newer; or, online, COURSE_CONSTRAINTS=none "
                       "./run.sh lab installs an older PyTorch without pins (not what CI tests)")
    if key is None:
        return Finding("note", "platform",
                       f"{sys_platform} {machine}: the course has no pins for it (pins exist "
                       f"for {', '.join(PLATFORMS)}); setup installs the newest compatible "
                       "versions from the package index, and the room kit does not cover it",
                       "install while online (not from a kit); if that fails, use Binder "
                       f"({BINDER_URL})")
    return Finding("ok", "platform", f"{key}: exact pins and room-kit wheels exist for it")


def python_finding(implementation: str, version: Sequence[int], executable: str,
                   with_kit: bool) -> Finding:
    """Does this Python fit the pins (CPython 3.11.5+), and can it install at all?

    >>> python_finding("cpython", (3, 11, 7), "py", with_kit=True).level
    'ok'
    >>> [python_finding("cpython", v, "py", with_kit=True).level for v in [(3, 9, 18), (3, 11, 2), (3, 12, 1)]]
    ['problem', 'problem', 'problem']
    >>> python_finding("cpython", (3, 12, 1), "py", with_kit=False).level
    'note'
    """
    found = f"{'CPython' if implementation == 'cpython' else implementation} {version_text(version)} ({executable})"
    if tuple(version[:2]) < OLDEST_PYTHON:
        return Finding("problem", "python",
                       f"{found} is too old: the course needs Python 3.10 or newer, and its "
                       "exact pins are for 3.11.5 or newer", _install_311_fix())
    if pins_apply(implementation, version):
        return Finding("ok", "python", f"{found} fits the exact pins (CPython 3.11.5 or newer 3.11)")
    why = "the exact pins (and the room kit's wheels) are for CPython 3.11.5 or newer 3.11"
    if implementation == "cpython" and tuple(version[:2]) == PINNED_PYTHON:
        why += (f"; {version_text(version)} is older than 3.11.5, which one pinned package "
                "(soupsieve 4.1.3) requires (Debian 12's python3 is 3.11.2)")
    if with_kit:
        return Finding("problem", "python", f"{found} cannot install from the room kit: {why}",
                       _install_311_fix())
    return Finding("note", "python",
                   f"{found}: {why}, so setup installs the newest compatible versions from the "
                   "package index instead (needs the internet; not the versions CI tests)",
                   "for the tested versions, " + _install_311_fix())


def kit_finding(kit: str, folder: str, listing: list[str] | None, error: str | None,
                implementation: str, version: Sequence[int]) -> Finding:
    """Does the room kit have this platform's wheels, for this Python?

    ``listing`` is the wheel file names found in ``folder`` (None when it could not be read,
    ``error`` then says why).

    >>> kit_finding("k", "k/linux-x86_64", ["torch-2.14.1-cp311-cp311-manylinux_2_28_x86_64.whl"],
    ...             None, "cpython", (3, 11, 7)).level
    'ok'
    >>> kit_finding("k", "k/linux-x86_64", None, "no such folder", "cpython", (3, 11, 7)).fix[:40]
    'check the path: KIT is the folder that h'
    """
    if listing is None:
        if is_url(kit):
            return Finding("problem", "kit", f"cannot read {folder}: {error}",
                           "check the address with the instructor (http://ADDRESS:8000, the "
                           "serving laptop runs `python -m http.server 8000` in the kit folder); "
                           "same Wi-Fi for both, its firewall allows port 8000, and the Wi-Fi does "
                           "not isolate clients (else: a USB stick)")
        return Finding("problem", "kit", f"no wheels at {folder}: {error}",
                       "check the path: KIT is the folder that holds linux-x86_64/, macos-arm64/, "
                       "windows-x86_64/ and course.zip (on a USB stick e.g. /media/usb/course-kit "
                       "or E:\\course-kit); ask the instructor for a kit with this platform")
    tag = f"cp{version[0]}{version[1]}"
    torch = [name for name in listing if name.lower().startswith("torch-")]
    if not torch:
        return Finding("problem", "kit", f"{folder} has no PyTorch wheel ({len(listing)} files): "
                       "an incomplete copy or the wrong folder",
                       "copy the kit again and check it: python course.py doctor --wheelhouse KIT "
                       "--checksums")
    if not any(f"-{tag}-" in name for name in torch) or not pins_apply(implementation, version):
        return Finding("problem", "kit",
                       f"the kit's wheels are for CPython 3.11.5 or newer 3.11 (its PyTorch is "
                       f"{torch[0].split('-')[2]}), and this Python is {implementation} "
                       f"{version_text(version)}", _install_311_fix())
    return Finding("ok", "kit", f"{len(listing)} wheels at {folder}, for this platform and Python")


def venv_finding(venv_version: Sequence[int] | None, venv_executable: str,
                 current: Sequence[int], current_executable: str, python_env: str | None,
                 with_kit: bool) -> Finding:
    """Which Python the existing ``.venv`` uses, and what setup will do about it.

    >>> venv_finding(None, "", (3, 11, 7), "py", None, True).text
    '.venv/ does not exist yet; setup creates it with this Python (3.11.7, py)'
    >>> venv_finding((3, 11, 2), "old", (3, 11, 7), "new", "python3.11", True).level
    'note'
    >>> venv_finding((3, 11, 2), "old", (3, 11, 2), "old", None, True).level
    'problem'
    """
    if venv_version is None:
        return Finding("ok", ".venv", f".venv/ does not exist yet; setup creates it with this "
                       f"Python ({version_text(current)}, {current_executable})")
    made = f".venv/ was made with Python {version_text(venv_version)} ({venv_executable})"
    if python_env and tuple(venv_version[:3]) != tuple(current[:3]):
        return Finding("note", ".venv",
                       f"{made}; PYTHON={python_env} is {version_text(current)}: setup deletes "
                       f".venv/ and builds it again with {version_text(current)} (a full install; "
                       f"{LEARNER_DIR}/ is not touched)")
    if tuple(venv_version[:2]) < OLDEST_PYTHON or (with_kit and not pins_apply("cpython", venv_version)):
        return Finding("problem", ".venv",
                       f"{made}, which {'the room kit cannot install' if with_kit else 'is too old'}"
                       " (it needs CPython 3.11.5 or newer 3.11)",
                       "delete the .venv folder, then " + _install_311_fix())
    if tuple(venv_version[:3]) != tuple(current[:3]):
        return Finding("note", ".venv",
                       f"{made}, not with this Python ({version_text(current)}); setup keeps "
                       "using .venv/'s", "to rebuild .venv/ with this Python: PYTHON="
                       f"{current_executable} ./run.sh lab, or delete the .venv folder")
    return Finding("ok", ".venv", made)


def path_finding(repo: str, long_paths: bool | None) -> Finding:
    """Windows: is the course folder's path short enough for the install's longest file?

    >>> path_finding("C:/course/transfer-learning-course", long_paths=False).level
    'ok'
    >>> path_finding("C:/Users/" + "x" * 120, long_paths=False).level
    'problem'
    >>> path_finding("C:/Users/" + "x" * 120, long_paths=True).level
    'ok'
    """
    limit = WINDOWS_MAX_PATH - 1 - WINDOWS_LONGEST_INSTALLED
    text = f"the course folder's path has {len(repo)} characters ({repo})"
    if len(repo) <= limit or long_paths:
        return Finding("ok", "path", text + (" and Windows' long paths are on" if long_paths else
                                             f"; at most {limit} work without long-path support"))
    return Finding("problem", "path",
                   f"{text}; the install writes files {WINDOWS_LONGEST_INSTALLED} characters "
                   f"deeper, over Windows' {WINDOWS_MAX_PATH}-character limit (long paths are off)",
                   "move the course folder to a short path, e.g. C:\\course (no admin rights "
                   "needed; delete .venv there if one was made), or ask an administrator to turn "
                   "on long paths (LongPathsEnabled)")


def windows_long_paths() -> bool | None:
    """Whether Windows' long-path support is on (None when unknown or not Windows)."""
    try:
        import winreg  # type: ignore[import-not-found]

        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE,  # type: ignore[attr-defined]
                            r"SYSTEM\CurrentControlSet\Control\FileSystem") as key:
            return bool(winreg.QueryValueEx(key, "LongPathsEnabled")[0])  # type: ignore[attr-defined]
    except (ImportError, OSError):
        return None


def disk_finding(free_bytes: int, key: str | None, from_kit: bool, installed: bool = False) -> Finding:
    """Free disk against what an install measured (more from the index: pip's download cache).

    >>> disk_finding(20 * 2**30, "linux-x86_64", from_kit=True).level
    'ok'
    >>> disk_finding(5 * 2**30, "linux-x86_64", from_kit=True).level
    'problem'
    >>> disk_finding(5 * 2**30, "linux-x86_64", from_kit=True, installed=True).level
    'ok'
    """
    if installed:
        return Finding("ok", "disk", f"{free_bytes / 2**30:.1f} GiB free; the course is "
                       "already installed in .venv/")
    need = INSTALL_GIB.get(key or "", max(INSTALL_GIB.values()))
    if not from_kit:
        need += DOWNLOAD_GIB.get(key or "", max(DOWNLOAD_GIB.values()))
    free = free_bytes / 2**30
    source = "from a kit folder" if from_kit else "over the network (the index or a served kit)"
    text = f"{free:.1f} GiB free here; an install {source} needs about {need:.1f} GiB"
    if free < need:
        return Finding("problem", "disk", text, f"free {need - free:.1f} GiB more (empty the "
                       "trash, delete downloads), or clone the course onto a disk with more room")
    return Finding("ok", "disk", text)


def memory_finding(total: int | None, available: int | None, need_gb: float,
                   heaviest: str) -> Finding:
    """Memory against the heaviest notebook's measured kernel peak plus JupyterLab itself.

    >>> memory_finding(8 * 10**9, 6 * 10**9, 1.5, "11_x").level
    'ok'
    >>> memory_finding(10**9, 10**9, 1.5, "11_x").level
    'problem'
    """
    if total is None:
        return Finding("note", "memory", "could not read this laptop's memory",
                       "notebook 00 prints a memory report once the course is installed")
    text = (f"{total / 1e9:.1f} GB in all"
            + (f", {available / 1e9:.1f} GB available now" if available is not None else "")
            + f"; the heaviest notebook ({heaviest}) with JupyterLab needs {need_gb:.2f} GB")
    if total / 1e9 < need_gb:
        return Finding("problem", "memory", text, f"this laptop cannot run {heaviest}; use Binder "
                       f"({BINDER_URL}) or pair up for that notebook")
    if available is not None and available / 1e9 < need_gb:
        return Finding("note", "memory", text, "close other programs and browser tabs before "
                       "the workshop; shut down each notebook's kernel before opening the next")
    return Finding("ok", "memory", text)


def network_finding(what: str, url: str, error: str | None, needed: bool) -> Finding:
    """Whether the package index (or a served kit) answered within a few seconds.

    >>> network_finding("package index", "https://pypi.org/simple/", None, True).level
    'ok'
    >>> network_finding("package index", "https://pypi.org/simple/", "timed out", True).level
    'problem'
    """
    if error is None:
        return Finding("ok", "network", f"the {what} answers ({url})")
    text = f"cannot reach the {what} ({url}): {error}"
    if needed:
        return Finding("problem", "network", text,
                       "installing needs the package index or a room kit: connect to the internet "
                       "(a proxy? set HTTPS_PROXY), or install from the instructor's kit: "
                       "COURSE_WHEELHOUSE=KIT ./run.sh lab (Windows: py course.py lab --wheelhouse KIT)")
    return Finding("note", "network", text + "; not needed now (installed, or installing from a kit)")


def measured_peaks(results_md: str) -> dict[str, float]:
    """``{notebook: peak GB}`` from the benchmark table (benchmarks/results.md).

    >>> measured_peaks("| `00_start_here` | 0.10 | 0.87 | ✓ |\\n| `11_b` | 0.85 | 1.32 | ✓ |")
    {'00_start_here': 0.87, '11_b': 1.32}
    """
    rows = re.findall(r"^\|\s*`(\d\d_\w+)`\s*\|\s*[\d.]+\s*\|\s*([\d.]+)\s*\|", results_md, re.M)
    return {name: float(peak) for name, peak in rows}


# --------------------------------------------------------------------------- doctor: facts

@dataclass(frozen=True)
class Interpreter:
    """A Python: implementation ("cpython"), version (3, 11, 7) and where it is."""

    implementation: str
    version: tuple[int, ...]
    executable: str


def this_interpreter() -> Interpreter:
    """The Python running this file."""
    return Interpreter(sys.implementation.name, tuple(sys.version_info[:3]), sys.executable)


def read_venv_config(venv: Path) -> dict[str, str] | None:
    """The ``key = value`` lines of ``venv/pyvenv.cfg`` (None when there is no venv).

    >>> import tempfile
    >>> venv = Path(tempfile.mkdtemp()); _ = (venv / "pyvenv.cfg").write_text("home = /usr/bin\\nversion = 3.11.2\\n")
    >>> read_venv_config(venv)["version"]
    '3.11.2'
    """
    try:
        text = (venv / "pyvenv.cfg").read_text(encoding="utf-8")
    except OSError:
        return None
    config = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            config[key.strip().lower()] = value.strip()
    return config


def venv_version(config: Mapping[str, str] | None) -> tuple[tuple[int, ...] | None, str]:
    """The Python version and executable a venv records (``version``/``version_info`` keys).

    >>> venv_version({"version_info": "3.12.1.final.0", "executable": "/usr/bin/python3.12"})
    ((3, 12, 1), '/usr/bin/python3.12')
    """
    if not config:
        return None, ""
    raw = config.get("version") or config.get("version_info") or ""
    numbers = tuple(int(part) for part in re.findall(r"\d+", raw)[:3])
    where = config.get("executable") or config.get("home", "?")
    return (numbers if len(numbers) >= 2 else None), where


def probe(url: str, timeout: float = PROBE_SECONDS) -> tuple[str | None, bytes]:
    """GET ``url`` in a thread that is given up after ``timeout`` s: (error or None, body).

    Never hangs, even when name resolution does (socket timeouts do not cover it).
    """
    import urllib.request

    result: dict[str, object] = {"error": f"no answer within {timeout:.0f} s"}

    def fetch() -> None:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                result.update(error=None, body=response.read(2_000_000))
        except Exception as err:  # noqa: BLE001 - any failure is reported in words
            result["error"] = str(getattr(err, "reason", err)) or type(err).__name__

    thread = threading.Thread(target=fetch, daemon=True)
    thread.start()
    thread.join(timeout + 1)
    return result["error"], result.get("body", b"")  # type: ignore[return-value]


def list_kit(folder: str) -> tuple[list[str] | None, str | None]:
    """Wheel file names in a kit folder or served kit URL: (names or None, error)."""
    if is_url(folder):
        error, body = probe(folder)
        if error is not None:
            return None, error
        names = re.findall(r'href="([^"/?#]+\.whl)', body.decode("utf-8", "replace"))
        return (sorted(set(names)), None) if names else (None, "the page lists no wheels")
    path = Path(folder)
    if not path.is_dir():
        return None, "no such folder"
    names = sorted(p.name for p in path.glob("*.whl"))
    return (names, None) if names else (None, "the folder holds no wheels")


def memory_bytes() -> tuple[int | None, int | None]:
    """(total, available) memory of this machine, or None where the system does not say."""
    try:
        if sys.platform.startswith("linux"):
            info = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
            kib = {k: int(v.split()[0]) * 1024 for k, v in info.items() if k in ("MemTotal", "MemAvailable")}
            return kib.get("MemTotal"), kib.get("MemAvailable")
        if sys.platform == "darwin":
            out = subprocess.run(["sysctl", "-n", "hw.memsize"], capture_output=True, text=True,
                                 timeout=5).stdout
            return int(out.strip()), None
        if sys.platform == "win32":
            import ctypes

            class Status(ctypes.Structure):
                _fields_ = [("length", ctypes.c_ulong), ("load", ctypes.c_ulong),
                            ("total", ctypes.c_ulonglong), ("available", ctypes.c_ulonglong),
                            ("a", ctypes.c_ulonglong), ("b", ctypes.c_ulonglong),
                            ("c", ctypes.c_ulonglong), ("d", ctypes.c_ulonglong),
                            ("e", ctypes.c_ulonglong)]
            status = Status()
            status.length = ctypes.sizeof(Status)
            if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
                return int(status.total), int(status.available)
    except (OSError, ValueError, subprocess.SubprocessError):
        pass
    return None, None


def macos_version() -> tuple[int, ...] | None:
    """(14, 5) on macOS 14.5; None elsewhere."""
    release = platform.mac_ver()[0]
    return tuple(int(p) for p in release.split(".")[:2]) if release else None


def verify_checksums(kit: Path, key: str | None) -> Finding:
    """Check this platform's kit files (and course.zip) against the kit's SHA256SUMS."""
    sums = kit / "SHA256SUMS"
    if not sums.is_file():
        return Finding("problem", "checksums", f"no SHA256SUMS in {kit}",
                       "copy the whole kit folder, SHA256SUMS included")
    bad, checked = [], 0
    for line in sums.read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition("  ")
        if not name or (key and "/" in name and not name.startswith(key + "/")):
            continue
        path = kit / name
        checked += 1
        if not path.is_file() or _sha256(path) != digest:
            bad.append(name)
    if bad:
        return Finding("problem", "checksums", f"{len(bad)} of {checked} files missing or damaged, "
                       f"e.g. {bad[0]}", "copy those files (or the whole kit) again")
    return Finding("ok", "checksums", f"{checked} files match SHA256SUMS")


def index_url(env: Mapping[str, str]) -> str:
    """The package index pip uses (PIP_INDEX_URL, else PyPI)."""
    return env.get("PIP_INDEX_URL") or INDEX_URL


def wanted_fingerprint(repo: Path, env: Mapping[str, str], key: str | None, implementation: str,
                       version: Sequence[int]) -> tuple[str, Path | None, str]:
    """The fingerprint an install with this Python should have, its pins file and why those pins."""
    constraints, why = choose_constraints(key, implementation, version,
                                          env.get("COURSE_CONSTRAINTS"), repo / "constraints")
    if constraints is not None and not constraints.is_file():
        raise LauncherError(f"Constraints file {constraints} not found. Restore it from git, or "
                            "set COURSE_CONSTRAINTS=none.")
    project = repo / "pyproject.toml"
    fingerprint = install_fingerprint(project.read_bytes() if project.is_file() else b"",
                                      constraints.read_bytes() if constraints else None,
                                      f"{implementation} {version_text(version)}")
    return fingerprint, constraints, why


def doctor_findings(repo: Path, venv: Path, env: Mapping[str, str], wheelhouse: str | None,
                    offline: bool = False, checksums: bool = False) -> list[Finding]:
    """Every pre-flight verdict for this laptop; reads files and probes URLs, changes nothing."""
    here = this_interpreter()
    key = platform_key(sys.platform, platform.machine())
    config = read_venv_config(venv)
    version, executable = venv_version(config)
    kept = version is not None and not (env.get("PYTHON") and tuple(version[:3]) != here.version)
    used = Interpreter("cpython", version, executable) if kept else here   # type: ignore[arg-type]
    findings = [platform_finding(sys.platform, platform.machine(), macos_version()),
                python_finding(used.implementation, used.version, used.executable, bool(wheelhouse)),
                venv_finding(version, executable, here.version, here.executable,
                             env.get("PYTHON"), bool(wheelhouse))]
    installed = version is not None and not needs_install(venv / STAMP_NAME, wanted_fingerprint(
        repo, env, key, "cpython", version)[0])
    if sys.platform == "win32":
        findings.append(path_finding(str(repo), windows_long_paths()))
    if wheelhouse:
        if key is None:
            findings.append(Finding("problem", "kit", "a room kit has no wheels for this platform",
                                    "install online instead (unset COURSE_WHEELHOUSE)"))
        else:
            folder = wheelhouse_folder(wheelhouse, key)
            listing, error = (None, "skipped (--offline)") if offline and is_url(folder) else list_kit(folder)
            findings.append(kit_finding(wheelhouse, folder, listing, error, used.implementation,
                                        used.version))
            if checksums and not is_url(wheelhouse):
                kit = Path(folder).parent if Path(wheelhouse).name == key else Path(wheelhouse)
                findings.append(verify_checksums(kit, key))
    usage = shutil.disk_usage(repo)
    findings.append(disk_finding(usage.free, key, bool(wheelhouse) and not is_url(wheelhouse or ""), installed))
    results = repo / "benchmarks" / "results.md"
    peaks = measured_peaks(results.read_text(encoding="utf-8")) if results.is_file() else {}
    if peaks:
        heaviest = max(peaks, key=peaks.get)  # type: ignore[arg-type]
        findings.append(memory_finding(*memory_bytes(), peaks[heaviest] + JUPYTERLAB_SERVER_GB,
                                       heaviest))
    if not offline:
        url = index_url(env)
        error, _ = probe(url + "pip/" if url.endswith("/") else url)
        findings.append(network_finding("package index", url, error,
                                        needed=not wheelhouse and not installed))
    return findings


# --------------------------------------------------------------------------- learner copies

def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_record(folder: Path) -> dict[str, str]:
    try:
        return json.loads((folder / COPIES_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_record(folder: Path, record: dict[str, str]) -> None:
    text = json.dumps(record, indent=1, sort_keys=True) + "\n"
    (folder / COPIES_RECORD).write_text(text, encoding="utf-8")


def learner_copies(repo: Path) -> list[str]:
    """Give the learner a copy of every course notebook in ``my_notebooks/``; return news.

    A notebook is copied only when the learner has no copy of it (first launch, or a notebook
    new in the course); an existing copy is never overwritten. When the course's version
    changed since the copy was made (after a ``git pull``), the news says so and how to get it.

    >>> import tempfile
    >>> repo = Path(tempfile.mkdtemp()); (repo / "notebooks").mkdir()
    >>> _ = (repo / "notebooks" / "00_a.ipynb").write_text("{}")
    >>> learner_copies(repo)
    ["my_notebooks/: your own copy of 00_a.ipynb (made now). You work there; the course's notebooks/ stay untouched."]
    >>> learner_copies(repo), (repo / "my_notebooks" / "00_a.ipynb").read_text()
    ([], '{}')
    >>> _ = (repo / "notebooks" / "00_a.ipynb").write_text('{"new": 1}')
    >>> print(learner_copies(repo)[0])
    notebooks/00_a.ipynb changed in the course since your copy was made; your copy is unchanged. For the new version: python course.py fresh 00
    """
    originals = sorted((repo / "notebooks").glob("*.ipynb"))
    folder = repo / LEARNER_DIR
    folder.mkdir(exist_ok=True)
    record, news, made = _read_record(folder), [], []
    for original in originals:
        copy = folder / original.name
        digest = _sha256(original)
        if not copy.exists():
            copy.write_bytes(original.read_bytes())
            record[original.name] = digest
            made.append(original.name)
        elif record.get(original.name) not in (None, digest):
            news.append(f"notebooks/{original.name} changed in the course since your copy was "
                        "made; your copy is unchanged. For the new version: "
                        f"python course.py fresh {original.name[:2]}")
    _write_record(folder, record)
    if made:
        news.insert(0, f"{LEARNER_DIR}/: your own copy of {', '.join(made)} (made now). You "
                       "work there; the course's notebooks/ stay untouched.")
    return news


def fresh_copies(repo: Path, which: list[str], now: str | None = None) -> list[str]:
    """Replace the learner's copies of the notebooks ``which`` ("06", or "all") by the course's.

    The learner's copy is never deleted: it is renamed ``NN_name.mine-<time>.ipynb`` first.

    >>> import tempfile
    >>> repo = Path(tempfile.mkdtemp()); (repo / "notebooks").mkdir()
    >>> _ = (repo / "notebooks" / "06_b.ipynb").write_text("{}")
    >>> _ = learner_copies(repo); _ = (repo / "my_notebooks" / "06_b.ipynb").write_text("mine")
    >>> fresh_copies(repo, ["06"], now="20261126-0400")
    ['my_notebooks/06_b.ipynb: the course version; yours is kept as my_notebooks/06_b.mine-20261126-0400.ipynb']
    >>> sorted(p.name for p in (repo / "my_notebooks").glob("*.ipynb"))
    ['06_b.ipynb', '06_b.mine-20261126-0400.ipynb']
    """
    now = now or time.strftime("%Y%m%d-%H%M%S")
    originals = sorted((repo / "notebooks").glob("*.ipynb"))
    wanted = [o for o in originals if "all" in which or o.name[:2] in which]
    unknown = sorted(set(which) - {"all"} - {o.name[:2] for o in originals})
    if unknown or not which:
        numbers = " ".join(o.name[:2] for o in originals)
        raise LauncherError(f"fresh: no course notebook numbered {' '.join(unknown) or '(none given)'}; "
                            f"give one or more of: {numbers}, or all (e.g. python course.py fresh 06)")
    folder = repo / LEARNER_DIR
    folder.mkdir(exist_ok=True)
    record, news = _read_record(folder), []
    for original in wanted:
        copy = folder / original.name
        kept = ""
        if copy.exists():
            backup = copy.with_name(f"{copy.stem}.mine-{now}.ipynb")
            copy.rename(backup)
            kept = f"; yours is kept as {LEARNER_DIR}/{backup.name}"
        copy.write_bytes(original.read_bytes())
        record[original.name] = _sha256(original)
        news.append(f"{LEARNER_DIR}/{copy.name}: the course version{kept}")
    _write_record(folder, record)
    return news


# --------------------------------------------------------------------------- actions

def _say(line: str) -> None:
    print(f"==> {line}", flush=True)


def _run(cmd: list[str], cwd: Path) -> None:
    _say(" ".join(cmd))
    result = subprocess.run(cmd, cwd=cwd)
    if result.returncode != 0:
        raise SystemExit(result.returncode)


def interpreter_of(python: Path) -> Interpreter:
    """Implementation and version of another interpreter (runs it once)."""
    out = subprocess.run([str(python), "-c", "import sys, json; print(json.dumps("
                          "[sys.implementation.name, list(sys.version_info[:3]), sys.executable]))"],
                         capture_output=True, text=True, check=True).stdout
    implementation, version, executable = json.loads(out)
    return Interpreter(implementation, tuple(version), executable)


def _refuse(findings: list[Finding]) -> None:
    """Stop with the doctor's words when any finding is a problem."""
    problems = [f for f in findings if f.level == "problem"]
    if problems:
        raise LauncherError("\n".join(["cannot set up the course here:"]
                                      + ["  " + line for f in problems for line in f.lines()]
                                      + ["  (python course.py doctor checks everything at once)"]))


def _remove_venv(venv: Path) -> None:
    if venv.is_symlink() or not (venv / "pyvenv.cfg").is_file():
        raise LauncherError(f"{venv} is not a virtual environment this launcher made (a link, or "
                            "no pyvenv.cfg): remove or rename it yourself, then run again.")
    try:
        shutil.rmtree(venv)
    except OSError as err:
        raise LauncherError(f"could not delete {venv} ({err}): close JupyterLab and anything "
                            "running from it, delete the .venv folder by hand, then run again.") from err


def setup(repo: Path, venv: Path, env: Mapping[str, str], wheelhouse: str | None = None,
          _rebuilt: bool = False) -> Path:
    """Create ``venv`` with this interpreter if needed and install the course when it is not installed.

    ``env`` holds the settings (PYTHON, COURSE_CONSTRAINTS, COURSE_WHEELHOUSE); ``wheelhouse``
    (``--wheelhouse``) wins over COURSE_WHEELHOUSE. Returns the venv's Python.
    """
    here = this_interpreter()
    key = platform_key(sys.platform, platform.machine())
    wheelhouse = wheelhouse or env.get("COURSE_WHEELHOUSE") or None
    if wheelhouse and not is_url(wheelhouse):
        wheelhouse = str(Path(wheelhouse).expanduser().resolve())
    python = venv_python(venv, sys.platform)
    config = read_venv_config(venv)
    made_with, made_where = venv_version(config)
    if python.exists() and made_with is not None and env.get("PYTHON") \
            and tuple(made_with[:3]) != here.version:
        _say(venv_finding(made_with, made_where, here.version, here.executable, env.get("PYTHON"),
                          bool(wheelhouse)).text)
        _remove_venv(venv)
    existed = python.exists()
    if not existed:
        _refuse([platform_finding(sys.platform, platform.machine(), macos_version()),
                 python_finding(here.implementation, here.version, here.executable, bool(wheelhouse))]
                + ([path_finding(str(repo), windows_long_paths())] if sys.platform == "win32" else []))
        _say(f"Creating .venv with Python {version_text(here.version)} ({here.executable})")
        import venv as venv_module

        venv_module.EnvBuilder(with_pip=True).create(venv)
    try:
        installed = interpreter_of(python)
    except (OSError, subprocess.CalledProcessError, ValueError):
        if _rebuilt:
            raise
        _say(f".venv/'s Python does not start (was the Python it was made with removed or "
             "upgraded?): deleting .venv/ and building it again")
        _remove_venv(venv)
        return setup(repo, venv, env, wheelhouse, _rebuilt=True)
    fingerprint, constraints, why = wanted_fingerprint(repo, env, key, installed.implementation,
                                                       installed.version)
    stamp = venv / STAMP_NAME
    if not needs_install(stamp, fingerprint):
        return python
    wheels = None
    if wheelhouse:
        _refuse([venv_finding(installed.version, installed.executable, here.version,
                              here.executable, None, True) if existed else
                 python_finding(installed.implementation, installed.version, installed.executable, True)])
        wheels = wheelhouse_folder(wheelhouse, key)
        listing, error = list_kit(wheels)
        _refuse([kit_finding(wheelhouse, wheels, listing, error, installed.implementation,
                             installed.version)])
    first = " (first time: a few minutes)" if not stamp.is_file() else ""
    _say(f"Installing the course into .venv{first}; {why}"
         + (f"; from the room kit {wheels}, no index" if wheels else ""))
    cmd = install_command(python, constraints, wheels)
    _say(" ".join(cmd))
    if subprocess.run(cmd, cwd=repo).returncode != 0:
        raise LauncherError(_install_failed(wheels, env))
    stamp.write_text(json.dumps({"fingerprint": fingerprint,
                                 "python": f"{installed.implementation} {version_text(installed.version)}",
                                 "pins": constraints.name if constraints else None,
                                 "from": wheels or index_url(env),
                                 "when": time.strftime("%Y-%m-%d %H:%M")}, indent=1) + "\n",
                     encoding="utf-8")
    return python


def _install_failed(wheels: str | None, env: Mapping[str, str]) -> str:
    """Why pip failed, in words: offline without a kit is the usual case in a room."""
    if wheels is not None:
        return (f"pip could not install from the room kit {wheels} (its message is above). Check "
                "the kit: python course.py doctor --wheelhouse KIT --checksums")
    url = index_url(env)
    error, _ = probe(url + "pip/" if url.endswith("/") else url)
    if error is not None:
        return (f"cannot reach the package index ({url}): {error}.\nInstalling needs the package "
                "index or a room kit. Offline, install from the instructor's kit:\n"
                "  COURSE_WHEELHOUSE=KIT ./run.sh lab      (Windows: py course.py lab --wheelhouse KIT)\n"
                "where KIT is the kit folder (USB stick) or its address (http://ADDRESS:8000). "
                "Nothing already installed was changed.")
    return "pip could not install the course (its message is above); the package index answers."


def _jupyter_runtime_dir(python: Path) -> Path | None:
    try:
        out = subprocess.run([str(python), "-c", "from jupyter_core.paths import "
                              "jupyter_runtime_dir; print(jupyter_runtime_dir())"],
                             capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(out) if out else None


def find_server(runtime_dir: Path | None, repo: Path, since: float) -> dict | None:
    """The info of a Jupyter server started after ``since`` that serves ``repo`` (or None).

    Jupyter writes ``jpserver-<pid>.json`` (url, token, root_dir) once it listens.

    >>> import tempfile
    >>> runtime = Path(tempfile.mkdtemp())
    >>> _ = (runtime / "jpserver-7.json").write_text('{"url": "http://localhost:8888/", "root_dir": "/r", "token": "t"}')
    >>> find_server(runtime, Path("/r"), since=0)["url"], find_server(runtime, Path("/other"), since=0)
    ('http://localhost:8888/', None)
    """
    if runtime_dir is None or not runtime_dir.is_dir():
        return None
    for path in runtime_dir.glob("jpserver-*.json"):
        try:
            if path.stat().st_mtime + 1 < since:
                continue
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if Path(info.get("root_dir", "")).resolve() == repo.resolve():
            return info
    return None


def notice(news: list[str], info: dict | None) -> str:
    """The block printed once JupyterLab is up: where it is, then what changed in the course.

    >>> print(notice(["notebooks/06_b.ipynb changed"], {"url": "http://localhost:8888/", "token": "t"}))
    <BLANKLINE>
    ==========================================================================
    JupyterLab is running: http://localhost:8888/lab?token=t
    (stop it with Ctrl-C in this window)
    <BLANKLINE>
    * notebooks/06_b.ipynb changed
    ==========================================================================
    """
    rule = "=" * 74
    lines = ["", rule]
    if info:
        token = f"?token={info['token']}" if info.get("token") else ""
        lines += [f"JupyterLab is running: {info['url'].rstrip('/')}/lab{token}",
                  "(stop it with Ctrl-C in this window)"]
    if news:
        lines += ([""] if info else []) + [f"* {line}" for line in news]
    return "\n".join(lines + [rule])


def run_lab(python: Path, repo: Path, cmd: list[str], news: list[str],
            wait: float = 180.0) -> int:
    """Start JupyterLab; once it listens, print the notice below its start-up lines; wait."""
    import signal

    runtime = _jupyter_runtime_dir(python)
    since = time.time()
    _say(" ".join(cmd))
    process = subprocess.Popen(cmd, cwd=repo)
    previous = {signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN)}  # Ctrl-C is JupyterLab's
    for name in ("SIGTERM", "SIGHUP"):      # stopping the launcher stops JupyterLab too
        if hasattr(signal, name):
            number = getattr(signal, name)
            previous[number] = signal.signal(number, lambda *_: process.terminate())
    try:
        info, deadline = None, time.time() + wait
        while info is None and process.poll() is None and time.time() < deadline:
            time.sleep(0.5)
            info = find_server(runtime, repo, since)
        if process.poll() is None:
            time.sleep(1.0)        # let the server finish its start-up lines first
            print(notice(news, info), flush=True)
        return process.wait()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def doctor(repo: Path, venv: Path, env: Mapping[str, str], wheelhouse: str | None,
           offline: bool, checksums: bool) -> int:
    """Print every verdict; 0 when nothing stops the install, 1 otherwise."""
    wheelhouse = wheelhouse or env.get("COURSE_WHEELHOUSE") or None
    print("Transfer Learning in Practice: pre-flight check (installs nothing, changes nothing)")
    findings = doctor_findings(repo, venv, env, wheelhouse, offline, checksums)
    for finding in findings:
        print("\n".join(finding.lines()))
    problems = sum(f.level == "problem" for f in findings)
    if problems:
        print(f"\n{problems} problem(s): fix them before the workshop (each 'fix:' line says how).")
        return 1
    print("\nReady: nothing stops the install"
          + (" from the room kit." if wheelhouse else ".") + " Next: ./run.sh lab (Windows: py course.py lab)")
    return 0


def _load_kit_tool(repo: Path):
    """constraints/kit.py, the maintainers' room-kit builder (loaded without writing __pycache__)."""
    import importlib.util

    sys.modules.setdefault("course", sys.modules[__name__])
    spec = importlib.util.spec_from_file_location("course_kit", repo / KIT_TOOL)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    before, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    finally:
        sys.dont_write_bytecode = before
    return module


# --------------------------------------------------------------------------- command line

_INSTALL_HELP = ("install from this room kit only, never from the internet: the kit folder "
                 "(USB stick) or its address, e.g. http://192.168.1.10:8000 "
                 "(default: $COURSE_WHEELHOUSE)")


def build_parser(repo: Path = REPO) -> argparse.ArgumentParser:
    """The command line: one subcommand per job; ``--help`` on each describes it and does nothing."""
    parser = argparse.ArgumentParser(
        prog="course.py", allow_abbrev=False,
        description="Set up and run the course 'Transfer Learning in Practice' (./run.sh calls "
                    "this file). Start with `doctor`, then `lab`.",
        epilog="Environment: PYTHON (run.sh: the Python that creates .venv/), "
               "COURSE_CONSTRAINTS=none (no exact pins), COURSE_WHEELHOUSE=KIT (install from a kit).")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, summary: str, description: str, install: bool = False,
                passes: str | None = None) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=summary, description=description, allow_abbrev=False,
                                  epilog=(f"Any other arguments go to {passes}." if passes else None))
        if install:
            sub.add_argument("--wheelhouse", metavar="KIT", help=_INSTALL_HELP)
        return sub

    doctor_cmd = command("doctor", "check this laptop before installing (seconds, changes nothing)",
                         "Check, in seconds and before installing anything: the platform, the "
                         "Python against the pins (CPython 3.11.5+), whether a room kit fits this "
                         "Python and platform, free disk and memory against the measured needs, "
                         "whether the kit or the package index answers, and which Python an "
                         "existing .venv/ uses. Each problem comes with its fix. Exit status 1 "
                         "when something must be fixed.")
    doctor_cmd.add_argument("--wheelhouse", metavar="KIT",
                            help="also check this room kit (folder or address); default: "
                                 "$COURSE_WHEELHOUSE")
    doctor_cmd.add_argument("--offline", action="store_true",
                            help="skip the network checks (the index, a served kit)")
    doctor_cmd.add_argument("--checksums", action="store_true",
                            help="also check the kit's files against its SHA256SUMS (reads "
                                 "every file of this platform's folder)")
    command("setup", "create .venv/ if needed and install the course",
            "Create .venv/ with this Python if needed, and install the course with its exact "
            "pins when it is not installed yet (or pyproject.toml, the pins or the Python "
            "changed). Opens nothing. Run it before a workshop.", install=True)
    lab = command("lab", "set up, then open JupyterLab at your copy of notebook 00",
                  "Set up (as `setup`), give you your own copies of the notebooks in "
                  f"{LEARNER_DIR}/ (never overwritten), then open JupyterLab there. Once "
                  "JupyterLab is up, says which course notebooks changed since your copies "
                  "were made.", install=True, passes="JupyterLab (e.g. --no-browser, --port=9999)")
    lab.add_argument("--originals", action="store_true",
                     help="open the course's own notebooks/ instead of your copies (maintainers)")
    fresh = command("fresh", "replace your copy of a notebook by the course's current one",
                    f"Replace your copy of each notebook given in {LEARNER_DIR}/ by the course's "
                    "current version. Your copy is kept beside it, renamed "
                    "NN_name.mine-<time>.ipynb. Installs nothing.")
    fresh.add_argument("notebooks", nargs="+", metavar="NN",
                       help="two-digit notebook numbers (e.g. 06), or all")
    command("test", "set up, then run the unit tests and every notebook (what CI runs)",
            "Set up (as `setup`), then run the README's test command: the unit tests, the "
            "doctests and every notebook top to bottom under nbval, with coverage.",
            install=True, passes="pytest (e.g. -k launcher, -x)")
    command("bench", "set up, then re-measure the notebooks (rewrites README tables)",
            "Set up (as `setup`), then run benchmarks/run_notebooks.py (each notebook's time and "
            "memory: README and INSTRUCTORS tables), benchmarks/robustness.py (every verdict of "
            "06-11 at 4x the budget), benchmarks/speed.py and benchmarks/own_photos.py.",
            install=True, passes="benchmarks/run_notebooks.py (e.g. --no-readme)")
    kit = command("wheelhouse", "build a room kit: every wheel, the course, checksums (maintainers)",
                  "Build a self-contained room kit in DIR on a connected machine: every wheel "
                  "the course needs for each platform (DIR/<platform>/), the course itself "
                  "(DIR/course.zip, from git), a README with each system's commands, and "
                  f"SHA256SUMS. The code is in {KIT_TOOL}.")
    _load_kit_tool(repo).add_arguments(kit)
    return parser


#: Commands whose extra arguments go to another program.
PASS_THROUGH = ("lab", "test", "bench")


def main(argv: list[str] | None = None, repo: Path = REPO,
         env: Mapping[str, str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    env = os.environ if env is None else env
    parser = build_parser(repo)
    args, extra = parser.parse_known_args(argv)
    if args.command is None:
        parser.print_usage(sys.stderr)
        print("course.py: give a command, e.g. `python course.py doctor` or `python course.py lab` "
              "(python course.py --help lists them)", file=sys.stderr)
        return 2
    if extra and args.command not in PASS_THROUGH:
        parser.error(f"{args.command}: unrecognized arguments: {' '.join(extra)}")
    venv = repo / ".venv"
    os.chdir(repo)
    try:
        if args.command == "doctor":
            return doctor(repo, venv, env, args.wheelhouse, args.offline, args.checksums)
        if args.command == "wheelhouse":
            return _load_kit_tool(repo).run(args, repo)
        if args.command == "fresh":
            for line in fresh_copies(repo, args.notebooks):
                _say(line)
            return 0
        python = setup(repo, venv, env, args.wheelhouse)
        if args.command == "setup":
            _say(f"Ready: {python}")
            return 0
        if args.command == "lab":
            as_root = hasattr(os, "geteuid") and os.geteuid() == 0
            start, news = NOTEBOOK_00, []
            if not args.originals:
                news = learner_copies(repo)
                start = f"{LEARNER_DIR}/{Path(NOTEBOOK_00).name}"
            return run_lab(python, repo, lab_command(python, repo, as_root, extra, start), news)
        if args.command == "test":
            return _hand_over(test_command(python, extra), repo)
        for cmd in bench_commands(python, extra):
            _run(cmd, repo)
        return 0
    except LauncherError as err:
        print(f"course.py: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _hand_over(cmd: list[str], cwd: Path) -> int:
    """Run cmd as the last step: exec on Linux/macOS, a child on Windows.

    Ctrl-C then reaches pytest alone, which shuts down cleanly.
    """
    _say(" ".join(cmd))
    if os.name == "posix":
        os.chdir(cwd)
        os.execv(cmd[0], cmd)
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return subprocess.call(cmd, cwd=cwd)


if __name__ == "__main__":
    sys.exit(main())
