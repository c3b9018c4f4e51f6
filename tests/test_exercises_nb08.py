"""Notebook 08: the transfer gap (random pairs, no expected value shown) and the k prediction."""
import pytest

from course_lib.compare import paired_comparison
from course_lib.exercises import nb08
from test_exercises_support import REPEATS, leaks, recording

GAP_RIGHT = [nb08.solution_transfer_gap, lambda a, b: (1 - a) - (1 - b), lambda a, b: b - a,
             lambda a, b: -(a - b), lambda a, b: round(b - a, 12)]


@pytest.mark.parametrize("answer", GAP_RIGHT)
def test_transfer_gap_accepts_the_solution_and_honest_variants(answer):
    for _ in range(REPEATS):
        fb = nb08.check_transfer_gap(answer)
        assert fb, str(fb)


def test_transfer_gap_names_the_mistake_without_the_value(monkeypatch):
    drawn = recording(monkeypatch, nb08)
    mistakes = {"wrong sign": lambda a, b: a - b, "is off": lambda a, b: 0.3,
                "not a number": lambda a, b: "x", "is off ": lambda a, b: (1 - a) + (1 - b)}
    for _ in range(REPEATS):
        for words, wrong in mistakes.items():
            fb = nb08.check_transfer_gap(wrong)
            assert not fb and words.strip() in str(fb), (words, str(fb))
            assert not leaks(fb, *[b - a for a, b in drawn[-1]], *drawn[-1]), str(fb)

    def todo(a, b):
        ...

    assert nb08.check_transfer_gap(todo).status == "unanswered"


def test_k_prediction_reads_the_learners_comparison():
    pixels_win = paired_comparison([0.70, 0.72, 0.71, 0.69, 0.70], [0.90, 0.91, 0.93, 0.90, 0.92],
                                   "ImageNet final", "raw pixels")
    tie = paired_comparison([0.90, 0.92, 0.91, 0.89], [0.91, 0.90, 0.92, 0.90],
                            "ImageNet final", "raw pixels")
    check = nb08.check_k_prediction
    assert check(..., pixels_win).status == "unanswered"
    assert "not an option" in check("pixels", pixels_win).message
    for _ in range(REPEATS):
        for honest in ("raw pixels better", "Raw pixels better", nb08.solution_k_prediction(20)):
            assert check(honest, pixels_win)
        assert check("no detectable difference", tie)
    fb = check("ImageNet final better", pixels_win)
    assert fb.status == "incorrect" and "Not what you predicted" in fb.message
    assert "not a number" in check("raw pixels better", 0.2).message
