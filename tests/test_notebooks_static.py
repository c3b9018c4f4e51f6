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
    """A learner's cell that starts from ``prediction = ...`` and ends with a check call, or
    records it with an ``Experiment``'s ``.predict(...)`` (predict, then measure)."""
    path, nb = notebook
    cells = [cell.source for cell in nb.cells if cell.cell_type == "code"
             and re.search(r"^\w*predict\w* = \.\.\.", cell.source, re.M)
             and re.search(r"check_\w+\(|\.predict\(", cell.source)]
    assert cells, f"{path.name}: no 'change it and predict' exercise (prediction = ... + check)"


PREDICT_THEN_MEASURE = ["00_start_here", "01_why_transfer_learning", "02_objective_functions",
                        "03_gradient_descent", "04_pretraining", "05_head_replacement"]


def test_predictions_are_recorded_in_their_own_cell_before_the_measurement(notebook):
    """Predict, then measure: the cell that records a prediction measures nothing, and the
    next code cell runs the experiment, whose library function records the measurement (no
    number typed by the learner reaches the check)."""
    path, nb = notebook
    code = [cell.source for cell in nb.cells if cell.cell_type == "code"]
    recorded = [i for i, src in enumerate(code) if re.search(r"\bnb\d\d\.[A-Z_]+\.predict\(", src)]
    if path.stem not in PREDICT_THEN_MEASURE and not recorded:
        pytest.skip(f"{path.name} still checks its prediction in the measuring cell")
    assert recorded, f"{path.name}: no prediction recorded with an Experiment's .predict(...)"
    for i in recorded:
        measure = code[i + 1]
        assert re.search(r"\bnb\d\d\.\w+_experiment\(|\bnb\d\d\.first_look\(", measure), \
            f"{path.name}: the cell after a prediction does not run the experiment: {measure!r}"
        assert "..." not in measure and "prediction" not in measure, \
            f"{path.name}: the measuring cell takes something typed by the learner: {measure!r}"


def test_stored_feedback_states_its_verdict_in_words(notebook):
    """Where a check's output is stored, its verdict is a word, not a glyph alone."""
    path, nb = notebook
    bare = [i for i, out in _outputs(nb)
            for text in ["".join(out.get("data", {}).get("text/plain", ""))]
            if text.startswith(("❌", "✍️", "✅")) and not re.match(
                r"^\S+ (Correct|Not yet|Not answered yet)", text)]
    assert not bare, f"{path.name}: feedback without its verdict in words in cells {bare}"
