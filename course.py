#!/usr/bin/env python3
"""Transfer Learning in Practice: set up the course and open it, test it or measure it.

The same commands on Linux, macOS and Windows (standard library only, no bash needed)::

    python course.py setup        create .venv/ if needed and install (e.g. before a workshop)
    python course.py lab [ARGS]   create .venv/ if needed, install, open JupyterLab at notebook 00
                                  (your own copies in my_notebooks/; --originals for notebooks/)
    python course.py fresh NN ... replace your copy of notebook NN by the course's current one
                                  (your copy is kept, renamed; e.g. `fresh 06`, `fresh all`)
    python course.py test [ARGS]  ... install, run the unit tests and every notebook (ARGS go to pytest)
    python course.py bench [ARGS] ... install, run the benchmarks (README tables)
    python course.py wheelhouse DIR [--platform NAME ...]
                                  download every wheel the course needs into DIR/NAME/ (room kit)

``./run.sh lab`` and ``./run.sh test`` are the same commands (run.sh only calls this file).

Environment variables (and flags):
    COURSE_CONSTRAINTS=none     install without exact pins (the newest compatible versions)
    COURSE_WHEELHOUSE=DIR       install from DIR/<platform>/ only, never from the internet
    (or --wheelhouse DIR)       (a folder made by `python course.py wheelhouse DIR`, or its URL
                                when one laptop serves it: `python -m http.server` in DIR)

Pins: ``constraints/<platform>.txt`` for linux-x86_64, macos-arm64 and windows-x86_64, made for
CPython 3.11 (3.11.5 or newer). On any other platform or Python the launcher says so and installs
without pins. The platform logic (the functions before "actions" below) is pure (no installs)
and unit-tested in tests/test_launcher.py for all three systems.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent
VENV = REPO / ".venv"
STAMP_NAME = ".course-installed"
CONSTRAINTS_DIR = REPO / "constraints"
NOTEBOOK_00 = "notebooks/00_start_here.ipynb"
#: The learner's own copies of the notebooks (git-ignored): `lab` opens these, so "Run All"
#: and autosave never touch the tracked notebooks and `git pull` never conflicts with them.
LEARNER_DIR = "my_notebooks"
COPIES_RECORD = ".originals.json"

#: CPython version the pins were resolved for (soupsieve's pin needs 3.11.5 or newer).
PINNED_PYTHON = (3, 11)
PINNED_PYTHON_MIN_MICRO = 5
#: pip's --python-version for wheelhouse downloads (the version CI uses).
WHEELHOUSE_PYTHON = "3.11.7"

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

#: Build requirements of `pip install -e .` (pyproject's build-system), needed in a wheelhouse.
BUILD_REQUIREMENTS = ("setuptools>=64", "wheel")

TEST_ARGS = ["tests", "course_lib", "notebooks", "--doctest-modules",
             "--nbval-lax", "--sanitize-with", "tests/nbval_sanitize.cfg",
             "--cov=course_lib", "--cov-report=term", "--cov-fail-under=90",
             "--durations=15"]


COMMANDS = ("setup", "lab", "test", "bench", "wheelhouse", "fresh")


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


def pins_apply(implementation: str, version: tuple[int, ...]) -> bool:
    """True when the exact pins fit this interpreter (CPython 3.11.5+ on 3.11).

    >>> pins_apply("cpython", (3, 11, 7)), pins_apply("cpython", (3, 12, 1))
    (True, False)
    """
    return (implementation == "cpython" and tuple(version[:2]) == PINNED_PYTHON
            and (len(version) < 3 or version[2] >= PINNED_PYTHON_MIN_MICRO))


def choose_constraints(key: str | None, implementation: str, version: tuple[int, ...],
                       setting: str | None, folder: Path = CONSTRAINTS_DIR) -> tuple[Path | None, str]:
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
        found = ".".join(map(str, version[:3]))
        return None, (f"no pins: they are for CPython 3.11.{PINNED_PYTHON_MIN_MICRO}+ and this is "
                      f"{implementation} {found}; installing the newest compatible versions "
                      f"(to use the pins: PYTHON=python3.11 ./run.sh lab, or py -3.11 course.py lab)")
    path = folder / f"{key}.txt"
    return path, f"exact pins for {key} ({path.as_posix()})"


def wheelhouse_folder(wheelhouse: str, key: str | None) -> str:
    """Where this platform's wheels are in a room kit: a folder, or a URL when one laptop serves it.

    >>> wheelhouse_folder("/usb/kit", "windows-x86_64").replace("\\\\", "/")
    '/usb/kit/windows-x86_64'
    >>> wheelhouse_folder("http://192.168.1.10:8000/", "macos-arm64")
    'http://192.168.1.10:8000/macos-arm64/'
    """
    if key is None:
        raise LauncherError("A wheelhouse holds wheels for " + ", ".join(PLATFORMS)
                            + " only; this laptop is none of them. Unset COURSE_WHEELHOUSE and "
                            "install from the package index.")
    if is_url(wheelhouse):
        return wheelhouse.rstrip("/") + f"/{key}/"
    return str(Path(wheelhouse) / key)


def is_url(location: str) -> bool:
    """True for http(s) addresses (a kit served with `python -m http.server`)."""
    return location.startswith(("http://", "https://"))


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


def install_fingerprint(files: list[Path], mode: str) -> str:
    """A digest of what an install depends on: reinstall when pyproject or pins change."""
    digest = hashlib.sha256(mode.encode())
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes() if path.is_file() else b"<missing>")
    return digest.hexdigest()


def needs_install(stamp: Path, fingerprint: str) -> bool:
    """True when nothing was installed yet or the inputs changed since the last install."""
    return not stamp.is_file() or stamp.read_text().strip() != fingerprint


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


# --------------------------------------------------------------------------- learner copies

def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


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
    import time

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


def test_command(python: Path | str, extra: list[str]) -> list[str]:
    """The README's test command (what CI runs), with extra pytest arguments appended."""
    return [str(python), "-m", "pytest", *TEST_ARGS, *extra]


