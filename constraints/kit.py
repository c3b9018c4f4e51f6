"""The room kit: everything a room of laptops needs to install the course with no internet.

Maintainers and instructors run it on one connected machine, through the launcher::

    python course.py wheelhouse /media/usb/course-kit --platform all

It writes, in the kit folder:

* ``<platform>/``: every pinned wheel for linux-x86_64, macos-arm64 and windows-x86_64
  (``pip download --no-deps`` of ``constraints/<platform>.txt``: the pins are the complete set),
  plus the build backend that ``pip install -e .`` needs;
* ``course.zip``: the course itself (``git archive`` of the current commit);
* ``README.txt``: each system's commands, for the learners;
* ``SHA256SUMS``: a checksum per file, to check a copied USB stick
  (``python course.py doctor --wheelhouse KIT --checksums``, or ``sha256sum -c SHA256SUMS``).

Why the Linux kit keeps its CUDA wheels (2.28 of its 3.13 GiB) is measured in
constraints/README.md. The launcher itself (course.py) never imports this file for learners'
commands; ``course.py wheelhouse --help`` reads its options from ``add_arguments``.
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import course  # the launcher (course.py at the repository root): platforms and pins

#: pip's --python-version for wheel downloads (the version CI uses).
WHEELHOUSE_PYTHON = "3.11.7"
#: Build requirements of `pip install -e .` (pyproject's build-system), needed in a kit.
BUILD_REQUIREMENTS = ("setuptools>=64", "wheel")
COURSE_ARCHIVE = "course.zip"
COURSE_FOLDER = "transfer-learning-course"
CHECKSUMS = "SHA256SUMS"
README = "README.txt"


def download_command(python: Path | str, key: str, dest: Path, constraints: Path) -> list[str]:
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
    for tag in course.PLATFORM_TAGS[key]:
        cmd += ["--platform", tag]
    return cmd + ["--disable-pip-version-check", "-d", str(dest), "-r", str(constraints)]


def build_download_command(python: Path | str, dest: Path) -> list[str]:
    """``pip download`` of the build backend that ``pip install -e .`` needs (pure Python).

    >>> build_download_command("py", Path("w"))[-2:]
    ['setuptools>=64', 'wheel']
    """
    return [str(python), "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            "--disable-pip-version-check", "-d", str(dest), *BUILD_REQUIREMENTS]


def wheel_name_version(filename: str) -> tuple[str, str]:
    """Normalized project name and version of a wheel file.

    >>> wheel_name_version("typing_extensions-4.16.0-py3-none-any.whl")
    ('typing-extensions', '4.16.0')
    """
    name, version = filename.split("-")[:2]
    return course.normalize(name), version


def folder_size(path: Path) -> int:
    """Bytes in all files under ``path``."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def sha256sums(kit: Path) -> str:
    """``SHA256SUMS`` text for every file in the kit (``sha256sum -c`` reads it).

    >>> import tempfile
    >>> kit = Path(tempfile.mkdtemp()); (kit / "linux-x86_64").mkdir()
    >>> _ = (kit / "linux-x86_64" / "a.whl").write_bytes(b"")
    >>> sha256sums(kit)
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  linux-x86_64/a.whl\\n'
    """
    return "".join(f"{course._sha256(path)}  {path.relative_to(kit).as_posix()}\n"
                   for path in sorted(p for p in kit.rglob("*") if p.is_file() and p.name != CHECKSUMS))


