"""Notebook 05: the freeze-depth prediction, a 5-class head by hand (replace_head refused,
however it is reached), counting the head, and the head of an unfamiliar model."""
import copy
import functools

import pytest
import torch
from torch import nn
from torchvision.models import mobilenet_v3_small, resnet18

from course_lib import models
from course_lib.exercises import nb05
from test_exercises_support import REPEATS, cells, leaks  # noqa: F401

torch.manual_seed(0)
RESNET = resnet18(weights=None)


def build():
    return copy.deepcopy(RESNET)


def _returns(m):
    nb05.solution_make_five_class(m)
    return m


def _setattr(m):
    setattr(m, "fc", nn.Linear(m.fc.weight.shape[1], 5))


def _sequential(m):
    m.fc = nn.Linear(m.fc.in_features, 5, bias=True)
    return None


def _no_bias(m):
    m.fc = nn.Linear(m.fc.in_features, 5, bias=False)


HEAD_RIGHT = [nb05.solution_make_five_class, _returns, _setattr, _sequential, _no_bias]


@pytest.mark.slow
@pytest.mark.parametrize("answer", HEAD_RIGHT, ids=lambda f: f.__name__)
def test_five_class_head_accepts_the_solution_and_honest_variants(answer):
    for _ in range(REPEATS):
        fb = nb05.check_five_class_head(answer, build)
        assert fb, str(fb)


def _via_helper(m):
    models.replace_head(m, 5)


def _helper_alias(m):
    from course_lib.models import replace_head as swap

    swap(m, num_classes=5)


def _helper_default(m, swap=models.replace_head):
    swap(m, 5)


@pytest.mark.parametrize("shortcut", [lambda m: models.replace_head(m, 5), _via_helper, _helper_alias,
                                      _helper_default, functools.partial(models.replace_head, num_classes=5)])
def test_five_class_head_refuses_replace_head_however_it_is_reached(shortcut):
    fb = nb05.check_five_class_head(shortcut, build)
    assert not fb and "replace_head" in fb.message and "cannot tell" in fb.message


def test_five_class_head_names_the_mistake():
    def wrong_outputs(m):
        m.fc = nn.Linear(m.fc.in_features, 2)

    def touched(m):
        with torch.no_grad():
            next(m.parameters()).zero_()
        m.fc = nn.Linear(m.fc.in_features, 5)

    def todo(m):
        ...

    assert "inputs do not" in nb05.check_five_class_head(
        lambda m: setattr(m, "fc", nn.Linear(1000, 5)), build).message
    assert "2 outputs" in nb05.check_five_class_head(wrong_outputs, build).message
    assert "pretrained layers too" in nb05.check_five_class_head(touched, build).message
    assert "not an nn.Linear" in nb05.check_five_class_head(
        lambda m: setattr(m, "fc", nn.Identity()), build).message
    assert nb05.check_five_class_head(todo, build).status == "unanswered"
    for _ in range(5):
        fb = nb05.check_five_class_head(lambda m: setattr(m, "fc", nn.Linear(512, 5)), build)
        assert not fb and "typed in" in fb.message and not leaks(fb)


def test_head_only_count():
    for answer in (nb05.solution_head_params(), 2565, 2565.0, 512 * 5 + 5):
        assert nb05.check_head_only_count(answer)
    cases = {2560: "biases", 517: "separately", 11_179_077: "Far too many", 7: "Not the head"}
    for answer, words in cases.items():
        fb = nb05.check_head_only_count(answer)
        assert not fb and words in str(fb) and not leaks(fb, 2565)
    assert nb05.check_head_only_count(...).status == "unanswered"
    model = build()
    models.replace_head(model, 5)
    models.freeze_all_but_last(model, 1)
    assert models.count_parameters(model)["trainable"] == nb05.solution_head_params()


def test_head_path():
    model = mobilenet_v3_small(weights=None)
    for answer in (nb05.solution_head_path(model), "classifier.3", " classifier.3 "):
        assert nb05.check_head_path(answer, model)
    assert "contains the last layer" in nb05.check_head_path("classifier", model).message
    assert "not the last one" in nb05.check_head_path("classifier.0", model).message
    assert "no sub-module 'fc'" in nb05.check_head_path("fc", model).message
    assert "not the final Linear" in nb05.check_head_path("avgpool", model).message
    assert "Expected a string" in nb05.check_head_path(3, model).message
    assert nb05.check_head_path(..., model).status == "unanswered"


# --------------------------------------------------------------------------- freeze depth: predict, then measure
@pytest.fixture(scope="module")
def lite0():
    model = models.load_backbone("efficientnet_lite0").model
    models.replace_head(model, 2)
    sizes = [sum(p.numel() for p in g.parameters()) for _, g in models.layer_groups(model)]
    return model, sizes


@pytest.mark.parametrize("n", [2, 4, 5, 8, 12, 18])
def test_percent_model_prediction_holds_for_every_depth(cells, lite0, n):
    model, sizes = lite0
    for guess in (nb05.solution_percent_prediction(n, sizes),
                  round(nb05.solution_percent_prediction(n, sizes)),
                  f"{nb05.solution_percent_prediction(n, sizes):.1f}"):
        for _ in range(REPEATS):
            nb05.PERCENT.reset()
            cells.run()
            assert nb05.PERCENT.predict(guess, n_groups=n).status == "noted"
            cells.run()
            fb = nb05.freeze_experiment(model, n)
            assert fb, (n, str(fb))


def test_percent_wrong_prediction_and_refusals(cells, lite0):
    model, _ = lite0
    exp = nb05.PERCENT
    exp.reset()
    cells.run()
    exp.predict(3, n_groups=4)
    cells.run()
    fb = nb05.freeze_experiment(model, 4)
    assert not fb and "wide ones" in str(fb)
    cells.run()
    assert "already seen" in exp.predict(40, n_groups=4).message
    assert "already printed" in exp.predict(30, n_groups=3).message
    assert "from 1 to 19" in exp.predict(30, n_groups=20).message
    assert "between 0 and 100" in exp.predict(130, n_groups=5).message
    assert exp.predict(..., n_groups=5).status == "unanswered"
