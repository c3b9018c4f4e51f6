"""course_lib.inspect_model: the one forward-hook helper, feature maps, filters, cost of a forward pass."""
import pytest
import torch
from torch import nn

from course_lib import inspect_model
from course_lib.errors import LayerNotFoundError
from course_lib.pretrain import SmallCNN


def test_capture_outputs_records_every_pass_and_removes_its_hooks():
    model = SmallCNN()
    with inspect_model.capture_outputs(model, ["conv1", "fc"], transform=lambda o: o.flatten(1)) as out:
        model(torch.rand(2, 1, 8, 8))
        model(torch.rand(3, 1, 8, 8))
    assert [o.shape for o in out["fc"]] == [(2, 5), (3, 5)] and out["conv1"][0].shape == (2, 16 * 64)
    assert not any(m._forward_hooks for m in model.modules())


def test_capture_outputs_removes_its_hooks_after_an_error():
    model = SmallCNN()
    with pytest.raises(RuntimeError), inspect_model.capture_outputs(model, ["conv1"]):
        model(torch.rand(2, 3, 8, 8))        # wrong number of channels
    assert not any(m._forward_hooks for m in model.modules())


def test_an_unknown_layer_name_says_which_names_exist():
    with pytest.raises(LayerNotFoundError, match="No layer named 'conv9' in SmallCNN.*'conv1'"):
        inspect_model.feature_maps(SmallCNN(), torch.rand(1, 1, 8, 8), ["conv9"])


def test_feature_maps_shapes():
    maps = inspect_model.feature_maps(SmallCNN(), torch.rand(2, 1, 8, 8), ["conv3", "fc"])
    assert maps["conv3"].shape == (2, 64, 4, 4) and maps["fc"].shape == (2, 5)


def test_filters_as_images():
    grey = inspect_model.filters_as_images(torch.randn(4, 1, 3, 3))
    rgb = inspect_model.filters_as_images(torch.randn(4, 3, 3, 3))
    assert grey.shape == (4, 3, 3) and rgb.shape == (4, 3, 3, 3)
    assert float(grey.min()) == 0.0 and float(grey.max()) == 1.0
    with pytest.raises(ValueError, match="1 or 3 input channels"):
        inspect_model.filters_as_images(torch.randn(4, 2, 3, 3))


def test_flops_count_multiplies_and_adds():
    assert inspect_model.forward_flops(nn.Linear(10, 20), torch.rand(4, 10)) == 2 * 4 * 10 * 20


def test_seconds_per_image_is_a_positive_time():
    # How fast is measured in benchmarks/, never asserted in a test (it depends on the machine).
    assert inspect_model.seconds_per_image(nn.Linear(10, 20), torch.rand(4, 10)) > 0
