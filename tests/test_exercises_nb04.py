import torch

from course_lib.checkpoints import load_weights, save_weights
from course_lib.exercises import nb04
from course_lib.pretrain import SmallCNN


def test_round_trip(tmp_path):
    model = SmallCNN()
    x = torch.rand(3, 1, 8, 8)

    def good(m, path):
        save_weights(m, path)
        fresh = SmallCNN()
        load_weights(fresh, path)
        return fresh

    def forgot_to_load(m, path):
        save_weights(m, path)
        return SmallCNN()

    def todo(m, path):
        ...

    assert nb04.check_round_trip(good, model, x, tmp_path)
    assert "predicts differently" in nb04.check_round_trip(forgot_to_load, model, x, tmp_path).message
    assert "same model object" in nb04.check_round_trip(lambda m, p: m, model, x, tmp_path).message
    assert "No file was written" in nb04.check_round_trip(lambda m, p: SmallCNN(), model, x, tmp_path).message
    assert nb04.check_round_trip(todo, model, x, tmp_path).status == "unanswered"


def test_epoch_hours():
    spi = 0.01
    expected = 1_281_167 * spi * 3 / 3600
    assert nb04.check_epoch_hours(expected, spi)
    assert "forward pass" in nb04.check_epoch_hours(expected / 3, spi).message
    assert "seconds" in nb04.check_epoch_hours(expected * 3600, spi).message
    assert "not what" in nb04.check_epoch_hours(1.0, spi).message
    assert nb04.check_epoch_hours(..., spi).status == "unanswered"
    assert "Expected a number" in nb04.check_epoch_hours("many", spi).message
