"""course_lib.plots: labelled axes and titles; one mean ± std plot for every seed-averaged curve."""
import matplotlib
import pytest

from course_lib import data, plots

matplotlib.use("Agg")

ROWS = [{"name": n, "k": k, "seed": s, "accuracy": 0.5 + 0.1 * (n == "a") + 0.1 * s}
        for n in "ab" for k in (1, 2) for s in (0, 1)]


def test_show_images_titles_the_grid():
    fig = plots.show_images(data.load_faces(), n=4, ncols=2, title="faces")
    assert fig._suptitle.get_text() == "faces"
    assert [ax.get_title() for ax in fig.axes] == ["face"] * 4


def test_label_efficiency_plot_has_labels_a_line_per_name_and_chance():
    ax = plots.plot_label_efficiency(ROWS, chance=0.5)
    assert ax.get_xlabel().startswith("labelled examples") and ax.get_ylabel() == "test accuracy"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b", "chance"]
    assert ax.get_xscale() == "log"


def test_mean_std_plot_draws_the_mean_over_seeds():
    ax = plots.plot_mean_std(ROWS, x="k", label="{} arm")
    line = ax.get_lines()[0]
    assert list(line.get_xdata()) == [1, 2]
    assert list(line.get_ydata()) == pytest.approx([0.65, 0.65])      # mean of 0.6 and 0.7
    assert ax.get_legend().get_texts()[0].get_text() == "a arm" and ax.get_title()