def bench_commands(python: Path | str, extra: list[str]) -> list[list[str]]:
    """The notebook benchmark (README table), then the speed claims, then the own-photos recipe."""
    return [[str(python), "benchmarks/run_notebooks.py", *extra],
            [str(python), "benchmarks/speed.py"],
            [str(python), "benchmarks/own_photos.py"]]


def read_requirements(pyproject_text: str) -> list[str]:
    """The course's dependencies and test extras, read from pyproject.toml's text.

    >>> read_requirements('dependencies = [\\n "torch>=2.4",\\n]\\ntest = ["pytest>=8"]\\n')
    ['torch>=2.4', 'pytest>=8']
    """
    found = []
    for key in ("dependencies", "test"):
        match = re.search(rf"^{key}\s*=\s*\[(.*?)\]", pyproject_text, re.M | re.S)
        if match:
            found += re.findall(r'"([^"]+)"', match.group(1))
    return found


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


def download_command(python: Path | str, key: str, dest: Path,
                     constraints: Path) -> list[str]:
    """``pip download`` of every pinned wheel for ``key`` (no resolving: the pins are the closure).

    The pins list the complete set of packages for that platform, so each is fetched with
    ``--no-deps``; this avoids pip judging platform markers by the machine it runs on.

    >>> cmd = download_command("py", "windows-x86_64", Path("w"), Path("c.txt"))
    >>> cmd[3:8]
    ['download', '--no-deps', '--only-binary=:all:', '--python-version', '3.11.7']
    >>> cmd[cmd.index("--platform") + 1], cmd[-2:]
    ('win_amd64', ['-r', 'c.txt'])
    """
    cmd = [str(python), "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--python-version", WHEELHOUSE_PYTHON, "--implementation", "cp",
           "--abi", "cp311", "--abi", "abi3", "--abi", "none"]
    for tag in PLATFORM_TAGS[key]:
        cmd += ["--platform", tag]
    return cmd + ["--disable-pip-version-check", "-d", str(dest), "-r", str(constraints)]