def kit_readme(keys: list[str], sizes: dict[str, int], commit: str, made: str) -> str:
    """The learners' page of the kit: what is in it and each system's commands.

    >>> text = kit_readme(["windows-x86_64"], {"windows-x86_64": 2**30}, "abc1234", "2026-12-06")
    >>> "py -3.11 course.py lab --wheelhouse" in text, "linux-x86_64" in text
    (True, False)
    """
    rows = "\n".join(f"  {key + '/':<18} wheels for {key} ({sizes.get(key, 0) / 2**30:.2f} GiB)"
                     for key in keys)
    parts = [f"""Transfer Learning in Practice: room kit
(made {made} from commit {commit}; rebuild with `python course.py wheelhouse DIR`)

What is here
  {COURSE_ARCHIVE:<18} the course (unzip it: a folder {COURSE_FOLDER}/)
{rows}
  {CHECKSUMS:<18} a checksum of every file (to check a copy)

You need CPython 3.11 (3.11.5 or newer), 64-bit. KIT below is this folder (a USB stick)
or, when the instructor serves it, its address, e.g. http://192.168.1.10:8000
Nothing here needs the internet.

1. Check your laptop first (seconds, installs nothing):  python course.py doctor --wheelhouse KIT
2. Install and open the course (the first time: a few minutes; later launches need no kit).
When the kit is served, open http://ADDRESS:8000 in a browser to download {COURSE_ARCHIVE}.
"""]
    if "linux-x86_64" in keys or "macos-arm64" in keys:
        parts.append(f"""
Linux and macOS (a terminal)
  unzip KIT/{COURSE_ARCHIVE} -d ~ && cd ~/{COURSE_FOLDER}
  python3.11 course.py doctor --wheelhouse KIT
  COURSE_WHEELHOUSE=KIT PYTHON=python3.11 ./run.sh lab
  (macOS: Apple silicon and macOS 14 or newer; an Intel Mac cannot install the course: use
  Binder or pair up.)
""")
    if "windows-x86_64" in keys:
        parts.append(f"""
Windows (PowerShell; no admin rights needed)
  Expand-Archive KIT\\{COURSE_ARCHIVE} -DestinationPath C:\\course
  cd C:\\course\\{COURSE_FOLDER}
  py -3.11 course.py doctor --wheelhouse KIT
  py -3.11 course.py lab --wheelhouse KIT
  Keep the path short (C:\\course, not a deep Documents folder): without Windows' long-path
  support, installing fails when the course's path is long (doctor checks it).
""")
    parts.append(f"""
Check a copied kit
  python course.py doctor --wheelhouse KIT --checksums     (every system)
  sha256sum -c {CHECKSUMS}   (Linux, in KIT)        shasum -a 256 -c {CHECKSUMS}   (macOS, in KIT)
""")
    return "".join(parts)


