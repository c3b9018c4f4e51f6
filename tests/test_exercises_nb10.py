import torch

from course_lib.data import ArrayImageDataset
from course_lib.exercises import nb10


def test_skipped_load():
    ds = ArrayImageDataset(torch.zeros(5, 3, 4, 4), [0, 0, 1, 1, 1], ["a", "b"])
    assert nb10.check_skipped_load(ds, 5, ["a", "b"])
    assert nb10.check_skipped_load(..., 5, ["a", "b"]).status == "unanswered"
    assert "expected 6" in nb10.check_skipped_load(ds, 6, ["a", "b"]).message
    assert "Classes are" in nb10.check_skipped_load(ds, 5, ["a", "c"]).message
    assert "Expected the dataset" in nb10.check_skipped_load(3, 5, ["a"]).message


def test_first_step():
    assert nb10.check_first_step("b")
    assert nb10.check_first_step(...).status == "unanswered"
    for wrong in "acd":
        assert not nb10.check_first_step(wrong)
    assert "not an option" in nb10.check_first_step("x").message
