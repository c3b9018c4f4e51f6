import math

from course_lib.exercises import nb01


def test_images_for_budget():
    assert nb01.check_images_for_budget(nb01.solution_images_for_budget)
    exact = lambda h, s, a: h * 3600 / (s * a)  # noqa: E731
    assert "whole" in nb01.check_images_for_budget(exact).message
    no_annotators = lambda h, s, a: math.floor(h * 3600 / s)  # noqa: E731
    assert "annotators" in nb01.check_images_for_budget(no_annotators).message
    no_seconds = lambda h, s, a: math.floor(h / (s * a))  # noqa: E731
    assert "in hours" in nb01.check_images_for_budget(no_seconds).message
    rounded_up = lambda h, s, a: math.ceil(h * 3600 / (s * a))  # noqa: E731
    assert "Round down" in str(nb01.check_images_for_budget(rounded_up))
    assert "expected" in nb01.check_images_for_budget(lambda h, s, a: 1).message
    assert "not a number" in nb01.check_images_for_budget(lambda h, s, a: "x").message

    def todo(h, s, a):
        ...

    assert nb01.check_images_for_budget(todo).status == "unanswered"


STATS = {("raw pixels", 1): 0.55, ("raw pixels", 2): 0.65, ("raw pixels", 5): 0.78,
         ("raw pixels", 10): 0.86, ("raw pixels", 20): 0.9}


def test_matching_k():
    assert nb01.check_matching_k(nb01.solution_matching_k(STATS), STATS)
    assert nb01.check_matching_k(10, STATS)
    assert nb01.check_matching_k(..., STATS).status == "unanswered"
    assert "still below" in nb01.check_matching_k(5, STATS).message
    assert "smaller k already" in nb01.check_matching_k(20, STATS).message
    assert "not one of the k values" in nb01.check_matching_k(7, STATS).message
    assert nb01.check_matching_k("never", STATS, threshold=0.99)
    assert "never reach" in nb01.check_matching_k(20, STATS, threshold=0.99).message
    hint = str(nb01.check_matching_k(..., STATS))
    assert "10" not in hint                     # the hint does not give the answer away


def test_why():
    assert nb01.check_why(nb01.solution_why())
    assert nb01.check_why("b") and nb01.check_why(" B ")
    assert nb01.check_why(...).status == "unanswered"
    for wrong in "acd":
        fb = nb01.check_why(wrong)
        assert not fb and fb.message.startswith("No:")
    assert "not an option" in nb01.check_why("e").message


GAP_STATS = {**STATS, ("pretrained features", 1): 0.9, ("pretrained features", 2): 0.95,
             ("pretrained features", 5): 0.96, ("pretrained features", 10): 0.97,
             ("pretrained features", 20): 0.97}


def _rows(k, pretrained, pixels):
    return ([{"name": "pretrained features", "k": k, "accuracy": a} for a in pretrained]
            + [{"name": "raw pixels", "k": k, "accuracy": a} for a in pixels])


def test_gap_prediction_reads_the_measurement():
    rows = _rows(3, [0.96, 0.94], [0.70, 0.72])                  # measured gap 0.24
    assert nb01.check_gap_prediction(0.22, 3, rows)
    wrong = nb01.check_gap_prediction(0.5, 3, rows)
    assert not wrong and "+0.240" in wrong.message
    assert nb01.check_gap_prediction(..., 3, rows).status == "unanswered"
    assert "not an accuracy difference" in nb01.check_gap_prediction(24, 3, rows).message
    assert "No measurement" in nb01.check_gap_prediction(0.2, 7, rows).message
    assert "Expected a number" in nb01.check_gap_prediction("big", 3, rows).message


def test_gap_solution_interpolates_the_table():
    guess = nb01.solution_gap_prediction(3, GAP_STATS)
    assert 0.18 < guess < 0.30                     # between the gaps at k = 5 and k = 2
    rows = _rows(3, [0.955], [0.72])               # a measurement in line with the table
    assert nb01.check_gap_prediction(guess, 3, rows)
    assert nb01.solution_gap_prediction(50, GAP_STATS) == GAP_STATS["pretrained features", 20] - 0.9
