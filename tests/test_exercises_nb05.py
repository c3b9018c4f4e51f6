import torch
from torch import nn
from torchvision.models import mobilenet_v3_small, resnet18

from course_lib.exercises import nb05


def test_five_class_head():
    def build():
        torch.manual_seed(0)
        return resnet18(weights=None)

    def good(m):
        m.fc = nn.Linear(m.fc.in_features, 5)

    def wrong_inputs(m):
        m.fc = nn.Linear(1000, 5)

    def wrong_outputs(m):
        m.fc = nn.Linear(512, 2)

    def touched(m):
        with torch.no_grad():
            m.conv1.weight.zero_()
        m.fc = nn.Linear(512, 5)

    def todo(m):
        ...

    assert nb05.check_five_class_head(good, build)
    assert nb05.check_five_class_head(lambda m: (good(m), m)[1], build)
    assert "1000 inputs" in nb05.check_five_class_head(wrong_inputs, build).message
    assert "2 outputs" in nb05.check_five_class_head(wrong_outputs, build).message
    assert "pretrained layers too" in nb05.check_five_class_head(touched, build).message
    assert "not an nn.Linear" in nb05.check_five_class_head(lambda m: setattr(m, "fc", nn.Identity()), build).message
    assert nb05.check_five_class_head(todo, build).status == "unanswered"


def test_head_only_count():
    assert nb05.check_head_only_count(2565)
    assert "biases" in nb05.check_head_only_count(2560).message
    assert nb05.check_head_only_count(...).status == "unanswered"
    assert not nb05.check_head_only_count(7)


def test_head_path():
    model = mobilenet_v3_small(weights=None)
    assert nb05.check_head_path("classifier.3", model)
    assert "contains the last layer" in nb05.check_head_path("classifier", model).message
    assert "not the last one" in nb05.check_head_path("classifier.0", model).message
    assert "no sub-module 'fc'" in nb05.check_head_path("fc", model).message
    assert "not the final Linear" in nb05.check_head_path("avgpool", model).message
    assert "Expected a string" in nb05.check_head_path(3, model).message
    assert nb05.check_head_path(..., model).status == "unanswered"
