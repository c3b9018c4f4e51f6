"""Notebook 09: mean pooling (random batches; the library refused; no formula in the hints),
the frozen count, and the length prediction (recorded in its own cell first, then measured
by the library; ties accept both readings)."""
import functools
import inspect

import numpy as np
import pytest
import torch

from course_lib import text
from course_lib.compare import Budget, trials_by_seed
from course_lib.exercises import nb09
from test_exercises_support import (REPEATS, cells, predict_then_measure,  # noqa: F401
                                    predict_then_record, unanswered_runs_nothing)


def _loop(hidden, mask):
    rows = []
    for h, m in zip(hidden, mask):
        rows.append(h[m.bool()].mean(0))
    return torch.stack(rows)


def _einsum(hidden, mask):
    m = mask.to(hidden.dtype)
    return torch.einsum("bth,bt->bh", hidden, m) / m.sum(1, keepdim=True)


def _numpy(hidden, mask):
    h, m = hidden.numpy(), mask.numpy()[..., None]
    return (h * m).sum(1) / m.sum(1)


MEAN_RIGHT = [nb09.solution_mean_pool, _loop, _einsum, _numpy,
              lambda h, m: (h * m.unsqueeze(-1)).sum(1) / m.sum(1).unsqueeze(-1)]


@pytest.mark.parametrize("answer", MEAN_RIGHT)
def test_mean_pool_accepts_the_solution_and_honest_variants(answer):
    for _ in range(REPEATS):
        fb = nb09.check_mean_pool(answer)
        assert fb, str(fb)


def test_mean_pool_names_the_mistake_without_the_formula():
    mistakes = {"padding included": lambda h, m: h.mean(1), "[CLS]": lambda h, m: h[:, 0],
                "did not divide": lambda h, m: (h * m.unsqueeze(-1)).sum(1),
                "shape": lambda h, m: h, "differ": lambda h, m: torch.zeros(h.shape[0], h.shape[2])}
    for _ in range(REPEATS):
        for words, wrong in mistakes.items():
            fb = nb09.check_mean_pool(wrong)
            assert not fb and words in str(fb), (words, str(fb))
            assert "mask.sum" not in str(fb) and "/ mask" not in str(fb)

    def todo(h, m):
        ...

    assert nb09.check_mean_pool(todo).status == "unanswered"


def _alias(h, m):
    from course_lib.text import mean_pool as pool

    return pool(h, m)


@pytest.mark.parametrize("shortcut", [text.mean_pool, lambda h, m: text.mean_pool(h, m), _alias,
                                      functools.partial(text.mean_pool),
                                      lambda h, m: __import__("course_lib").text.mean_pool(h, m)])
def test_mean_pool_refuses_the_library_however_reached(shortcut):
    fb = nb09.check_mean_pool(shortcut)
    assert not fb and "text.mean_pool" in fb.message and "cannot tell" in fb.message


def test_mean_pool_sees_the_model_forward():
    from course_lib.models import TextClassifier

    class Fake(TextClassifier):
        def __init__(self):
            torch.nn.Module.__init__(self)
            self.pooling = "mean"
            self.encoder = lambda **kw: type("Out", (), {"last_hidden_state": kw["input_ids"]})

    fake = Fake()
    fb = nb09.check_mean_pool(lambda h, m: fake.embed(h, m))
    assert not fb and "TextClassifier.embed" in fb.message


def test_frozen_count():
    for answer in (1540, 1540.0, nb09.solution_frozen_count(), 384 * 4 + 4):
        assert nb09.check_frozen_count(answer)
    assert "biases" in nb09.check_frozen_count(1536).message
    fb = nb09.check_frozen_count(3)
    assert not fb and "384" not in str(fb) and "1540" not in str(fb)
    assert nb09.check_frozen_count(...).status == "unanswered"


# --------------------------------------------------------------------------- cut short: predict, then measure
BUDGET = Budget(steps=200, lr_grid=(1e-2, 4e-2, 1.6e-1))
SEEDS = range(10)


