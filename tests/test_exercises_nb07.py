"""Notebook 07: the recommendation (ties), LEEP by hand (the course's LEEP refused however it is
reached; random cases; no expected value shown) and the score-labels prediction (recorded in its own cell, then measured by the library)."""
import functools
import inspect

import numpy as np
import pytest
import torch

import course_lib.transferability as tr
from course_lib.exercises import nb07
from test_exercises_support import (REPEATS, cells, leaks, predict_then_measure,  # noqa: F401
                                    predict_then_record, recording, unanswered_runs_nothing)

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


# --------------------------------------------------------------------------- fewer labels: predict, then measure
def _judged(cells, reading, k_score, tau_few, tau_all=0.8):
    return predict_then_record(cells, nb07.SCORE_LABELS, reading, {"tau_few": tau_few, "tau_all": tau_all},
                               k_score=k_score)


def test_score_labels_each_outcome_accepts_its_reading_and_ties_accept_both(cells):
    for _ in range(REPEATS):
        assert _judged(cells, "lower", 5, 0.5) and _judged(cells, "higher", 5, 0.9)
        assert _judged(cells, "about the same", 5, 0.83)
        assert _judged(cells, "about the same", 20, 0.8)                   # an equal τ
        for reading in ("about the same", "higher"):                       # on the boundary
            assert _judged(cells, reading, 5, 0.85)
    assert _judged(cells, "higher", 5, 0.82).status == "incorrect"
    fb = _judged(cells, "higher", 5, 0.5)
    assert fb.status == "incorrect" and "-0.30" in fb.message and "as you predicted" in fb.message
    assert nb07.solution_score_labels_prediction(5) in ("higher", "lower", "about the same")
    assert nb07.solution_score_labels_prediction(40) == "about the same"


def test_score_labels_refusals_read_from_the_settings(cells):
    exp = nb07.SCORE_LABELS
    assert "nothing changed" in exp.predict("about the same", k_score=nb07.K_ALL).message
    assert "from 3 to 40" in exp.predict("lower", k_score=2).message
    assert "not an option" in exp.predict("up", k_score=5).message
    assert exp.predict(..., k_score=5).status == "unanswered"
    assert _judged(cells, "lower", 5, 0.5)
    cells.run()
    late = exp.predict("higher", k_score=5)
    assert late.status == "incorrect" and "already seen" in late.message


def _candidates(n_per_class=100, seed=0):
    """Four synthetic candidates whose features separate 5 classes from well to not at all,
    with fine-tuned accuracies in that order, and 10 splits of 40 + 10 labels per class."""
    from course_lib.compare import trials_by_seed

    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(5), n_per_class)
    centres = rng.normal(size=(5, 16)) * 3
    features = {f"noise {s}": torch.tensor(centres[y] * (s < 9) + s * rng.normal(size=(len(y), 16)),
                                           dtype=torch.float32) for s in (1, 2, 4, 9)}
    accuracy = {"noise 1": 0.95, "noise 2": 0.9, "noise 4": 0.7, "noise 9": 0.2}
    splits = tuple(range(10))
    return features, y, trials_by_seed(y, 40, splits, val_per_class=10), accuracy, splits


def test_score_labels_the_library_measures_and_nothing_runs_before_a_prediction(
        cells, monkeypatch):
    from course_lib import transferability as tr

    features, y, trials, accuracy, splits = _candidates()
    exp = nb07.SCORE_LABELS
    exp.reset()
    cells.run()
    assert exp.predict(..., k_score=5).status == "unanswered"
    cells.run()
    with monkeypatch.context() as patched:
        ran = []
        patched.setattr(tr, "logme", lambda *a: ran.append(1))
        fb = nb07.score_labels_experiment(features, y, trials, accuracy, splits, 5)
        assert fb.status == "unanswered" and "Not answered yet" in fb.message and not ran
        cells.run()
        exp.predict("lower", k_score=5)
        fb = nb07.score_labels_experiment(features, y, trials, accuracy, splits, 5)
        assert fb.status == "incorrect" and "same cell" in fb.message and not ran
    measured = nb07.score_labels_experiment.measure(features, y, trials, accuracy, splits, 10)
    assert measured["tau_all"] == pytest.approx(1.0)         # well separated: the true order
    right = nb07._tau_outcome({"k_score": 10}, measured)
    for reading in right:
        fb = predict_then_measure(cells, exp, reading, nb07.score_labels_experiment,
                                  features, y, trials, accuracy, splits, 10, k_score=10)
        assert fb, (reading, str(fb))


def test_score_labels_a_typed_in_measurement_cannot_be_passed():
    assert not hasattr(nb07, "check_score_labels_prediction")
    params = set(inspect.signature(nb07.score_labels_experiment).parameters)
    assert not params & {"tau_few", "tau_all", "prediction", "measured"}