def course_archive(repo: Path, dest: Path) -> str:
    """Write the course (the current commit, ``git archive``) as ``dest/course.zip``; its commit."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, check=True,
                                capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo,
                               check=True, capture_output=True, text=True).stdout.strip()
        subprocess.run(["git", "archive", "--format=zip", f"--prefix={COURSE_FOLDER}/",
                        "-o", str(dest / COURSE_ARCHIVE), "HEAD"], cwd=repo, check=True)
    except (OSError, subprocess.CalledProcessError) as err:
        raise course.LauncherError(f"the kit's copy of the course comes from git ({err}); run "
                                   "this in a git clone of the course, with git installed") from err
    if dirty:
        print(f"==> note: {COURSE_ARCHIVE} holds commit {commit}; your uncommitted changes are "
              "not in it (commit them and build again to include them)", flush=True)
    return commit


def longest_install_path(folder: Path) -> tuple[int, str]:
    """The longest path a Windows install writes below the course folder, from the wheels.

    ``.venv\\Lib\\site-packages\\`` plus each file's path in its wheel (``.data/data/``
    files go below ``.venv\\``). Windows without long-path support allows 259 characters.
    """
    import zipfile

    longest = (0, "")
    for wheel in folder.glob("*.whl"):
        with zipfile.ZipFile(wheel) as archive:
            for name in archive.namelist():
                parts = name.split("/", 2)
                if len(parts) == 3 and parts[0].endswith(".data"):
                    where = "" if parts[1] == "data" else "Lib\\site-packages\\"
                    path = ".venv\\" + where + parts[2].replace("/", "\\")
                else:
                    path = ".venv\\Lib\\site-packages\\" + name.replace("/", "\\")
                longest = max(longest, (len(path), path))
    return longest


def record_wheels(constraints_dir: Path, key: str, folder: Path) -> None:
    """Store which wheel file each pin resolved to (checked offline by tests/test_constraints.py)."""
    path = constraints_dir / "wheels.json"
    table = json.loads(path.read_text()) if path.is_file() else {}
    pins = course.read_pins((constraints_dir / f"{key}.txt").read_text())
    files = {wheel_name_version(p.name)[0]: p.name for p in folder.glob("*.whl")}
    table[key] = {name: files[name] for name in sorted(pins) if name in files}
    path.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")


def is_cuda_wheel(filename: str) -> bool:
    """NVIDIA's CUDA libraries and triton: what Linux's PyTorch wheel pulls in for GPUs.

    >>> is_cuda_wheel("nvidia_cudnn_cu13-9.24.0.43-py3-none-x.whl"), is_cuda_wheel("numpy-2.4.6-x.whl")
    (True, False)
    """
    name = wheel_name_version(filename)[0]
    return name.startswith(("nvidia-", "cuda-")) or name == "triton"


def record_sizes(constraints_dir: Path, key: str, folder: Path) -> None:
    """Store the size of this platform's kit folder (the guides' figures are tested against it)."""
    path = constraints_dir / "kit_sizes.json"
    table = json.loads(path.read_text()) if path.is_file() else {}
    wheels = list(folder.glob("*.whl"))
    table[key] = {"wheels": len(wheels), "bytes": folder_size(folder),
                  "cuda_bytes": sum(p.stat().st_size for p in wheels if is_cuda_wheel(p.name)),
                  "triton_bytes": sum(p.stat().st_size for p in wheels
                                      if wheel_name_version(p.name)[0] == "triton"),
                  "measured": time.strftime("%Y-%m-%d")}
    path.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")


SIZES_START, SIZES_END = "<!-- KIT-SIZES:START -->", "<!-- KIT-SIZES:END -->"
#: The guides that show the kit's sizes between the markers above (rewritten by --record).
SIZE_GUIDES = ("constraints/README.md", "INSTRUCTORS.md")


def sizes_table(sizes: dict) -> str:
    """The kit-size table of the guides, from ``constraints/kit_sizes.json``.

    >>> print(sizes_table({"macos-arm64": {"wheels": 2, "bytes": 2**29, "cuda_bytes": 0,
    ...                                    "triton_bytes": 0, "measured": "2026-12-06"}}))
    | kit folder | wheels | size | of which CUDA libraries and triton |
    |---|---:|---:|---:|
    | `macos-arm64/` | 2 | 0.50 GiB | none |
    | all three | 2 | 0.50 GiB | measured 2026-12-06 |
    """
    rows = ["| kit folder | wheels | size | of which CUDA libraries and triton |", "|---|---:|---:|---:|"]
    for key in course.PLATFORMS:
        if key not in sizes:
            continue
        entry = sizes[key]
        cuda = (f"{entry['cuda_bytes'] / 2**30:.2f} GiB (triton alone {entry['triton_bytes'] / 2**20:.1f} MiB)"
                if entry["cuda_bytes"] else "none")
        rows.append(f"| `{key}/` | {entry['wheels']} | {entry['bytes'] / 2**30:.2f} GiB | {cuda} |")
    dates = sorted({entry["measured"] for entry in sizes.values()})
    rows.append(f"| all three | {sum(e['wheels'] for e in sizes.values())} | "
                f"{sum(e['bytes'] for e in sizes.values()) / 2**30:.2f} GiB | measured {', '.join(dates)} |")
    return "\n".join(rows)


def write_size_tables(repo: Path) -> None:
    """Rewrite the kit-size tables of the guides from constraints/kit_sizes.json."""
    sizes = json.loads((repo / "constraints" / "kit_sizes.json").read_text())
    block = f"{SIZES_START}\n{sizes_table(sizes)}\n{SIZES_END}"
    for name in SIZE_GUIDES:
        path = repo / name
        text = path.read_text(encoding="utf-8")
        if SIZES_START in text and SIZES_END in text:
            text = text[:text.index(SIZES_START)] + block + text[text.index(SIZES_END) + len(SIZES_END):]
            path.write_text(text, encoding="utf-8")


def stale_wheels(folder: Path, pins: dict[str, str]) -> list[str]:
    """Wheels in a platform folder that no pin (nor the build backend) asks for: an older kit's.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> for name in ["torch-2.14.1-x.whl", "torch-2.13.0-x.whl", "wheel-0.45-py3-none-any.whl"]:
    ...     _ = (folder / name).write_bytes(b"")
    >>> stale_wheels(folder, {"torch": "2.14.1"})
    ['torch-2.13.0-x.whl']
    """
    build = {course.normalize(r.split(">")[0].split("=")[0]) for r in BUILD_REQUIREMENTS}
    stale = []
    for path in sorted(folder.glob("*.whl")):
        name, version = wheel_name_version(path.name)
        if name not in build and pins.get(name) != version:
            stale.append(path.name)
    return stale


def build(repo: Path, dest: Path, keys: list[str], record: bool = False) -> dict[str, int]:
    """Download every wheel for each platform into dest/<platform>/, add the course, README
    and checksums; print and return the sizes in bytes."""
    constraints_dir = repo / "constraints"
    dest.mkdir(parents=True, exist_ok=True)
    sizes, started = {}, time.time()
    for key in keys:
        folder = dest / key
        folder.mkdir(parents=True, exist_ok=True)
        pins = constraints_dir / f"{key}.txt"
        course._run(download_command(sys.executable, key, folder, pins), repo)
        course._run(build_download_command(sys.executable, folder), repo)
        stale = stale_wheels(folder, course.read_pins(pins.read_text()))
        if record:
            record_wheels(constraints_dir, key, folder)
            if not stale:
                record_sizes(constraints_dir, key, folder)
        if stale:
            print(f"==> note: {folder} also holds {len(stale)} wheels the pins no longer list "
                  f"(e.g. {stale[0]}): delete the folder and build again for a clean kit", flush=True)
        sizes[key] = folder_size(folder)
    if "windows-x86_64" in keys:
        longest = longest_install_path(dest / "windows-x86_64")
        if longest[0] > course.WINDOWS_LONGEST_INSTALLED:
            print(f"==> note: the longest installed path is now {longest[0]} characters "
                  f"({longest[1]}); update WINDOWS_LONGEST_INSTALLED in course.py", flush=True)
    if record:
        write_size_tables(repo)
    commit = course_archive(repo, dest)
    present = [key for key in course.PLATFORMS if (dest / key).is_dir()]
    sizes_all = {key: sizes.get(key) or folder_size(dest / key) for key in present}
    (dest / README).write_text(kit_readme(present, sizes_all, commit, time.strftime("%Y-%m-%d")),
                               encoding="utf-8")
    (dest / CHECKSUMS).write_text(sha256sums(dest), encoding="utf-8")
    for key, size in sizes.items():
        wheels = len(list((dest / key).glob("*.whl")))
        print(f"{key}: {size / 2**30:.2f} GiB, {wheels} wheels in {dest / key}")
    print(f"{COURSE_ARCHIVE}: {(dest / COURSE_ARCHIVE).stat().st_size / 2**20:.1f} MiB (commit {commit}); "
          f"{README}; {CHECKSUMS}. Built in {time.time() - started:.0f} s.")
    print(f"\nOn each laptop (offline): unzip {COURSE_ARCHIVE}, then in the course folder\n"
          f"  python course.py doctor --wheelhouse {dest}\n"
          f"  COURSE_WHEELHOUSE={dest} ./run.sh lab      (Windows: py course.py lab --wheelhouse {dest})\n"
          f"Serving it to a room instead: cd {dest} && python -m http.server 8000 (INSTRUCTORS.md)")
    return sizes


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``course.py wheelhouse`` (shown by its ``--help``)."""
    here = course.platform_key(sys.platform, platform.machine()) or "linux-x86_64"
    parser.add_argument("dir", metavar="DIR", type=Path,
                        help="the kit folder to create or complete, e.g. /media/usb/course-kit "
                             "(each platform's wheels go to DIR/<platform>/)")
    sizes_file = Path(course.__file__).resolve().parent / "constraints" / "kit_sizes.json"
    sizes = json.loads(sizes_file.read_text()) if sizes_file.is_file() else {}
    measured = ", ".join(f"{key} {entry['bytes'] / 2**30:.2f} GiB" for key, entry in sorted(sizes.items()))
    parser.add_argument("--platform", action="append", metavar="NAME",
                        choices=course.PLATFORMS + ("all",),
                        help=f"a platform to download wheels for: {', '.join(course.PLATFORMS)}, "
                             f"or all; repeat it for several (default: this machine's, {here})"
                             + (f". Measured sizes: {measured}" if measured else ""))
    parser.add_argument("--record", action="store_true",
                        help="also write constraints/wheels.json (the wheel each pin resolved to) "
                             "and constraints/kit_sizes.json (maintainers, after changing pins)")


def run(args: argparse.Namespace, repo: Path) -> int:
    """``course.py wheelhouse``: build the kit the options describe."""
    here = course.platform_key(sys.platform, platform.machine()) or "linux-x86_64"
    keys = args.platform or [here]
    keys = list(course.PLATFORMS) if "all" in keys else list(dict.fromkeys(keys))
    build(repo, args.dir.expanduser().resolve(), keys, args.record)
    return 0