def _judged(cells, reading, max_length, short, full):
    return predict_then_record(cells, nb09.LENGTH, reading, {"short": short, "full": full},
                               max_length=max_length)


def test_length_each_outcome_accepts_its_reading_and_ties_accept_both(cells):
    full = [0.90] * 5
    for _ in range(REPEATS):
        assert _judged(cells, "a", 12, [0.89] * 5, full)
        assert _judged(cells, "B", 6, [0.82] * 5, full)                    # drop 0.08
        assert _judged(cells, "c", 4, [0.67] * 5, full)
        assert _judged(cells, "a", 31, [0.90] * 5, full)                   # no drop at all
        for reading in ("a", "b"):                                         # drop 0.03: a tie
            assert _judged(cells, reading, 8, [0.87] * 5, full)
    wrong = _judged(cells, "c", 6, [0.82] * 5, full)
    assert not wrong and "you predicted (c)" in wrong.message and "early" in wrong.hints[0]
    wrong = _judged(cells, "a", 4, [0.67] * 5, full)
    assert not wrong and "[CLS] and [SEP]" in wrong.hints[0]


def test_length_refusals_read_from_the_settings(cells):
    exp = nb09.LENGTH
    assert "not an option" in exp.predict("d", max_length=6).message
    assert "nothing changed" in exp.predict("a", max_length=nb09.WHOLE).message
    assert "from 3 to 32" in exp.predict("a", max_length=2).message
    assert exp.predict(..., max_length=6).status == "unanswered"
    assert _judged(cells, "a", 12, [0.89] * 5, [0.90] * 5)
    cells.run()
    late = exp.predict("b", max_length=12)                     # changed after seeing it
    assert late.status == "incorrect" and "already seen" in late.message


def test_length_a_typed_in_measurement_cannot_be_passed():
    assert not hasattr(nb09, "check_length_prediction")
    params = set(inspect.signature(nb09.length_experiment).parameters)
    assert not params & {"rows", "measured", "full", "accuracy", "predicted"}


@pytest.fixture(scope="module")
def minilm():
    from course_lib import models

    bb = models.load_backbone("minilm")
    ds = text.load_text_dataset()
    trials = trials_by_seed(ds.labels, 4, SEEDS, val_per_class=10)
    return bb.model, bb.preprocess, ds.texts, ds.labels, trials


def test_length_nothing_runs_before_a_prediction(cells, monkeypatch):
    ran = []
    monkeypatch.setattr(text, "embed_texts", lambda *a, **kw: ran.append(1))
    unanswered_runs_nothing(cells, nb09.LENGTH,
                            lambda: nb09.length_experiment(None, None, [], [], {}, 6, SEEDS, BUDGET),
                            ran, max_length=6)
    cells.run()
    nb09.LENGTH.predict("b", max_length=6)
    fb = nb09.length_experiment(None, None, [], [], {}, 6, SEEDS, BUDGET)    # the same cell
    assert fb.status == "incorrect" and "same cell" in fb.message and not ran


@pytest.mark.slow
def test_length_model_prediction_passes_on_the_real_measurement(cells, minilm):
    model, tokenizer, texts, labels, trials = minilm
    for max_length in (4, 12):
        fb = predict_then_measure(cells, nb09.LENGTH, nb09.solution_length_prediction(max_length),
                                  nb09.length_experiment, model, tokenizer, texts, labels,
                                  trials, max_length, SEEDS, BUDGET, max_length=max_length)
        assert fb, (max_length, str(fb))
    cells.run()
    late = nb09.LENGTH.predict("c", max_length=12)           # the model said "a"
    assert late.status == "incorrect" and "already seen" in late.message


def test_solutions_pass_their_checks():
    assert nb09.check_frozen_count(nb09.solution_frozen_count())
    assert nb09.solution_length_prediction(3) == "c" and nb09.solution_length_prediction(8) == "a"
    assert np.isclose(float(nb09.solution_mean_pool(torch.ones(1, 2, 3),
                                                    torch.tensor([[1, 0]])).sum()), 3.0)
