import pytest
import torch
from torch import nn

from course_lib import inspect_model
from course_lib.pretrain import SmallCNN


def test_feature_maps_and_errors():
    model = SmallCNN()
    model.train()
    maps = inspect_model.feature_maps(model, torch.rand(2, 1, 8, 8), ["conv3", "fc"])
    assert maps["conv3"].shape == (2, 64, 4, 4) and maps["fc"].shape == (2, 5)
    assert model.training  # mode restored
    with pytest.raises(ValueError, match="No layer named"):
        inspect_model.feature_maps(model, torch.rand(1, 1, 8, 8), ["conv9"])


def test_filters_as_images():
    grey = inspect_model.filters_as_images(torch.randn(4, 1, 3, 3))
    rgb = inspect_model.filters_as_images(torch.randn(4, 3, 3, 3))
    assert grey.shape == (4, 3, 3) and rgb.shape == (4, 3, 3, 3)
    assert float(grey.min()) == 0.0 and float(grey.max()) == 1.0
    with pytest.raises(ValueError, match="1 or 3 input channels"):
        inspect_model.filters_as_images(torch.randn(4, 2, 3, 3))


def test_flops_and_timing():
    lin = nn.Linear(10, 20)
    assert inspect_model.forward_flops(lin, torch.rand(4, 10)) == 2 * 4 * 10 * 20
    assert 0 < inspect_model.seconds_per_image(lin, torch.rand(4, 10)) < 0.1