def build_download_command(python: Path | str, dest: Path) -> list[str]:
    """``pip download`` of the build backend that ``pip install -e .`` needs (pure Python)."""
    return [str(python), "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            "--disable-pip-version-check", "-d", str(dest), *BUILD_REQUIREMENTS]


def wheel_name_version(filename: str) -> tuple[str, str]:
    """Normalized project name and version of a wheel file.

    >>> wheel_name_version("typing_extensions-4.16.0-py3-none-any.whl")
    ('typing-extensions', '4.16.0')
    """
    name, version = filename.split("-")[:2]
    return normalize(name), version


def folder_size(path: Path) -> int:
    """Bytes in all files under ``path``."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# --------------------------------------------------------------------------- actions

def _run(cmd: list[str], **kwargs) -> None:
    print("==> " + " ".join(cmd), flush=True)
    result = subprocess.run(cmd, cwd=REPO, **kwargs)
    if result.returncode != 0:
        raise SystemExit(result.returncode)


def _interpreter(python: Path) -> tuple[str, tuple[int, ...]]:
    out = subprocess.run([str(python), "-c", "import sys, json; print(json.dumps("
                          "[sys.implementation.name, list(sys.version_info[:3])]))"],
                         capture_output=True, text=True, check=True).stdout
    implementation, version = json.loads(out)
    return implementation, tuple(version)


def setup(wheelhouse: str | None = None) -> Path:
    """Create .venv with this interpreter if needed and (re)install when inputs changed."""
    python = venv_python(VENV, sys.platform)
    if not python.exists():
        if sys.version_info < (3, 10):  # noqa: UP036 - this file still runs there, to say so
            raise LauncherError(f"The course needs Python 3.10 or newer; this is "
                                f"{platform.python_version()}. Run this file with a newer Python "
                                "(3.11 recommended).")
        print(f"==> Creating .venv with Python {platform.python_version()}", flush=True)
        import venv

        venv.EnvBuilder(with_pip=True).create(VENV)
    key = platform_key(sys.platform, platform.machine())
    implementation, version = _interpreter(python)
    constraints, why = choose_constraints(key, implementation, version,
                                          os.environ.get("COURSE_CONSTRAINTS"))
    wheelhouse = wheelhouse or os.environ.get("COURSE_WHEELHOUSE")
    if wheelhouse and not is_url(wheelhouse):
        wheelhouse = str(Path(wheelhouse).resolve())
    wheels = wheelhouse_folder(wheelhouse, key) if wheelhouse else None
    if wheels is not None and not is_url(wheels) and not Path(wheels).is_dir():
        raise LauncherError(f"No wheelhouse folder {wheels}. Make it on a connected machine with "
                            f"`python course.py wheelhouse {wheelhouse} --platform {key}`.")
    if constraints is not None and not constraints.is_file():
        raise LauncherError(f"Constraints file {constraints} not found. Restore it from git, or "
                            "set COURSE_CONSTRAINTS=none.")
    mode = f"{constraints}|{wheels}"
    inputs = [REPO / "pyproject.toml"] + ([constraints] if constraints else [])
    fingerprint = install_fingerprint(inputs, mode)
    stamp = VENV / STAMP_NAME
    if needs_install(stamp, fingerprint):
        first = " (first time: a few minutes)" if not stamp.is_file() else ""
        print(f"==> Installing the course into .venv{first}; {why}"
              + (f"; from the wheelhouse {wheels}, no index" if wheels else ""), flush=True)
        _run(install_command(python, constraints, wheels))
        stamp.write_text(fingerprint + "\n")
    return python


def build_wheelhouse(dest: Path, keys: list[str], record: bool = False) -> None:
    """Download every wheel for each platform into dest/<platform>/ and print the sizes."""
    sizes = {}
    for key in keys:
        folder = dest / key
        folder.mkdir(parents=True, exist_ok=True)
        constraints = CONSTRAINTS_DIR / f"{key}.txt"
        _run(download_command(sys.executable, key, folder, constraints))
        _run(build_download_command(sys.executable, folder))
        if record:
            _record_wheels(key, folder)
        sizes[key] = folder_size(folder)
    for key, size in sizes.items():
        print(f"{key}: {size / 2**30:.2f} GiB in {dest / key}")
    print(f"\nOn each laptop (offline): COURSE_WHEELHOUSE={dest} python course.py lab")


def _record_wheels(key: str, folder: Path) -> None:
    """Store which wheel file each pin resolved to (checked offline by tests/test_constraints.py)."""
    path = CONSTRAINTS_DIR / "wheels.json"
    table = json.loads(path.read_text()) if path.is_file() else {}
    pins = read_pins((CONSTRAINTS_DIR / f"{key}.txt").read_text())
    files = {wheel_name_version(p.name)[0]: p.name for p in folder.glob("*.whl")}
    table[key] = {name: files[name] for name in sorted(pins) if name in files}
    path.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        print(__doc__ if argv and argv[0] in ("-h", "--help") else
              "usage: python course.py setup | lab [--originals] | test | bench | "
              "fresh NN ... | wheelhouse DIR [--platform NAME ...]", file=sys.stderr)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    command, rest = argv[0], argv[1:]
    os.chdir(REPO)
    try:
        if command == "wheelhouse":
            parser = argparse.ArgumentParser(prog="course.py wheelhouse")
            parser.add_argument("dir", type=Path)
            parser.add_argument("--platform", action="append", choices=PLATFORMS + ("all",))
            parser.add_argument("--record", action="store_true",
                                help="write constraints/wheels.json (maintainers)")
            args = parser.parse_args(rest)
            here = platform_key(sys.platform, platform.machine()) or "linux-x86_64"
            keys = args.platform or [here]
            keys = list(PLATFORMS) if "all" in keys else keys
            build_wheelhouse(args.dir.resolve(), keys, args.record)
            return 0
        if command == "fresh":
            for line in fresh_copies(REPO, rest):
                print(f"==> {line}")
            return 0
        wheelhouse, rest = _pop_option(rest, "--wheelhouse")
        python = setup(wheelhouse)
        if command == "setup":
            print(f"==> Ready: {python}")
            return 0
        if command == "lab":
            as_root = hasattr(os, "geteuid") and os.geteuid() == 0
            start = NOTEBOOK_00
            if "--originals" in rest:
                rest = [arg for arg in rest if arg != "--originals"]
            else:
                for line in learner_copies(REPO):
                    print(f"==> {line}")
                start = f"{LEARNER_DIR}/{Path(NOTEBOOK_00).name}"
            return _hand_over(lab_command(python, REPO, as_root, rest, start))
        if command == "test":
            return _hand_over(test_command(python, rest))
        for cmd in bench_commands(python, rest):
            _run(cmd)
        return 0
    except LauncherError as err:
        print(f"course.py: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _hand_over(cmd: list[str]) -> int:
    """Run cmd as the last step: exec on Linux/macOS (as run.sh did), a child on Windows.

    Ctrl-C then reaches JupyterLab or pytest alone, which shut down cleanly.
    """
    print("==> " + " ".join(cmd), flush=True)
    if os.name == "posix":
        os.execv(cmd[0], cmd)
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return subprocess.call(cmd)


def _pop_option(args: list[str], name: str) -> tuple[str | None, list[str]]:
    """Remove ``name VALUE`` or ``name=VALUE`` from args; return (VALUE, the other args).

    >>> _pop_option(["-k", "x", "--wheelhouse", "/kit"], "--wheelhouse")
    ('/kit', ['-k', 'x'])
    """
    value, rest, i = None, [], 0
    while i < len(args):
        if args[i] == name and i + 1 < len(args):
            value, i = args[i + 1], i + 2
            continue
        if args[i].startswith(name + "="):
            value = args[i].split("=", 1)[1]
        else:
            rest.append(args[i])
        i += 1
    return value, rest


if __name__ == "__main__":
    sys.exit(main())
