"""Notebook 10's exercise checks (correct, wrong with its message, unanswered) and model solutions."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from course_lib import interpret
from course_lib.exercises import nb10
from course_lib.photos import PhotoSet, Preprocess


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
    assert "expected 4" in nb10.check_skipped_load(clean, 4, ["cats", "dogs"]).message
    assert "Classes are" in nb10.check_skipped_load(clean, 3, ["a", "b"]).message
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


def test_recall():
    assert nb10.check_recall(nb10.solution_recall_of())
    assert nb10.check_recall(...).status == "unanswered"
    assert "its precision" in nb10.check_recall(lambda cm, i: cm[i, i] / cm[:, i].sum()).message
    assert "expected" in nb10.check_recall(lambda cm, i: 0.5).message
    assert "not a number" in nb10.check_recall(lambda cm, i: "high").message
    assert "raised ZeroDivisionError" in nb10.check_recall(lambda cm, i: 1 / 0).message

    def todo(cm, i):
        ...

    assert nb10.check_recall(todo).status == "unanswered"


def test_recall_check_cannot_be_passed_by_calling_the_library():
    def via_library(cm, i):
        rows = interpret.per_class_metrics(cm, [str(k) for k in range(len(cm))])
        return rows[i]["recall"]

    feedback = nb10.check_recall(via_library)
    assert not feedback and "cannot tell" in feedback.message
    assert interpret.per_class_metrics(np.eye(2), ["a", "b"])[0]["recall"] == 1.0   # restored after


def test_blur_prediction_reads_the_learners_measurement():
    assert nb10.check_blur_prediction("lower", 11.2, 0.60, 4.5, 0.82)
    assert nb10.check_blur_prediction("about the same", 5.0, 0.80, 4.5, 0.82)
    assert nb10.check_blur_prediction("higher", 2.0, 0.95, 4.5, 0.82)
    wrong = nb10.check_blur_prediction("higher", 11.2, 0.60, 4.5, 0.82)
    assert not wrong and "as you predicted" in wrong.message and "-0.220" in wrong.message
    assert nb10.check_blur_prediction(..., 11.2, 0.6, 4.5, 0.82).status == "unanswered"
    assert "not an option" in nb10.check_blur_prediction("worse", 11.2, 0.6, 4.5, 0.82).message
    # the same prediction is judged by the numbers measured, never by a stored answer
    assert not nb10.check_blur_prediction("lower", 11.2, 0.81, 4.5, 0.82)


def test_blur_solution_matches_the_direction_of_the_change():
    assert nb10.solution_blur_prediction(11.2, 4.5) == "lower"
    assert nb10.solution_blur_prediction(1.0, 4.5) == "higher"
    assert nb10.solution_blur_prediction(4.6, 4.5) == "about the same"
