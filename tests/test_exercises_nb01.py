"""Notebook 01: the labelling budget, the matching k, the quiz, and the gap prediction."""
import math

import pytest

from course_lib.exercises import nb01
from test_exercises_support import REPEATS, cells, leaks, recording  # noqa: F401


def _floor_div(h, s, a):
    return (h * 3600) // (s * a)


def _two_steps(h, s, a):
    seconds = h * 60 * 60
    return int(seconds / (s * a))


def _loop(h, s, a):
    left, n = h * 3600, 0
    while left >= s * a:
        left -= s * a
        n += 1
    return n


BUDGET_RIGHT = [nb01.solution_images_for_budget, _floor_div, _two_steps,
                lambda h, s, a: math.floor(h / (s * a / 3600)), _loop]


@pytest.mark.parametrize("answer", BUDGET_RIGHT)
def test_images_for_budget_accepts_the_solution_and_honest_variants(answer):
    for _ in range(REPEATS):
        fb = nb01.check_images_for_budget(answer)
        assert fb, str(fb)


def test_images_for_budget_names_the_mistake_without_the_answer(monkeypatch):
    drawn = recording(monkeypatch, nb01)
    mistakes = {"fraction": lambda h, s, a: h * 3600 / (s * a),
                "annotators": lambda h, s, a: math.floor(h * 3600 / s),
                "in hours": lambda h, s, a: math.floor(h / (s * a)),
                "Round down, not up": lambda h, s, a: math.ceil(h * 3600 / (s * a)),
                "too many": lambda h, s, a: 10 ** 9, "not a number": lambda h, s, a: "x"}
    for _ in range(REPEATS):
        for words, wrong in mistakes.items():
            fb = nb01.check_images_for_budget(wrong)
            assert not fb and words in str(fb), (words, str(fb))
            # an answer that happens to equal one of the inputs the message states is not a leak
            inputs = {x for case in drawn[-1] for x in case}
            answers = [_floor_div(*case) for case in drawn[-1]]
            assert not leaks(fb, *[v for v in answers if v not in inputs]), str(fb)

    def todo(h, s, a):
        ...

    assert nb01.check_images_for_budget(todo).status == "unanswered"


STATS = {("raw pixels", 1): 0.55, ("raw pixels", 2): 0.65, ("raw pixels", 5): 0.78,
         ("raw pixels", 10): 0.86, ("raw pixels", 20): 0.9}


def test_matching_k():
    for _ in range(REPEATS):
        for answer in (nb01.solution_matching_k(STATS), 10, 10.0):
            assert nb01.check_matching_k(answer, STATS)
    assert nb01.check_matching_k(..., STATS).status == "unanswered"
    assert "still below" in nb01.check_matching_k(5, STATS).message
    assert "smaller k already" in nb01.check_matching_k(20, STATS).message
    assert "not one of the k values" in nb01.check_matching_k(7, STATS).message
    for never in ("never", "Never", " none "):
        assert nb01.check_matching_k(never, STATS, threshold=0.99)
    assert not nb01.check_matching_k("never", STATS)
    hint = str(nb01.check_matching_k(..., STATS))
    assert "10" not in hint                     # the hint does not give the answer away


def test_matching_k_tie_accepts_both_readings():
    """0.8496 prints as 0.850: a learner reading the table says k = 5, the exact answer is 10."""
    tied = {**STATS, ("raw pixels", 5): 0.8496}
    assert nb01.check_matching_k(5, tied) and nb01.check_matching_k(10, tied)
    assert not nb01.check_matching_k(20, tied)


def test_why():
    assert nb01.check_why(nb01.solution_why())
    assert nb01.check_why("b") and nb01.check_why(" B ")
    assert nb01.check_why(...).status == "unanswered"
    for wrong in "acd":
        fb = nb01.check_why(wrong)
        assert not fb and fb.message.startswith("No:")
    assert "not an option" in nb01.check_why("e").message


# --------------------------------------------------------------------------- the gap: predict, then measure
@pytest.fixture(scope="module")
def faces_inputs():
    from course_lib import data, models, training

    faces = data.load_faces()
    backbone = models.load_backbone("efficientnet_lite0", image_size=96)
    features, labels = training.extract_features(models.remove_head(backbone.model),
                                                 faces.with_transform(backbone.preprocess))
    inputs = {"raw pixels": faces.images.flatten(1), "pretrained features": features}
    rows = training.label_efficiency(inputs, labels, ks=(1, 2, 5, 10, 20), seeds=range(10))
    stats = {(r["name"], r["k"]): r["mean"] for r in training.summarise(rows)}
    return inputs, labels, stats


@pytest.mark.slow
@pytest.mark.parametrize("k", [3, 7, 15, 30, 50])
def test_gap_model_prediction_holds_for_the_suggested_k_and_more(cells, faces_inputs, k):
    inputs, labels, stats = faces_inputs
    measured = nb01.gap_experiment.measure(inputs, labels, k, range(10))
    guess = nb01.solution_gap_prediction(k, stats)
    for honest in (guess, round(guess, 2), str(round(guess, 3))):
        for _ in range(REPEATS):
            nb01.GAP.reset()
            cells.run()
            assert nb01.GAP.predict(honest, k=k).status == "noted"
            cells.run()
            nb01.GAP.record(measured, k=k)
            fb = nb01.GAP.check()
            assert fb, (k, str(fb))


def test_gap_end_to_end_and_its_refusals(cells, faces_inputs):
    inputs, labels, _ = faces_inputs
    exp = nb01.GAP
    exp.reset()
    cells.run()
    assert exp.predict(0.9, k=3).status == "noted"
    cells.run()
    fb = nb01.gap_experiment(inputs, labels, 3, range(3))
    assert not fb and "k = 3" in fb.message and "off by more than" in fb.message
    cells.run()
    assert "already seen" in exp.predict(0.1, k=3).message
    assert "already printed" in exp.predict(0.1, k=5).message          # the table shows k = 5
    assert "from 1 to 50" in exp.predict(0.1, k=60).message
    assert "not an accuracy difference" in exp.predict(24, k=4).message
    assert "Expected a number" in exp.predict("big", k=4).message
    assert exp.predict(..., k=4).status == "unanswered"
