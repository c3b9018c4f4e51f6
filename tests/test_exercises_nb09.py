"""Notebook 09: mean pooling (random batches; the library refused; no formula in the hints),
the frozen count, and the length prediction (ties)."""
import functools

import numpy as np
import pytest
import torch

from course_lib import text
from course_lib.exercises import nb09
from test_exercises_support import REPEATS


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


def _rows(values):
    return [{"name": "cut", "k": 4, "seed": s, "accuracy": v} for s, v in enumerate(values)]


def test_length_prediction_reads_the_learners_measurement():
    full = [0.90] * 5
    for _ in range(REPEATS):
        assert nb09.check_length_prediction("a", 12, _rows([0.89] * 5), full)
        assert nb09.check_length_prediction("B", 6, _rows([0.82] * 5), full)      # drop 0.08
        assert nb09.check_length_prediction("c", 4, _rows([0.67] * 5), full)
        for reading in ("a", "b"):                                                 # drop 0.03: a tie
            assert nb09.check_length_prediction(reading, 8, _rows([0.87] * 5), full)
    wrong = nb09.check_length_prediction("c", 6, _rows([0.82] * 5), full)
    assert not wrong and "you predicted (c)" in wrong.message and "early" in wrong.hints[0]
    wrong = nb09.check_length_prediction("a", 4, _rows([0.67] * 5), full)
    assert not wrong and "[CLS] and [SEP]" in wrong.hints[0]
    assert "not one of the options" in nb09.check_length_prediction("d", 6, _rows(full), full).message
    assert "run the whole cell" in nb09.check_length_prediction("a", 6, [], full).message
    assert nb09.check_length_prediction(..., 6, _rows(full), full).status == "unanswered"


@pytest.mark.slow
def test_the_model_prediction_matches_real_measurements():
    from course_lib import models, training

    bb = models.load_backbone("minilm")
    ds = text.load_text_dataset()
    seeds = range(10)

    def measure(max_length):
        emb = text.embed_texts(bb.model, bb.preprocess, ds.texts, max_length=max_length)
        return training.label_efficiency({"cut": emb}, ds.labels, ks=(4,), seeds=seeds)

    full = [r["accuracy"] for r in measure(32)]
    for max_length in (4, 12):
        predicted = nb09.solution_length_prediction(max_length)
        assert nb09.check_length_prediction(predicted, max_length, measure(max_length), full)


def test_solutions_pass_their_checks():
    assert nb09.check_frozen_count(nb09.solution_frozen_count())
    assert nb09.solution_length_prediction(3) == "c" and nb09.solution_length_prediction(8) == "a"
    assert np.isclose(float(nb09.solution_mean_pool(torch.ones(1, 2, 3),
                                                    torch.tensor([[1, 0]])).sum()), 3.0)
