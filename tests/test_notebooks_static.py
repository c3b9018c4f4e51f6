"""What a learner sees in the committed notebooks without a kernel (GitHub, nbviewer, a handout).

These read the committed ``.ipynb`` files only; nothing is executed.
"""
import re

import nbformat
import pytest

from conftest import REPO_DIR

NOTEBOOKS = sorted((REPO_DIR / "notebooks").glob("[0-9][0-9]_*.ipynb"))
HAN = re.compile(r"[\u4e00-\u9fff]")


def _outputs(nb):
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            yield index, out


@pytest.fixture(scope="module", params=NOTEBOOKS, ids=lambda p: p.stem)
def notebook(request):
    return request.param, nbformat.read(request.param, as_version=4)


def test_opens_with_the_article_sections_and_terms_in_both_languages(notebook):
    path, nb = notebook
    first = nb.cells[0].source
    assert re.search(r"§\s?\d", first), f"{path.name}: the first cell names no article section (§n)"
    assert HAN.search(first), f"{path.name}: the first cell carries no Chinese term of the article"


def test_every_stored_widget_has_its_state(notebook):
    path, nb = notebook
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    missing = [i for i, out in _outputs(nb)
               if (view := out.get("data", {}).get("application/vnd.jupyter.widget-view+json"))
               and view.get("model_id") not in state]
    assert not missing, f"{path.name}: widget views without saved state in cells {missing}"


def test_no_progress_bar_is_stored_unfinished(notebook):
    path, nb = notebook
    frozen = []
    for i, out in _outputs(nb):
        text = "".join(out.get("text", "")) + "".join(out.get("data", {}).get("text/plain", ""))
        frozen += [i for m in re.finditer(r"(\d{1,3})%\|", text) if int(m.group(1)) < 100]
    assert not frozen, f"{path.name}: progress bars stored below 100 % in cells {sorted(set(frozen))}"


def test_code_fits_the_cell_width(notebook):
    """Lines longer than 88 columns are clipped in JupyterLab's default cell width."""
    path, nb = notebook
    long = [(i, len(line)) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
            for line in cell.source.splitlines() if len(line) > 88]
    assert not long, f"{path.name}: code lines over 88 columns (cell, length): {long}"


def test_no_solution_is_executed_or_stored(notebook):
    """"Run All" never runs a model solution; no exercise's ✅ is committed."""
    path, nb = notebook
    executed = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
                and re.search(r"^\s*#\s*solution", cell.source, re.I | re.M)]
    ticks = [i for i, out in _outputs(nb) if "✅" in str(out)]
    assert not executed, f"{path.name}: solution code cells {executed} (use show_solution)"
    assert not ticks, f"{path.name}: stored ✅ outputs in cells {ticks}"


def test_every_notebook_has_a_change_it_and_predict_exercise(notebook):
    """A learner's cell that starts from ``prediction = ...`` and ends with a check call."""
    path, nb = notebook
    cells = [cell.source for cell in nb.cells if cell.cell_type == "code"
             and re.search(r"^\w*predict\w* = \.\.\.", cell.source, re.M)
             and re.search(r"check_\w+\(", cell.source)]
    assert cells, f"{path.name}: no 'change it and predict' exercise (prediction = ... + check)"
