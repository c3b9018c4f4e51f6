"""Notebook 04: the safe round trip, and the image-size prediction graded on FLOPs (never on
the clock), tested under a busy CPU."""
import copy

import pytest
import torch

from course_lib.checkpoints import load_weights, save_weights
from course_lib.exercises import nb04
from course_lib.pretrain import SmallCNN
from test_exercises_support import REPEATS, busy_cpu, cells  # noqa: F401

X = torch.rand(3, 1, 8, 8)


def _save_file(model, path):
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))


def _load_file(path):
    from safetensors.torch import load_file

    fresh = SmallCNN(num_classes=5)
    fresh.load_state_dict(load_file(str(path)))
    return fresh


def _save_model(model, path):
    from safetensors.torch import save_model

    save_model(model, str(path))


def _load_model(path):
    from safetensors.torch import load_model

    fresh = SmallCNN()
    load_model(fresh, str(path))
    return fresh


def _save_hand(m, path):
    save_weights(m, path)


def _load_hand(path):
    fresh = SmallCNN()
    load_weights(fresh, path)
    return fresh


ROUND_TRIPS = [(nb04.solution_save, nb04.solution_load), (_save_file, _load_file),
               (_save_model, _load_model), (_save_hand, _load_hand), (nb04.solution_save, _load_file)]


@pytest.mark.parametrize("save, load", ROUND_TRIPS)
def test_save_load_accepts_the_solution_and_honest_variants(tmp_path, save, load):
    for _ in range(REPEATS):
        assert nb04.check_save_load(save, load, SmallCNN(), X, tmp_path)


def test_save_load_names_the_mistake(tmp_path):
    model = SmallCNN()

    def todo_load(path):
        ...

    assert nb04.check_save_load(nb04.solution_save, todo_load, model, X, tmp_path).status == "unanswered"
    assert "wrote no file" in nb04.check_save_load(lambda m, p: m.eval(), nb04.solution_load, model,
                                                   X, tmp_path).message
    pickle = lambda m, p: torch.save(m.state_dict(), p)  # noqa: E731
    assert "not safetensors" in nb04.check_save_load(pickle, nb04.solution_load, model, X,
                                                     tmp_path).message
    forgot = lambda p: SmallCNN()  # noqa: E731
    assert "predicts differently" in nb04.check_save_load(nb04.solution_save, forgot, model, X,
                                                          tmp_path).message
    assert "very model" in nb04.check_save_load(nb04.solution_save, lambda p: model, model, X,
                                                tmp_path).message


def test_save_load_shortcut_load_never_reads_the_file(tmp_path):
    model = SmallCNN()
    kept = copy.deepcopy(model)
    fb = nb04.check_save_load(nb04.solution_save, lambda p: copy.deepcopy(kept), model, X, tmp_path)
    assert not fb and "does not read the file" in fb.message


def test_save_load_unanswered(tmp_path):
    def save(model, path):
        ...  # your code here

    def load(path):
        ...  # your code here

    assert nb04.check_save_load(save, load, SmallCNN(), X, tmp_path).status == "unanswered"
    assert nb04.check_save_load(nb04.solution_save, load, SmallCNN(), X, tmp_path).status == "unanswered"


# --------------------------------------------------------------------------- speed: predict, then measure
@pytest.fixture(scope="module")
def lite0():
    from course_lib import models

    return models.load_backbone("efficientnet_lite0").model.eval()


@pytest.mark.slow
def test_speed_model_prediction_passes_every_time_under_a_busy_cpu(cells, lite0, busy_cpu):
    """Graded on the FLOPs count: a busy machine changes the clock, never the verdict (three
    rounds: each times eight Lite0 passes at 224 px on a CPU kept busy on purpose)."""
    for _ in range(3):
        for size in (64, 112):                         # sizes the notebook suggests
            nb04.SPEEDUP.reset()
            cells.run()
            nb04.SPEEDUP.predict(nb04.solution_speedup_prediction(size), image_size=size)
            cells.run()
            fb = nb04.speedup_experiment(lite0, size, batch_size=1)
            assert fb, str(fb)


@pytest.fixture(scope="module")
def flops_at(lite0):
    from course_lib import inspect_model

    return {size: inspect_model.forward_flops(lite0, torch.rand(1, 3, size, size))
            for size in (224, 32, 40, 48, 56, 64, 80, 96, 112, 160, 200, 256, 320, 448, 640)}


@pytest.mark.parametrize("size", [32, 40, 48, 56, 64, 80, 96, 112, 160, 200, 256, 320, 448, 640])
def test_speed_model_prediction_is_within_tolerance_of_the_count_at_every_size(cells, flops_at, size):
    measured = {"flops_ratio": flops_at[224] / flops_at[size], "clock_ratio": float("nan")}
    for guess in (nb04.solution_speedup_prediction(size), measured["flops_ratio"]):
        nb04.SPEEDUP.reset()
        cells.run()
        nb04.SPEEDUP.predict(guess, image_size=size)
        cells.run()
        nb04.SPEEDUP.record(measured, image_size=size)
        assert nb04.SPEEDUP.check(), size


def test_speed_wrong_predictions_and_refusals(cells):
    measured = {"flops_ratio": 4.3, "clock_ratio": 1.4}
    exp = nb04.SPEEDUP
    for guess, words in ((2, "side squared"), (40, "count the pixels")):
        exp.reset()
        cells.run()
        exp.predict(guess, image_size=112)
        cells.run()
        exp.record(measured, image_size=112)
        fb = exp.check()
        assert not fb and words in str(fb)
    assert "nothing changed" in exp.predict(1, image_size=224).message
    assert "positive" in exp.predict(-1, image_size=112).message
    assert "Expected a number" in exp.predict("fast", image_size=112).message
    assert exp.predict(..., image_size=112).status == "unanswered"
    assert "from 32" in exp.predict(2, image_size=8).message
    exp.reset()
    cells.run()
    exp.predict(4, image_size=112)
    cells.run()
    exp.record(measured, image_size=112)
    assert exp.check()
    cells.run()
    assert "already seen" in exp.predict(3, image_size=112).message
