"""Helpers shared by the exercise tests (``tests/test_exercises_nbNN.py``), and their own tests.

- ``REPEATS``: every right answer is checked this many times (the checks draw new random
  inputs on every call, so one lucky draw proves little);
- ``leaks(feedback, values)``: the expected values that a feedback's text gives away;
- ``recording(monkeypatch, module)``: the cases a check drew, to compute what it expected;
- ``cells``: simulated IPython cells for predict-then-measure;
- ``busy_cpu``: a busy-loop subprocess on every core while a test runs.
"""
from __future__ import annotations

import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from course_lib.exercises import Feedback, experiment

REPEATS = 20
GIVEAWAY = re.compile(r"\b(expected|should be|should get|the answer is|correct value)\b[^.\n]*\d",
                      re.I)


def _numbers(value) -> list[float]:
    if torch.is_tensor(value):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return [float(v) for v in value.ravel()]
    if isinstance(value, (list, tuple)):
        return [n for v in value for n in _numbers(v)]
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return [float(value)]
    return []


def _forms(x: float) -> set[str]:
    """How a check could have printed ``x``."""
    if not math.isfinite(x):
        return set()
    forms = {f"{x:.2f}", f"{x:.3f}", f"{x:.4f}", f"{x:g}", f"{x:+.2f}", f"{x:+.3f}"}
    if float(x).is_integer():
        forms |= {str(int(x)), f"{int(x):,}"}
    # one-digit integers and short decimals appear in any sentence: only longer forms count
    return {f for f in forms if len(f.strip("+-")) >= 3 or (float(x).is_integer() and abs(x) >= 10)}


def leaks(feedback: Feedback, *values, given=()) -> list[str]:
    """Printed forms of ``values`` (numbers, tensors, lists) found in the feedback's text,
    plus any sentence that announces an expected number. ``given``: numbers the exercise hands
    the learner (a learning rate, say); an answer that rounds to the same printed form as one of
    them (0.0097 and η = 0.01) is not a leak when the feedback names the given number."""
    text = " ".join([feedback.message, *feedback.hints])
    shown = {f for g in given for x in _numbers(g) for f in _forms(x)}
    found = [f for v in values for x in _numbers(v) for f in _forms(x)
             if f not in shown and re.search(rf"(?<![\d.]){re.escape(f)}(?![\d])", text)]
    found += GIVEAWAY.findall(text)
    return found


def recording(monkeypatch, module, name: str = "_cases") -> list:
    """Patch ``module.<name>`` so that every case list it draws is also kept here."""
    drawn: list = []
    original = getattr(module, name)

    def keep(*args, **kwargs):
        cases = original(*args, **kwargs)
        drawn.append(cases)
        return cases

    monkeypatch.setattr(module, name, keep)
    return drawn


class Cells:
    """Stand-in for IPython's execution count: ``cells.run()`` starts the next cell."""

    def __init__(self) -> None:
        self.count = 0

    def run(self) -> "Cells":
        self.count += 1
        return self


@pytest.fixture
def cells(monkeypatch):
    c = Cells()
    monkeypatch.setattr(experiment, "_cell", lambda: c.count)
    return c


def predict_then_measure(cells: Cells, exp, prediction, measure, *args, **settings) -> Feedback:
    """Record ``prediction`` for ``settings`` in one cell, run ``measure`` in the next one."""
    exp.reset()
    cells.run()
    noted = exp.predict(prediction, **settings)
    assert noted.status == "noted", str(noted)
    cells.run()
    return measure(*args)


def predict_then_record(cells: Cells, exp, prediction, measured: dict, **settings) -> Feedback:
    """:func:`predict_then_measure` where the measurement is ``measured`` (numbers a notebook's
    experiment would record): predict in one cell, record and check in the next."""
    return predict_then_measure(cells, exp, prediction,
                                lambda: (exp.record(measured, **settings), exp.check())[1], **settings)


def unanswered_runs_nothing(cells: Cells, exp, measure, ran: list, **settings) -> None:
    """The template's ``...`` prediction is "unanswered", and ``measure`` then answers
    "Not answered yet" without running the costly step (whose calls ``ran`` collects)."""
    exp.reset()
    cells.run()
    assert exp.predict(..., **settings).status == "unanswered"
    cells.run()
    fb = measure()
    assert fb.status == "unanswered" and "Not answered yet" in fb.message and not ran


@pytest.fixture
def busy_cpu():
    """Keep every core busy (one busy-loop process per core) for the test's duration."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
             for _ in range(os.cpu_count() or 2)]
    try:
        yield
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()


def test_leaks_finds_printed_values_and_announced_numbers():
    assert leaks(Feedback.incorrect("Got 0.250, expected 0.750."), 0.75)
    assert leaks(Feedback.incorrect("Should be [0.95, -2.4]."), [0.95, -2.4])
    assert leaks(Feedback.incorrect("Wrong.", "The answer is 3600 images."), 3600)
    assert not leaks(Feedback.incorrect("Your rows sum to more than 1."), 0.75, 3600)
    assert not leaks(Feedback.incorrect("Class 2 of the matrix."), 2)   # short forms are ordinary


def test_busy_cpu_really_is_busy(busy_cpu):
    import time

    start, cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - start < 0.3:
        pass
    assert time.process_time() - cpu > 0.0


def test_an_answer_that_prints_like_a_given_number_is_not_a_leak():
    fb = Feedback(False, "On a random θ with η = 0.01 your step lands somewhere else.", [])
    assert leaks(fb, 0.0097) == ["0.01"]                     # alone, it looks like the answer
    assert leaks(fb, 0.0097, given=[0.01]) == []              # but the feedback named η
    assert leaks(Feedback(False, "Not yet: 0.347 is not it.", []), 0.347, given=[0.01]) == ["0.347"]
