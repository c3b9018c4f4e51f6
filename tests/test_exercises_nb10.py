"""Notebook 10's exercise checks (correct, wrong with its message, unanswered) and model solutions."""
from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from course_lib import interpret
from course_lib.exercises import nb10
from course_lib.photos import PhotoSet, Preprocess
from test_exercises_support import (REPEATS, cells, leaks, predict_then_measure,  # noqa: F401
                                    predict_then_record, recording, unanswered_runs_nothing)


def _messy(tmp_path):
    root = tmp_path / "my_photos"
    (root / "cats").mkdir(parents=True)
    (root / "dogs").mkdir()
    Image.new("RGB", (40, 30), (200, 120, 40)).save(root / "cats" / "colour.jpg")
    Image.new("L", (40, 30), 90).save(root / "cats" / "grey.png")
    Image.new("CMYK", (40, 30), (0, 255, 255, 0)).save(root / "dogs" / "print.jpg")
    (root / "dogs" / "broken.jpg").write_bytes(b"not a jpeg")
    (root / "dogs" / "notes.txt").write_text("todo")
    return root


def test_skipped_load(tmp_path):
    root = _messy(tmp_path)
    with pytest.warns(UserWarning, match="Skipped"):
        clean = nb10.solution_skipped_load(root)
    assert nb10.check_skipped_load(clean, 3, ["cats", "dogs"])
    assert nb10.check_skipped_load(..., 3, ["cats", "dogs"]).status == "unanswered"
    fewer = nb10.check_skipped_load(clean, 4, ["cats", "dogs"])
    assert not fewer and "fewer than the readable ones" in fewer.message and "4" not in fewer.message
    assert "not the folder's classes" in nb10.check_skipped_load(clean, 3, ["a", "b"]).message
    assert "Expected the PhotoSet" in nb10.check_skipped_load(3, 3, ["cats"]).message
    assert sorted(p.name for p in root.rglob("*") if p.is_file()) == [
        "broken.jpg", "colour.jpg", "grey.png", "notes.txt", "print.jpg"]        # nothing moved


def test_load_folder_without_skip_names_every_bad_file(tmp_path):
    from course_lib import photos
    from course_lib.errors import BadImageError

    root = _messy(tmp_path)
    with pytest.raises(BadImageError, match="dogs/notes.txt"):
        photos.load_folder(root, Preprocess(16))
    (root / "dogs" / "notes.txt").unlink()
    with pytest.raises(BadImageError, match="^dogs/broken.jpg"):
        photos.load_folder(root, Preprocess(16))
    with pytest.raises(ValueError, match="on_bad"):
        photos.load_folder(root, Preprocess(16), on_bad="maybe")


def test_first_step():
    assert nb10.check_first_step(nb10.solution_first_step())
    assert nb10.check_first_step(...).status == "unanswered"
    for wrong in "acd":
        assert not nb10.check_first_step(wrong)
    assert "not an option" in nb10.check_first_step("x").message


def _sklearn_free_loop(cm, i):
    found, total = 0, 0
    for j, count in enumerate(cm[i]):
        total += count
        if j == i:
            found = count
    return found / total


RECALL_RIGHT = [nb10.solution_recall_of(), lambda cm, i: cm[i, i] / cm[i, :].sum(),
                lambda cm, i: float(np.diag(cm)[i]) / float(np.sum(cm, axis=1)[i]),
                _sklearn_free_loop, lambda cm, i: torch.tensor(cm)[i, i].item() / torch.tensor(cm)[i].sum().item()]


@pytest.mark.parametrize("answer", RECALL_RIGHT)
def test_recall_accepts_the_solution_and_honest_variants(answer):
    for _ in range(REPEATS):
        fb = nb10.check_recall(answer)
        assert fb, str(fb)


def test_recall_names_the_mistake_without_the_value(monkeypatch):
    drawn = recording(monkeypatch, nb10)
    mistakes = {"its precision": lambda cm, i: cm[i, i] / cm[:, i].sum(),
                "not its recall": lambda cm, i: 0.5, "a count": lambda cm, i: cm[i, i],
                "not a number": lambda cm, i: "high", "raised ZeroDivisionError": lambda cm, i: 1 / 0}
    for _ in range(REPEATS):
        for words, wrong in mistakes.items():
            fb = nb10.check_recall(wrong)
            assert not fb and words in str(fb), (words, str(fb))
            assert not leaks(fb, *[cm[i, i] / cm[i].sum() for cm in drawn[-1] for i in range(len(cm))])
            assert "cm[i, i] /" not in str(fb)
    assert nb10.check_recall(...).status == "unanswered"

    def todo(cm, i):
        ...

    assert nb10.check_recall(todo).status == "unanswered"


def _via_course(cm, i):
    rows = interpret.per_class_metrics(cm, [str(k) for k in range(len(cm))])
    return rows[i]["recall"]


