"""The package says what it has: every module file is listed, imports, and is described;
`import course_lib` stays cheap; no two modules import each other."""
import importlib
import re
import subprocess
import sys

import pytest

import course_lib

MODULE_FILES = sorted(p.stem for p in course_lib.paths.PACKAGE_DIR.glob("*.py") if not p.stem.startswith("_"))
MODULE_FILES += ["exercises"]   # a sub-package


def test_every_module_file_is_listed_and_nothing_else():
    assert sorted(course_lib._SUBMODULES) == sorted(MODULE_FILES)
    assert set(course_lib.__all__) == set(MODULE_FILES) | {"__version__"}


@pytest.mark.parametrize("name", sorted(course_lib._SUBMODULES))
def test_every_listed_module_imports_as_an_attribute(name):
    assert getattr(course_lib, name) is importlib.import_module(f"course_lib.{name}")
    assert name in dir(course_lib)


def test_the_docstring_describes_every_module_once():
    described = re.findall(r"^- ``(\w+)``: ", course_lib.__doc__, flags=re.M)
    assert described == sorted(described), "keep the module map in alphabetical order"
    assert described == sorted(course_lib._SUBMODULES)


def test_an_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'experiments'"):
        course_lib.experiments  # noqa: B018


def _imported_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_importing_the_package_does_no_heavy_work():
    assert "torch" not in _imported_after("import course_lib")


def test_training_does_not_import_plots():
    """The plots -> training dependency goes one way only (no import cycle)."""
    assert "course_lib.plots" not in _imported_after("import course_lib.training")
