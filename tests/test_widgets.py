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
    controls = box.children[0].children
    slider = controls[0]
    assert type(slider).__name__ == "FloatLogSlider" and "gd-lr-slider" in slider._dom_classes
    assert type(controls[1]).__name__ == "IntSlider" and type(controls[2]).__name__ == "Dropdown"
    slider.value = 0.1           # triggers a redraw without error
    controls[2].value = "momentum"
