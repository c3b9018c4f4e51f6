"""Write INSTRUCTORS.md's projector outlines: one page per notebook, from the notebooks themselves.

Each page holds the notebook's title, the article sections it teaches, its "You will" list, its
sections in order with their exercises, and its summary: what the notebook says, never
retyped by hand. Run it after changing a notebook's markdown::

    python tools/instructor_outline.py           # print the outlines
    python tools/instructor_outline.py --write   # replace them in INSTRUCTORS.md
    python tools/instructor_outline.py --check   # exit 1 when INSTRUCTORS.md is out of date

tests/test_outline.py runs the check. Standard library only.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GUIDE = REPO / "INSTRUCTORS.md"
START, END = "<!-- OUTLINE:START -->", "<!-- OUTLINE:END -->"
PAGE_BREAK = '<div style="page-break-after: always"></div>'


def markdown_lines(notebook: Path) -> list[str]:
    """The notebook's markdown, line by line, without fenced code blocks (code shown as text).

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "n.ipynb"
    >>> cell = {"cell_type": "markdown", "source": ["# 01 · T\\n", "```\\n", "# not a heading\\n", "```\\n", "text"]}
    >>> _ = path.write_text(json.dumps({"cells": [cell, {"cell_type": "code", "source": "# code"}]}))
    >>> markdown_lines(path)
    ['# 01 · T', 'text', '']
    """
    lines: list[str] = []
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        fenced = False
        for line in source.splitlines():
            if line.strip().startswith("```"):
                fenced = not fenced
                continue
            if not fenced:
                lines.append(line.rstrip())
        lines.append("")                       # a cell ends a paragraph
    return lines


def bullets(lines: list[str], start: int) -> list[str]:
    """The ``- `` list that begins at or after ``lines[start]``, each item on one line.

    >>> bullets(["intro", "- one", "  continued", "- two", "", "after"], 0)
    ['one continued', 'two']
    """
    items: list[str] = []
    for line in lines[start:]:
        if line.startswith("- "):
            items.append(line[2:].strip())
        elif items and line.strip() and not line.startswith("#"):
            items[-1] += " " + line.strip()
        elif items:
            break
    return items


def outline(notebook: Path) -> dict:
    """Title, article sections, objectives, sections with their exercises, and summary."""
    lines = markdown_lines(notebook)
    title = next(line[2:].strip() for line in lines if line.startswith("# "))
    intro = " ".join(lines[:next(i for i, line in enumerate(lines) if re.search(r"you will", line, re.I))])
    article = re.findall(r"§[\d.]+ [^\s(]+ \([^)]*\)", intro)
    you_will = bullets(lines, next(i for i, line in enumerate(lines) if re.search(r"you will", line, re.I)) + 1)
    flow: list[tuple[str, list[str]]] = []
    summary: list[str] = []
    for i, line in enumerate(lines):
        if line.startswith("## Summary"):
            summary = bullets(lines, i + 1)
        elif line.startswith("## ") and not line.startswith("## Summary"):
            flow.append((line[3:].strip(), []))
        elif re.match(r"### Exercise \d+", line):
            if not flow:
                flow.append(("", []))
            flow[-1][1].append(line[4:].strip())
    return {"title": title, "article": article, "you_will": you_will, "flow": flow, "summary": summary}


def render_page(page: dict) -> str:
    """One notebook's outline as markdown."""
    out = [f"#### {page['title']}", ""]
    if page["article"]:
        out += ["*Article:* " + " · ".join(page["article"]), ""]
    out += ["**You will**"] + [f"- {item}" for item in page["you_will"]] + ["", "**Flow**"]
    for section, exercises in page["flow"]:
        out.append(f"- **{section or '(before the first section)'}**")
        out += [f"  - *{exercise}*" for exercise in exercises]
    if page["summary"]:
        out += ["", "**Take-aways**"] + [f"- {item}" for item in page["summary"]]
    return "\n".join(out)


def render(notebooks: list[Path]) -> str:
    """Every page, with a page break between them for printing."""
    pages = [render_page(outline(nb)) for nb in notebooks]
    note = ("<!-- Generated from the notebooks by tools/instructor_outline.py: edit the notebooks, "
            "then run `python tools/instructor_outline.py --write`. -->")
    return "\n".join([START, note, ""] + [p + f"\n\n{PAGE_BREAK}\n" for p in pages] + [END])


def course_notebooks(repo: Path = REPO) -> list[Path]:
    return sorted((repo / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def replace_between_markers(text: str, block: str) -> str:
    """``text`` with the part from START to END replaced by ``block``.

    >>> replace_between_markers(f"a\\n{START}\\nold\\n{END}\\nb", f"{START}\\nnew\\n{END}")
    'a\\n<!-- OUTLINE:START -->\\nnew\\n<!-- OUTLINE:END -->\\nb'
    """
    if START not in text or END not in text:
        raise SystemExit(f"{GUIDE.name} has no {START} ... {END} markers")
    return text[:text.index(START)] + block + text[text.index(END) + len(END):]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="replace the outlines in INSTRUCTORS.md")
    parser.add_argument("--check", action="store_true", help="exit 1 if INSTRUCTORS.md is stale")
    args = parser.parse_args(argv)
    block = render(course_notebooks())
    guide = GUIDE.read_text(encoding="utf-8")
    updated = replace_between_markers(guide, block)
    if args.check:
        if updated != guide:
            print("INSTRUCTORS.md's projector outlines are out of date: "
                  "python tools/instructor_outline.py --write", file=sys.stderr)
            return 1
        return 0
    if args.write:
        GUIDE.write_text(updated, encoding="utf-8")
        return 0
    print(block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