def _via_sklearn(cm, i):
    from sklearn.metrics import recall_score

    y_true = np.repeat(np.arange(len(cm)), cm.sum(1))
    y_pred = np.concatenate([np.repeat(np.arange(len(cm)), row) for row in cm])
    return recall_score(y_true, y_pred, average=None, labels=range(len(cm)))[i]


def _via_sklearn_alias(cm, i):
    from sklearn.metrics import precision_recall_fscore_support as prfs

    y_true = np.repeat(np.arange(len(cm)), cm.sum(1))
    y_pred = np.concatenate([np.repeat(np.arange(len(cm)), row) for row in cm])
    return prfs(y_true, y_pred, labels=range(len(cm)), zero_division=0)[1][i]


@pytest.mark.parametrize("shortcut", [_via_course, _via_sklearn, _via_sklearn_alias])
def test_recall_refuses_library_metrics(shortcut):
    fb = nb10.check_recall(shortcut)
    assert not fb and "cannot tell" in fb.message
    assert interpret.per_class_metrics(np.eye(2), ["a", "b"])[0]["recall"] == 1.0   # untouched


# --------------------------------------------------------------------------- blur: predict, then measure
def _judged(cells, reading, sigma, mine, reference=0.82, reference_sigma=4.5):
    return predict_then_record(cells, nb10.BLUR, reading, {"mine": mine, "reference": reference},
                               sigma=sigma, reference_sigma=reference_sigma)


def test_blur_each_outcome_accepts_its_reading_and_ties_accept_both(cells):
    for _ in range(REPEATS):
        assert _judged(cells, "lower", 11.2, 0.60)
        assert _judged(cells, " Lower", 9.0, 0.60)
        assert _judged(cells, "about the same", 5.0, 0.80)
        assert _judged(cells, "about the same", 5.0, 0.82)                  # an equal score
        assert _judged(cells, "higher", 2.0, 0.95)
        for reading in ("about the same", "lower"):                         # on the boundary
            assert _judged(cells, reading, 6.0, 0.77)
    wrong = _judged(cells, "higher", 11.2, 0.60)
    assert not wrong and "as you predicted" in wrong.message and "-0.220" in wrong.message
    # the same prediction is judged by the numbers measured, never by a stored answer
    assert not _judged(cells, "lower", 11.2, 0.81)


def test_blur_refusals_read_from_the_settings(cells):
    exp = nb10.BLUR
    assert "nothing changed" in exp.predict("lower", sigma=4.5, reference_sigma=4.5).message
    assert "above 0" in exp.predict("lower", sigma=-1.0, reference_sigma=4.5).message
    assert "not an option" in exp.predict("worse", sigma=11.2, reference_sigma=4.5).message
    assert exp.predict(..., sigma=11.2, reference_sigma=4.5).status == "unanswered"
    assert _judged(cells, "lower", 11.2, 0.60)
    cells.run()
    late = exp.predict("higher", sigma=11.2, reference_sigma=4.5)
    assert late.status == "incorrect" and "already seen" in late.message


def _blurred_accuracy_of(table, calls):
    def blurred_accuracy(sigma):
        calls.append(sigma)
        return table[sigma]
    return blurred_accuracy


def test_blur_the_library_measures_and_nothing_runs_before_a_prediction(cells):
    calls = []
    measure = _blurred_accuracy_of({11.2: 0.6, 4.5: 0.82, 2.0: 0.95}, calls)
    exp = nb10.BLUR
    exp.reset()
    cells.run()
    assert exp.predict(..., sigma=11.2, reference_sigma=4.5).status == "unanswered"
    cells.run()
    fb = nb10.blur_experiment(measure, sigma=11.2, reference_sigma=4.5)
    assert fb.status == "unanswered" and "Not answered yet" in fb.message and not calls
    cells.run()
    exp.predict("lower", sigma=11.2, reference_sigma=4.5)
    fb = nb10.blur_experiment(measure, sigma=11.2, reference_sigma=4.5)       # the same cell
    assert fb.status == "incorrect" and "same cell" in fb.message and not calls
    fb = predict_then_measure(cells, exp, nb10.solution_blur_prediction(11.2, 4.5),
                              nb10.blur_experiment, measure, 11.2, 4.5,
                              sigma=11.2, reference_sigma=4.5)
    assert fb and sorted(calls) == [4.5, 11.2]
    fb = predict_then_measure(cells, exp, nb10.solution_blur_prediction(2.0, 4.5),
                              nb10.blur_experiment, measure, 2.0, 4.5,
                              sigma=2.0, reference_sigma=4.5)
    assert fb


def test_blur_a_typed_in_measurement_cannot_be_passed():
    assert not hasattr(nb10, "check_blur_prediction")
    params = set(inspect.signature(nb10.blur_experiment).parameters)
    assert not params & {"accuracy", "reference_accuracy", "prediction", "measured"}


def test_blur_solution_matches_the_direction_of_the_change():
    assert nb10.solution_blur_prediction(11.2, 4.5) == "lower"
    assert nb10.solution_blur_prediction(1.0, 4.5) == "higher"
    assert nb10.solution_blur_prediction(4.6, 4.5) == "about the same"
