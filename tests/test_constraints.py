"""Per-platform pins (constraints/<platform>.txt) and the wheels they resolve to, checked offline.

What these tests prove, and what they do not:

* Every constraints file pins every dependency of pyproject.toml exactly, and the three
  files agree on every package they share (the rule: CI's Linux versions everywhere a wheel
  exists; see constraints/README.md).
* ``constraints/wheels.json`` records, for each platform, the wheel file that a real
  ``python course.py wheelhouse DIR --platform all --record`` downloaded for every pin. The tests
  check that the record covers every pin, that each file's name and version match its pin, and
  that each file's tags (PEP 425) are ones CPython 3.11 accepts on that platform, using
  ``packaging.tags``. So a pin for a version without a wheel for, say, Windows, fails here.
* They do NOT contact the package index: that a file is still served there is proven only
  by running ``python course.py wheelhouse`` (which fails on any missing wheel). If you change
  a pin, re-run that command with ``--record``.
"""
from __future__ import annotations

import importlib.util
import json
import sys
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.tags import compatible_tags, cpython_tags
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

from conftest import REPO_DIR as REPO  # the repository path lives in conftest.py
from conftest import load_course
course = load_course()

WHEELS = json.loads((REPO / "constraints" / "wheels.json").read_text())


def _pins(key: str) -> dict[str, str]:
    return course.read_pins((REPO / "constraints" / f"{key}.txt").read_text())


def _supported_tags(key: str) -> set:
    """The tags pip accepts for CPython 3.11 on this platform (as `pip debug --verbose` lists)."""
    platforms = list(course.PLATFORM_TAGS[key])
    return set(cpython_tags((3, 11), abis=["cp311"], platforms=platforms)) | set(
        compatible_tags((3, 11), interpreter="cp311", platforms=platforms))


def _requirements() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]]


@pytest.mark.parametrize("key", course.PLATFORMS)
def test_each_platform_has_exact_pins_for_every_dependency(key):
    text = (REPO / "constraints" / f"{key}.txt").read_text()
    lines = [line.split("#")[0].strip() for line in text.splitlines()]
    assert all("==" in line and ";" not in line for line in lines if line), "exact pins only"
    pins = _pins(key)
    for requirement in _requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not pinned in constraints/{key}.txt"
        assert requirement.specifier.contains(Version(pins[name])), (name, pins[name])
    assert pins["torch"] == "2.14.1" and pins["torchvision"] == "0.29.1"
    assert "course-lib" not in pins


def test_platforms_agree_on_every_shared_package():
    linux, mac, windows = (_pins(k) for k in course.PLATFORMS)
    for other in (mac, windows):
        differ = {n: (linux[n], other[n]) for n in set(linux) & set(other) if linux[n] != other[n]}
        assert differ == {}


def test_platform_only_packages_stay_on_their_platform():
    linux, mac, windows = (_pins(k) for k in course.PLATFORMS)
    cuda = {n for n in linux if n.startswith(("nvidia-", "cuda-")) or n == "triton"}
    assert "nvidia-cublas" in cuda and "triton" in cuda          # Linux's torch is a CUDA build
    assert not cuda & set(mac) and not cuda & set(windows)
    assert "pywinpty" in windows and "colorama" in windows       # Windows terminals and colours
    assert "appnope" in mac and "pexpect" in mac and "pexpect" not in windows


@pytest.mark.parametrize("key", course.PLATFORMS)
def test_every_pin_has_a_recorded_wheel_for_its_platform(key):
    pins, files, supported = _pins(key), WHEELS[key], _supported_tags(key)
    assert sorted(set(pins) - set(files)) == [], "pins without a recorded wheel (run --record)"
    assert sorted(set(files) - set(pins)) == [], "recorded wheels that are no longer pinned"
    for name, filename in files.items():
        wheel_name, version, _, tags = parse_wheel_filename(filename)
        assert (wheel_name, version) == (name, Version(pins[name])), filename
        assert tags & supported, f"{filename} does not install on {key} (CPython 3.11)"


def test_the_tag_check_rejects_wrong_platforms():
    """The check above can fail: a Linux wheel is not a Windows wheel, and so on."""
    linux_torch = WHEELS["linux-x86_64"]["torch"]
    mac_torch = WHEELS["macos-arm64"]["torch"]
    assert not parse_wheel_filename(linux_torch)[3] & _supported_tags("windows-x86_64")
    assert not parse_wheel_filename(mac_torch)[3] & _supported_tags("linux-x86_64")
    assert not parse_wheel_filename("numpy-2.4.6-cp312-cp312-win_amd64.whl")[3] & _supported_tags(
        "windows-x86_64")                                      # wrong Python
    assert parse_wheel_filename(WHEELS["windows-x86_64"]["torch"])[3] & _supported_tags(
        "windows-x86_64")


def test_constraints_readme_explains_the_rule():
    text = (REPO / "constraints" / "README.md").read_text()
    for phrase in ("linux-x86_64", "macos-arm64", "windows-x86_64", "--record", "macOS 14"):
        assert phrase in text
