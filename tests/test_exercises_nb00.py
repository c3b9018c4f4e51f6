"""Notebook 00: the first look, the second guess, and the image-size prediction."""
import pytest
import torch

from course_lib.exercises import nb00
from course_lib.exercises.nb00 import check_second_guess
from test_exercises_support import REPEATS, cells, leaks, predict_then_measure  # noqa: F401

CATS = ["tabby", "tiger cat", "Egyptian cat", "lynx", "dog", "car"]
PROBS = torch.tensor([0.30, 0.25, 0.35, 0.05, 0.03, 0.02])


def test_second_guess_accepts_the_solution_and_other_ways_of_reading_it():
    answers = [nb00.solution_second_guess(PROBS, CATS), "tabby",
               CATS[int(PROBS.argsort(descending=True)[1])],
               CATS[int(PROBS.sort(descending=True).indices[1])]]
    for _ in range(REPEATS):
        for answer in answers:
            assert check_second_guess(answer, PROBS, CATS), answer


def test_second_guess_tie_accepts_both_readings():
    tied = torch.tensor([0.300, 0.005, 0.40, 0.296, 0.0, 0.0])    # 0.300 and 0.296: a tie
    assert check_second_guess("tabby", tied, CATS) and check_second_guess("lynx", tied, CATS)
    assert not check_second_guess("tiger cat", torch.tensor([0.3, 0.2, 0.4, 0.1, 0, 0]), CATS)


def test_second_guess_names_the_mistake_without_the_answer():
    assert check_second_guess(..., PROBS, CATS).status == "unanswered"
    cases = {"Egyptian cat": "first choice", "tiger cat": "position 3", "kitten": "not one of the 1,000",
             3: "a string", "car": "not among"}
    for answer, words in cases.items():
        fb = check_second_guess(answer, PROBS, CATS)
        assert not fb and words in fb.message
        assert "tabby" not in str(fb) and not leaks(fb, 0.30)


@pytest.fixture(scope="module")
def photo():
    from skimage.data import chelsea

    return chelsea()


def test_first_look_prediction_and_its_measurement(cells, photo):
    for _ in range(3):
        fb = predict_then_measure(cells, nb00.FIRST_LOOK, nb00.solution_first_look(),
                                  nb00.first_look, photo)
        assert fb, str(fb)
    measured = nb00.first_look.measure(photo)
    for _ in range(REPEATS):
        for honest in ("a cat", " A cat ", "A CAT"):
            nb00.FIRST_LOOK.reset()
            cells.run()
            nb00.FIRST_LOOK.predict(honest)
            cells.run()
            nb00.FIRST_LOOK.record(measured)
            assert nb00.FIRST_LOOK.check()
    wrong = predict_then_measure(cells, nb00.FIRST_LOOK, "not an animal", nb00.first_look, photo)
    assert not wrong and "Egyptian cat" in wrong.message
    cells.run()
    assert "already seen" in nb00.FIRST_LOOK.predict("a cat").message     # changed afterwards


@pytest.fixture(scope="module")
def sizes(photo):
    """The measurement at every size the notebook suggests and around the boundary."""
    return {s: nb00.size_experiment.measure(photo, s)
            for s in (32, 40, 48, 56, 60, 63, 64, 65, 72, 96, 128, 320, 448)}


def test_size_model_prediction_holds_for_every_suggested_size(cells, sizes):
    for size, measured in sizes.items():
        for _ in range(REPEATS):
            nb00.SIZE.reset()
            cells.run()
            assert nb00.SIZE.predict(nb00.solution_size_prediction(size), image_size=size).status == "noted"
            cells.run()
            nb00.SIZE.record(measured, image_size=size)
            fb = nb00.SIZE.check()
            assert fb, (size, str(fb))


def test_size_prediction_runs_end_to_end_and_says_what_it_measured(cells, photo):
    fb = predict_then_measure(cells, nb00.SIZE, "cat", nb00.size_experiment, photo, 32, image_size=32)
    assert not fb and "32×32" in fb.message and "Hint" in str(fb)


def test_size_tie_accepts_both_readings():
    tie = [("tiger cat", 0.491), ("fox squirrel", 0.489), ("tabby", 0.01)]
    assert nb00._size_outcome({}, tie) == {"cat", "not a cat"}
    assert nb00._size_outcome({}, [("lion", 0.3), ("tabby", 0.1)]) == {"not a cat"}


def test_size_refuses_no_change_a_late_prediction_and_a_typed_setting(cells, photo, sizes):
    exp = nb00.SIZE
    exp.reset()
    assert "nothing changed" in exp.predict("cat", image_size=224).message
    assert "from 32" in exp.predict("cat", image_size=16).message
    assert "from 32" in exp.predict("cat", image_size="64").message
    assert exp.predict(..., image_size=64).status == "unanswered"
    assert "not an option" in exp.predict("dog", image_size=64).message
    cells.run()
    exp.predict("cat", image_size=64)
    cells.run()
    exp.record(sizes[64], image_size=64)
    assert exp.check()
    cells.run()
    assert "already seen" in exp.predict("not a cat", image_size=64).message
