import matplotlib
import torch

matplotlib.use("Agg")

from course_lib import widgets  # noqa: E402


def test_plot_paths_has_labels():
    x = torch.linspace(-1, 1, 10)
    y = (x > 0).long()
    ax = widgets.plot_paths(x, y, {"a": torch.zeros(3, 2)})
    assert ax.get_xlabel() == "weight w" and ax.get_ylabel() == "bias b" and ax.get_title()


def test_explorer_builds_real_widgets_and_redraws():
    x = torch.linspace(-1, 1, 10)
    y = (x > 0).long()
    box = widgets.gd_explorer(x, y, steps=3)
    assert "gd-explorer" in box._dom_classes
    slider, row, out, style = box.children
    assert type(slider).__name__ == "SelectionSlider" and "gd-lr-slider" in slider._dom_classes
    assert slider.layout.width == "100%" and slider.continuous_update is False
    assert list(slider.options) == list(widgets.LEARNING_RATES)
    steps, menu = row.children
    assert type(steps).__name__ == "IntSlider" and type(menu).__name__ == "Dropdown"
    assert "display: none" in style.value and ".gd-explorer" in style.value
    slider.value = 0.1           # triggers a redraw without error
    menu.value = "momentum"


def test_explorer_refuses_an_lr_it_does_not_offer():
    import pytest

    with pytest.raises(ValueError, match="one of"):
        widgets.gd_explorer(torch.zeros(2), torch.tensor([0, 1]), lr=0.3)
