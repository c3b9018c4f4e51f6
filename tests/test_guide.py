"""INSTRUCTORS.md and the README's set-up paragraphs stay true: generated parts up to date,
figures equal to what was measured (constraints/kit_sizes.json, course.py's constants), no
stale instructions."""
from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from conftest import REPO_DIR as REPO  # the repository path lives in conftest.py
from conftest import load_course
course = load_course()
kit = course._load_kit_tool(REPO)
_spec = importlib.util.spec_from_file_location("instructor_outline", REPO / "tools" / "instructor_outline.py")
outline = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(outline)

GUIDE = (REPO / "INSTRUCTORS.md").read_text(encoding="utf-8")
README = (REPO / "README.md").read_text(encoding="utf-8")
SIZES = json.loads((REPO / "constraints" / "kit_sizes.json").read_text())


def test_projector_outlines_are_generated_from_the_current_notebooks():
    block = outline.render(outline.course_notebooks(REPO))
    assert outline.replace_between_markers(GUIDE, block) == GUIDE, (
        "INSTRUCTORS.md's projector outlines are out of date: python tools/instructor_outline.py --write")
    for notebook in outline.course_notebooks(REPO):
        assert f"#### {outline.outline(notebook)['title']}" in GUIDE


def test_the_outline_check_fails_when_a_notebook_changes(tmp_path):
    """A renamed section or a new exercise changes the page, so the staleness test can fail."""
    original = outline.course_notebooks(REPO)[3]
    notebook = json.loads(original.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown" and "".join(cell["source"]).startswith("## "):
            cell["source"] = ["## A section renamed after the guide was written\n"]
            break
    notebook["cells"].append({"cell_type": "markdown", "metadata": {},
                              "source": ["### Exercise 9 — a new one\n"]})
    changed = tmp_path / original.name
    changed.write_text(json.dumps(notebook), encoding="utf-8")
    before, after = outline.render_page(outline.outline(original)), outline.render_page(outline.outline(changed))
    assert before != after and "A section renamed" in after and "Exercise 9 — a new one" in after


def test_every_page_has_objectives_flow_and_exercises():
    for notebook in outline.course_notebooks(REPO):
        page = outline.outline(notebook)
        assert page["you_will"], f"{notebook.name}: no 'You will' list found"
        assert len(page["flow"]) >= 3, notebook.name
        assert any(exercises for _, exercises in page["flow"]), f"{notebook.name}: no exercise found"
        assert page["article"], f"{notebook.name}: no article section (§…) found"


def test_kit_size_tables_are_the_recorded_measurement():
    block = f"{kit.SIZES_START}\n{kit.sizes_table(SIZES)}\n{kit.SIZES_END}"
    for name in kit.SIZE_GUIDES:
        text = (REPO / name).read_text(encoding="utf-8")
        assert block in text, f"{name}: kit sizes differ from constraints/kit_sizes.json (run --record)"


def test_size_figures_in_prose_match_the_measurements():
    gib = {key: f"{entry['bytes'] / 2**30:.2f} GiB" for key, entry in SIZES.items()}
    disk = GUIDE[GUIDE.index("### Disk per laptop"):GUIDE.index("### The room kit")]
    assert f"| Linux x86_64 | {gib['linux-x86_64']} |" in disk
    assert f"| macOS (Apple silicon) | {gib['macos-arm64']} |" in disk
    assert f"| Windows x86_64 | {gib['windows-x86_64']} |" in disk
    linux = course.INSTALL_GIB["linux-x86_64"]
    assert f"{linux:.1f} GiB from a kit folder" in disk
    assert f"{linux + course.DOWNLOAD_GIB['linux-x86_64']:.1f} GiB over the network" in disk
    assert f"{course.INSTALL_GIB['windows-x86_64']:.1f} GiB (an upper estimate)" in disk
    quick = README[README.index("## Quick start"):README.index("## The notebooks")]
    assert f"from {gib['linux-x86_64']} of wheels" in quick
    assert f"download {gib['macos-arm64'].split()[0]} and {gib['windows-x86_64']}" in quick
    serving = GUIDE[GUIDE.index("### Serving in a room"):GUIDE.index("### Windows without admin")]
    assert f"whole kit folder ({gib['linux-x86_64']}" in serving


def test_windows_path_figures_match_the_launcher():
    limit = course.WINDOWS_MAX_PATH - 1 - course.WINDOWS_LONGEST_INSTALLED
    windows = GUIDE[GUIDE.index("### Windows without admin rights"):]
    assert f"at most {limit} characters" in windows
    assert f"files {course.WINDOWS_LONGEST_INSTALLED}\n  characters below" in windows or \
        f"files {course.WINDOWS_LONGEST_INSTALLED} characters below" in " ".join(windows.split())
    assert f"allows {course.WINDOWS_MAX_PATH}" in windows
    assert f"over {limit} characters" in README


def test_the_checklist_shows_what_notebook_00_prints():
    from course_lib import envcheck

    ok_mark = str(envcheck.Check("python", True, "3.11.7")).split()[0]
    problem_mark = str(envcheck.Check("python", False, "missing")).split()[0]
    checklist = GUIDE[GUIDE.index("### Send learners this checklist"):GUIDE.index("## Showing a solution")]
    assert f"every line {ok_mark}" in checklist and f"a {problem_mark} line" in checklist
    assert "All set: the course runs offline on this machine." in checklist
    for mark in ("✅",):                     # notebook 00 never prints these
        assert mark not in GUIDE


def test_no_stale_solution_instructions():
    assert "click to reveal" not in GUIDE and "collapsed" not in GUIDE
    assert "show_solution(nbNN.solution_name)" in GUIDE


@pytest.mark.parametrize("section", ["### Your own laptop", "### Disk per laptop", "### Serving in a room",
                                     "### Windows without admin rights", "## Day-of checklist (print this)",
                                     "## Projector outlines", "course.py doctor", "25 minutes"])
def test_the_room_sections_are_there(section):
    assert section in GUIDE


def test_every_discussion_question_has_a_note():
    for block in GUIDE.split("\n### ")[1:]:
        if " — run " not in block.splitlines()[0]:
            continue
        discuss = block[block.index("**Discuss.**"):block.index("**Common problems.**")]
        questions = [line for line in discuss.splitlines() if line.strip().startswith("- *")]
        assert len(questions) >= 3, block.splitlines()[0]
        for line in questions:
            note = line.split("?*", 1)[-1] if "?*" in line else ""
            assert len(note.split()) >= 8, f"{block.splitlines()[0]}: no note for {line[:60]}"


def test_outline_doctests_pass():
    import doctest

    result = doctest.testmod(outline, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.attempted >= 4 and result.failed == 0
