"""Notebook 07: the recommendation (ties), LEEP by hand (the course's LEEP refused however it is
reached; random cases; no expected value shown) and the score-labels prediction."""
import functools

import numpy as np
import pytest

import course_lib.transferability as tr
from course_lib.exercises import nb07
from test_exercises_support import REPEATS, leaks, recording

SCORES = {"a": 0.5, "b": 0.9, "c": 0.1}


def test_recommendation():
    for _ in range(REPEATS):
        assert nb07.check_recommendation(nb07.solution_recommendation(SCORES), SCORES, {"b": 1.0, "a": 0.5})
        assert nb07.check_recommendation("b", SCORES, {"a": 0.7, "b": 0.9, "c": 0.5})
    fb = nb07.check_recommendation("b", SCORES, {"a": 0.95, "b": 0.9, "c": 0.5})
    assert fb and "filter, not a verdict" in fb.message
    wrong = nb07.check_recommendation("a", SCORES, {"a": 0.5, "b": 0.9})
    assert not wrong and "scores higher" in wrong.message and "'b'" not in wrong.message
    assert "not a candidate" in nb07.check_recommendation("z", SCORES, {}).message
    assert nb07.check_recommendation(..., SCORES, {}).status == "unanswered"


def test_recommendation_tie_accepts_both_readings():
    tied = {"a": 0.9001, "b": 0.9004, "c": 0.1}               # both print as 0.900
    acc = {"a": 0.8, "b": 0.9, "c": 0.5}
    assert nb07.check_recommendation("a", tied, acc) and nb07.check_recommendation("b", tied, acc)


def _einsum(theta, y):
    joint = np.stack([theta[y == c].sum(0) for c in np.unique(y)]) / len(y)
    cond = joint / joint.sum(0, keepdims=True)
    return np.mean(np.log(np.einsum("nz,nz->n", theta, cond[y])))


def _one_hot(theta, y):
    onehot = np.eye(y.max() + 1)[y]                            # (n, K)
    joint = onehot.T @ theta / len(y)                          # P(y, z)
    cond = joint / joint.sum(axis=0)                           # P(y | z)
    return float(np.log((theta * cond[y]).sum(axis=1)).mean())


def _loops(theta, y):
    n, z = theta.shape
    k = int(y.max()) + 1
    joint = [[sum(theta[i, j] for i in range(n) if y[i] == c) / n for j in range(z)] for c in range(k)]
    col = [sum(joint[c][j] for c in range(k)) for j in range(z)]
    total = 0.0
    for i in range(n):
        total += np.log(sum(theta[i, j] * joint[y[i]][j] / col[j] for j in range(z)))
    return total / n


LEEP_RIGHT = [nb07.solution_leep, _einsum, _one_hot, _loops]


@pytest.mark.parametrize("answer", LEEP_RIGHT, ids=lambda f: f.__name__)
def test_leep_accepts_the_solution_and_honest_variants(answer):
    for _ in range(REPEATS):
        fb = nb07.check_leep(answer)
        assert fb, str(fb)


def _wrapped(theta, y):
    return tr.leep(theta, y)


def _hidden(theta, y):
    return getattr(tr, "le" + "ep")(theta, y)


def _aliased(theta, y):
    from course_lib.transferability import leep as borrowed

    return borrowed(theta, y)


@pytest.mark.parametrize("shortcut", [tr.leep, _wrapped, _hidden, _aliased,
                                      functools.partial(tr.leep)])
def test_leep_refuses_the_course_leep_however_reached(shortcut):
    fb = nb07.check_leep(shortcut)
    assert fb.status == "incorrect" and "transferability.leep" in fb.message
    assert "cannot tell" in fb.message


def test_leep_names_the_slip_without_the_expected_value(monkeypatch):
    drawn = recording(monkeypatch, nb07)

    def given_y(theta, y):
        joint = np.stack([theta[y == c].sum(0) for c in np.unique(y)]) / len(y)
        cond = joint / joint.sum(1, keepdims=True)
        return np.mean(np.log(np.einsum("nz,nz->n", theta, cond[y])))

    def no_log(t, y):
        joint = np.stack([t[y == c].sum(0) for c in np.unique(y)]) / len(y)
        return np.mean(np.einsum("nz,nz->n", t, (joint / joint.sum(0, keepdims=True))[y]))

    slips = {"P(z | y)": given_y, "without taking the log": no_log,
             "positive": lambda t, y: 0.5, "differs from the definition": lambda t, y: -123.0,
             "one number": lambda t, y: "high", "ZeroDivisionError": lambda t, y: 1 / 0}
    for _ in range(REPEATS):
        for words, wrong in slips.items():
            fb = nb07.check_leep(wrong)
            assert fb.status == "incorrect" and words in str(fb), (words, str(fb))
            assert not leaks(fb, *[_einsum(t, y) for t, y in drawn[-1]]), str(fb)
    assert nb07.check_leep(...).status == "unanswered"
    assert nb07.check_leep(lambda theta, y: ...).status == "unanswered"


def test_score_labels_prediction():
    check = nb07.check_score_labels_prediction
    assert check(..., 5, 0.5, 0.8).status == "unanswered"
    assert "not an option" in check("up", 5, 0.5, 0.8).message
    for _ in range(REPEATS):
        assert check("lower", 5, 0.5, 0.8) and check("higher", 5, 0.9, 0.8)
        assert check("about the same", 5, 0.83, 0.8) and check("about the same", 40, 0.8, 0.8)
        for reading in ("about the same", "higher"):               # on the boundary: both
            assert check(reading, 5, 0.85, 0.8)
    assert check("higher", 5, 0.82, 0.8).status == "incorrect"
    fb = check("higher", 5, 0.5, 0.8)
    assert fb.status == "incorrect" and "+0.50" in fb.message and "as you predicted" in fb.message
    assert nb07.solution_score_labels_prediction(5) in ("higher", "lower", "about the same")
    assert nb07.solution_score_labels_prediction(40) == "about the same"
