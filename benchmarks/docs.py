"""Regenerate the parts of CONTRIBUTING.md that are read from the code: the map of ``course_lib``.

    .venv/bin/python benchmarks/docs.py          # rewrite the map between the MODULE-MAP markers
    .venv/bin/python benchmarks/docs.py --check  # exit 1 if it is out of date (tests do this)

One row per module: what it holds (its line in ``course_lib/__init__.py``'s docstring, which
``tests/test_package.py`` checks), its public functions and classes (read from the source), and
the notebooks that import it (read from the notebooks' code cells). Nothing in the map is typed
by hand, so it cannot drift from the package.
"""
from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "course_lib"
START, END = "<!-- MODULE-MAP:START -->", "<!-- MODULE-MAP:END -->"


def descriptions() -> dict[str, str]:
    """``{module: its line in the package docstring}``."""
    text = ast.get_docstring(ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))) or ""
    return dict(re.findall(r"^- ``(\w+)``: (.+)$", text, flags=re.M))


def public_names(module: str) -> list[str]:
    """The public top-level functions and classes of a module (for ``exercises``: of its ``__init__``)."""
    path = PACKAGE / module / "__init__.py" if (PACKAGE / module).is_dir() else PACKAGE / f"{module}.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.name for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_")]


def notebook_users() -> dict[str, list[str]]:
    """``{module: [notebook numbers whose code imports it]}``."""
    users: dict[str, list[str]] = {}
    pattern = re.compile(r"from course_lib import \(([^)]*)\)|from course_lib import ([^\n#]+)"
                         r"|from course_lib\.(\w+)|import course_lib\.(\w+)")
    for path in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
        found = set()
        for grouped, names, sub, imported in pattern.findall(code):
            for listed in (grouped, names):
                found.update(n.split(" as ")[0].strip() for n in listed.replace("\n", " ").split(",") if n.strip())
            found.update(x for x in (sub, imported) if x)
        for module in found:
            users.setdefault(module, []).append(path.name[:2])
    return users


def _span(numbers: list[str]) -> str:
    if not numbers:
        return "—"
    values = sorted(int(n) for n in numbers)
    parts, start, prev = [], values[0], values[0]
    for v in values[1:] + [None]:
        if v is not None and v == prev + 1:
            prev = v
            continue
        parts.append(f"{start:02d}" if start == prev else f"{start:02d}–{prev:02d}")
        if v is not None:
            start = prev = v
    return ", ".join(parts)


def module_map() -> str:
    """The Markdown table of every module."""
    described, users = descriptions(), notebook_users()
    lines = ["| module | holds | public functions and classes | notebooks |", "| --- | --- | --- | --- |"]
    for module in sorted(described):
        names = public_names(module)
        shown = ", ".join(f"`{n}`" for n in names[:12]) + (f", … ({len(names)} in all)" if len(names) > 12 else "")
        lines.append(f"| `{module}` | {described[module]} | {shown or '—'} | {_span(users.get(module, []))} |")
    return "\n".join(lines)


def update(path: Path = REPO / "CONTRIBUTING.md") -> bool:
    """Rewrite the map in ``path``; True when it changed."""
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{path.name} has no {START} … {END} markers.")
    new = pattern.sub(lambda _: f"{START}\n{module_map()}\n{END}", text)
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


def current(path: Path = REPO / "CONTRIBUTING.md") -> bool:
    text = path.read_text(encoding="utf-8")
    return f"{START}\n{module_map()}\n{END}" in text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the map is out of date")
    args = parser.parse_args(argv)
    if args.check:
        ok = current()
        print("CONTRIBUTING.md's module map is " + ("current." if ok else "out of date: run benchmarks/docs.py."))
        return 0 if ok else 1
    print("CONTRIBUTING.md's module map " + ("rewritten." if update() else "was already current."))
    return 0


if __name__ == "__main__":
    sys.exit(main())
