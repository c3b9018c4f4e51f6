"""Measured, never typed: a number in a notebook's prose must be one the notebook printed first.

Every decimal with two or more digits in a markdown cell (an accuracy, a difference, minutes,
gigabytes) must appear in the source or the output of a code cell above it. A figure typed by hand
fails as soon as a re-run changes it (the nb11 "7.32 min, 1.49 GB" of an earlier stop would fail
here). Facts that are not measurements — a library version, ImageNet's size, log 5, a threshold an
exercise states — are listed in ``CONSTANTS`` with their reason.
"""
import json
import re

import pytest

from conftest import REPO_DIR

NOTEBOOKS = sorted((REPO_DIR / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NUMBER = re.compile(r"(?<![\w.`])[-−+]?\d+\.\d{2,}(?![\w.])")
CODE = re.compile(r"`[^`]*`|\$[^$]*\$")          # inline code and maths are quoted, not measured

#: Numbers that are not measurements, per notebook prefix, with the reason.
CONSTANTS = {
    "any": {"1.28": "ImageNet-1k has 1.28 million training photos",
            "0.001": "the article's learning rate, lr=0.001"},
    "02": {"1.609": "log 5, the loss of a uniform guess over 5 classes"},
    "04": {"0.003": "the learning rate the pretraining uses, a setting"},
    "05": {"0.13": "torchvision version that deprecated pretrained=", "0.29": "the pinned torchvision 0.29.1"},
    "07": {"0.05": "the tolerance an exercise states", "0.005": "the tolerance an exercise states"},
    "09": {"0.03": "a threshold a quiz option states", "0.15": "a threshold a quiz option states"},
}


def _printed(cell) -> str:
    text = "".join(cell["source"])
    for out in cell.get("outputs", []):
        text += "".join(out.get("text", ""))
        for kind in ("text/plain", "text/markdown", "text/html"):
            text += "".join(out.get("data", {}).get(kind, ""))
    return text


def unbacked_numbers(nb: dict, prefix: str) -> list[tuple[int, str]]:
    """The (cell index, number) pairs of markdown numbers no earlier code cell shows."""
    allowed = {**CONSTANTS["any"], **CONSTANTS.get(prefix, {})}
    shown, missing = "", []
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            shown += "\n" + _printed(cell)
            continue
        prose = CODE.sub(" ", "".join(cell["source"]))
        for match in NUMBER.finditer(prose):
            number = match.group(0).replace("−", "-").lstrip("+")
            bare = number.lstrip("-")
            if bare in allowed or any(form in shown for form in (number, bare, "+" + bare, "−" + bare)):
                continue
            missing.append((index, match.group(0)))
    return missing


def test_a_hand_typed_figure_is_caught():
    nb = {"cells": [{"cell_type": "code", "source": ["print(0.912)"], "outputs": [
        {"output_type": "stream", "name": "stdout", "text": ["accuracy 0.912\n"]}]},
        {"cell_type": "markdown", "source": ["Accuracy 0.912; the notebook runs in 7.32 min, 1.49 GB."]}]}
    assert unbacked_numbers(nb, "11") == [(1, "7.32"), (1, "1.49")]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_number_in_the_prose_was_printed_above_it(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    missing = unbacked_numbers(nb, path.stem[:2])
    assert not missing, (f"{path.name}: numbers in markdown cells that no code cell above prints "
                         f"(type them from the run, or print them first): {missing}")
