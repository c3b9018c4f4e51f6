"""Notebook 08: the transfer gap (random pairs, no expected value shown) and the k prediction (predicted
in its own cell, the verdict measured by the library's run)."""
import inspect

import numpy as np
import pytest
import torch

from course_lib.compare import Budget, paired_comparison
from course_lib.exercises import nb08
from test_exercises_support import (REPEATS, cells, leaks, predict_then_measure,  # noqa: F401
                                    predict_then_record, recording, unanswered_runs_nothing)

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


# --------------------------------------------------------------------------- change k: predict, then measure
BUDGET = Budget(steps=60, lr_grid=(1e-3, 3e-3, 1e-2))
PROBE_SEEDS = range(10)


def _synthetic(gap: float, n_per_class: int = 60, seed: int = 0):
    """Features where "raw pixels" separate the 5 classes and "ImageNet final" does so
    ``gap`` worse (0: the same features, a tie)."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(5), n_per_class)
    centres = rng.normal(size=(5, 8)) * 2
    good = centres[labels] + rng.normal(size=(len(labels), 8))
    worse = centres[labels] + (1 + gap) * rng.normal(size=(len(labels), 8))
    return {"raw pixels": torch.tensor(good, dtype=torch.float32),
            "ImageNet final": torch.tensor(worse if gap else good, dtype=torch.float32)}, labels


@pytest.fixture(scope="module")
def digits_features():
    """The notebook's two feature sets: 64 raw pixels and Lite0's final features at 32 px."""
    import copy

    from course_lib import data, models, training

    digits = data.load_digits(range(5, 10))
    lite0 = models.load_backbone("efficientnet_lite0", image_size=32)
    net = models.remove_head(copy.deepcopy(lite0.model))
    final = training.extract_features(net, digits.with_transform(lite0.preprocess))[0]
    return {"raw pixels": digits.images.flatten(1), "ImageNet final": final}, \
        digits.labels.numpy()


@pytest.mark.slow
@pytest.mark.parametrize("k", [2, 3, 20, 40])
def test_k_model_solution_passes_at_every_suggested_k(cells, digits_features, k):
    features, labels = digits_features
    for guess in (nb08.solution_k_prediction(k), "Raw pixels better", " raw pixels better "):
        fb = predict_then_measure(cells, nb08.K_VERDICT, guess,
                                  nb08.k_experiment, features, labels, k, PROBE_SEEDS, BUDGET,
                                  k=k)
        assert fb, (k, str(fb))


def test_k_each_verdict_accepts_its_reading_and_a_tie_is_an_outcome(cells):
    exp = nb08.K_VERDICT
    for gap, right in ((3.0, "raw pixels better"), (0.0, "no detectable difference")):
        features, labels = _synthetic(gap)
        measured = nb08.k_experiment.measure(features, labels, 4, range(5), BUDGET)
        for reading in ("raw pixels better", "ImageNet final better",
                        "no detectable difference"):
            for _ in range(REPEATS if reading == right else 1):
                exp.reset()
                cells.run()
                assert exp.predict(reading, k=4).status == "noted"
                cells.run()
                exp.record(measured, k=4)
                fb = exp.check()
                assert bool(fb) == (reading == right), (gap, reading, str(fb))
                assert fb or "Compare the interval" in str(fb)
    swapped = paired_comparison([0.9, 0.92, 0.91, 0.93, 0.9], [0.7, 0.72, 0.71, 0.69, 0.7],
                                "ImageNet final", "raw pixels")
    exp.reset()
    cells.run()
    exp.predict("ImageNet final better", k=7)
    cells.run()
    exp.record(swapped, k=7)
    assert exp.check()


def test_k_a_prediction_after_the_measurement_is_refused(cells):
    features, labels = _synthetic(3.0)
    exp = nb08.K_VERDICT
    fb = predict_then_measure(cells, exp, "ImageNet final better", nb08.k_experiment,
                              features, labels, 4, range(5), BUDGET, k=4)
    assert fb.status == "incorrect" and "Measured:" in fb.message
    cells.run()
    late = exp.predict("raw pixels better", k=4)
    assert late.status == "incorrect" and "already seen" in late.message
    cells.run()
    assert nb08.k_experiment(features, labels, 4, range(5), BUDGET).status == "unanswered"
    cells.run()                                                   # both in one cell
    exp.predict("raw pixels better", k=6)
    fb = nb08.k_experiment(features, labels, 6, range(5), BUDGET)
    assert fb.status == "incorrect" and "same cell" in fb.message


def test_k_nothing_runs_before_a_prediction(cells, monkeypatch):
    from course_lib import compare

    ran = []
    monkeypatch.setattr(compare, "run_paired", lambda *a, **kw: ran.append(1))
    unanswered_runs_nothing(cells, nb08.K_VERDICT, lambda: nb08.k_experiment({}, None, 2, PROBE_SEEDS, BUDGET),
                            ran, k=2)


def test_k_a_typed_in_measurement_cannot_be_passed_and_shown_k_are_refused():
    assert not hasattr(nb08, "check_k_prediction")
    params = set(inspect.signature(nb08.k_experiment).parameters)
    assert not params & {"comparison", "prediction", "verdict", "measured"}
    exp = nb08.K_VERDICT
    for k in nb08.K_SHOWN:
        assert "already printed" in exp.predict("raw pixels better", k=k).message
    assert "from 1 to 40" in exp.predict("raw pixels better", k=41).message
    assert "not an option" in exp.predict("pixels", k=2).message
    assert exp.predict(..., k=2).status == "unanswered"
