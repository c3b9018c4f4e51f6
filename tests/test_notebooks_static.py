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
