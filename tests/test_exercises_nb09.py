import inspect

import numpy as np
import pytest
import torch

from course_lib.exercises import nb09
from course_lib.text import mean_pool


def _typed_in(solution):
    """The model solution as a learner would type it: same source, its own code object."""
    namespace = {}
    exec(inspect.getsource(solution), namespace)
    return namespace[solution.__name__]


def test_mean_pool_check():
    assert nb09.check_mean_pool(_typed_in(nb09.solution_mean_pool))
    assert "padding included" in nb09.check_mean_pool(lambda h, m: h.mean(1)).message
    assert "[CLS]" in nb09.check_mean_pool(lambda h, m: h[:, 0]).message
    assert "divide" in nb09.check_mean_pool(lambda h, m: (h * m.unsqueeze(-1)).sum(1)).message
    assert "shape" in nb09.check_mean_pool(lambda h, m: h).message
    assert "differ" in nb09.check_mean_pool(lambda h, m: torch.zeros(2, 3)).message

    def todo(h, m):
        ...

    assert nb09.check_mean_pool(todo).status == "unanswered"


@pytest.mark.parametrize("answer, called", [
    (mean_pool, "text.mean_pool"),                                   # passed as is
    (lambda h, m: mean_pool(h, m), "text.mean_pool"),                # imported by name
    (lambda h, m: __import__("course_lib").text.mean_pool(h, m), "text.mean_pool"),
])
def test_mean_pool_check_is_not_passed_by_the_library_function(answer, called):
    feedback = nb09.check_mean_pool(answer)
    assert not feedback and called in feedback.message and "cannot tell" in feedback.message


def test_mean_pool_check_sees_the_model_forward():
    from course_lib.models import TextClassifier

    class Fake(TextClassifier):
        def __init__(self):
            torch.nn.Module.__init__(self)
            self.pooling = "mean"
            self.encoder = lambda **kw: type("Out", (), {"last_hidden_state": kw["input_ids"]})

    fake = Fake()
    feedback = nb09.check_mean_pool(lambda h, m: fake.embed(h, m))
    assert not feedback and "TextClassifier.embed" in feedback.message


def test_frozen_count():
    assert nb09.check_frozen_count(1540)
    assert "biases" in nb09.check_frozen_count(1536).message
    assert not nb09.check_frozen_count(3)
    assert nb09.check_frozen_count(...).status == "unanswered"


def _rows(values):
    return [{"name": "cut", "k": 4, "seed": s, "accuracy": v} for s, v in enumerate(values)]


def test_length_prediction_reads_the_learners_measurement():
    full = [0.90] * 5
    assert nb09.check_length_prediction("a", 12, _rows([0.89] * 5), full)
    assert nb09.check_length_prediction("B", 6, _rows([0.82] * 5), full)      # drop 0.08
    assert nb09.check_length_prediction("c", 4, _rows([0.67] * 5), full)
    wrong = nb09.check_length_prediction("c", 6, _rows([0.82] * 5), full)
    assert not wrong and "you predicted (c)" in wrong.message and "early" in wrong.hints[0]
    wrong = nb09.check_length_prediction("a", 4, _rows([0.67] * 5), full)
    assert not wrong and "[CLS] and [SEP]" in wrong.hints[0]
    assert "not one of the options" in nb09.check_length_prediction("d", 6, _rows(full), full).message
    assert "run the whole cell" in nb09.check_length_prediction("a", 6, [], full).message
    assert nb09.check_length_prediction(..., 6, _rows(full), full).status == "unanswered"


def test_the_model_prediction_matches_real_measurements():
    from course_lib import models, text, training

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
