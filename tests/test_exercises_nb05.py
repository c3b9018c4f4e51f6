import torch
from torch import nn
from torchvision.models import mobilenet_v3_small, resnet18

from course_lib import models
from course_lib.exercises import nb05


def build():
    torch.manual_seed(0)
    return resnet18(weights=None)


def test_five_class_head():
    def wrong_outputs(m):
        m.fc = nn.Linear(m.fc.in_features, 2)

    def touched(m):
        with torch.no_grad():
            for p in m.parameters():
                p.zero_()
                break
        m.fc = nn.Linear(m.fc.in_features, 5)

    def todo(m):
        ...

    assert nb05.check_five_class_head(nb05.solution_make_five_class, build)
    returns = lambda m: (nb05.solution_make_five_class(m), m)[1]  # noqa: E731
    assert nb05.check_five_class_head(returns, build)
    assert "1000 inputs" in nb05.check_five_class_head(
        lambda m: setattr(m, "fc", nn.Linear(1000, 5)), build).message
    assert "2 outputs" in nb05.check_five_class_head(wrong_outputs, build).message
    assert "pretrained layers too" in nb05.check_five_class_head(touched, build).message
    assert "not an nn.Linear" in nb05.check_five_class_head(
        lambda m: setattr(m, "fc", nn.Identity()), build).message
    assert nb05.check_five_class_head(todo, build).status == "unanswered"


def test_five_class_head_bypass_hard_coded_in_features():
    fb = nb05.check_five_class_head(lambda m: setattr(m, "fc", nn.Linear(512, 5)), build)
    assert not fb and "always takes 512" in fb.message and "48" in fb.message


def test_head_only_count():
    assert nb05.check_head_only_count(nb05.solution_head_params())
    assert "biases" in nb05.check_head_only_count(2560).message
    assert "separately" in nb05.check_head_only_count(517).message
    assert nb05.check_head_only_count(...).status == "unanswered"
    assert not nb05.check_head_only_count(7)
    model = build()
    models.replace_head(model, 5)
    models.freeze_all_but_last(model, 1)
    assert models.count_parameters(model)["trainable"] == nb05.solution_head_params()


def test_head_path():
    model = mobilenet_v3_small(weights=None)
    assert nb05.check_head_path(nb05.solution_head_path(model), model)
    assert "contains the last layer" in nb05.check_head_path("classifier", model).message
    assert "not the last one" in nb05.check_head_path("classifier.0", model).message
    assert "no sub-module 'fc'" in nb05.check_head_path("fc", model).message
    assert "not the final Linear" in nb05.check_head_path("avgpool", model).message
    assert "Expected a string" in nb05.check_head_path(3, model).message
    assert nb05.check_head_path(..., model).status == "unanswered"


def test_percent_prediction_and_its_solution():
    lite0 = models.load_backbone("efficientnet_lite0").model
    models.replace_head(lite0, 2)
    sizes = [sum(p.numel() for p in g.parameters()) for _, g in models.layer_groups(lite0)]
    for n in (1, 3, 8):
        models.freeze_all_but_last(lite0, n)
        counts = models.count_parameters(lite0)
        guess = nb05.solution_percent_prediction(n, sizes)
        assert nb05.check_percent_prediction(guess, n, counts)
    models.freeze_all_but_last(lite0, 3)
    counts = models.count_parameters(lite0)
    fb = nb05.check_percent_prediction(3, 3, counts)
    assert not fb and "wide ones" in str(fb)
    assert nb05.check_percent_prediction(..., 3, counts).status == "unanswered"
    assert "not a percentage" in nb05.check_percent_prediction(300, 3, counts).message
