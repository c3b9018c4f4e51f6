import torch

from course_lib import data, descent
from course_lib.exercises import nb03


def test_gd_step_check():
    assert nb03.check_gd_step(nb03.solution_gd_step)
    assert "uphill" in nb03.check_gd_step(lambda t, g, lr: t + lr * g).message
    assert "learning rate" in nb03.check_gd_step(lambda t, g, lr: t - g).message
    assert "should be" in nb03.check_gd_step(lambda t, g, lr: 3).message


CURVES = {0.05: [5.0, 4.8, 4.6, 4.4], 5.0: [5.0, 2.0, 0.5, 0.3], 100.0: [5.0, 8.0, 0.9, 0.25]}


def test_lr_verdicts_check():
    good = {0.05: "too small", 5.0: "good", 100.0: "too large"}
    assert nb03.check_lr_verdicts(good, CURVES)
    assert nb03.check_lr_verdicts(nb03.solution_lr_verdicts(CURVES), CURVES)
    # η = 100 ends lowest here, but it overshot on the way: still "too large"
    fb = nb03.check_lr_verdicts({**good, 100.0: "good"}, CURVES)
    assert not fb and "went up on 1 of 3 steps" in fb.message
    assert "η = 0.05" in nb03.check_lr_verdicts({**good, 0.05: "good"}, CURVES).message
    assert nb03.check_lr_verdicts(..., CURVES).status == "unanswered"
    assert "exactly these" in nb03.check_lr_verdicts({1.0: "good"}, CURVES).message
    assert "not a verdict" in nb03.check_lr_verdicts({**good, 5.0: "fine"}, CURVES).message


def _curve(lr):
    zero_one = data.load_digits([0, 1])
    x = zero_one.images[:, 0, :, 3:5].mean(dim=(1, 2)).double()
    x = (x - x.mean()) / x.std()
    y = zero_one.labels.double()
    path = descent.optimizer_path("gd", x, y, torch.tensor([-5.0, 5.0]), lr=lr, steps=30)
    return [float(descent.logistic_loss(t, x, y)) for t in path]


def test_overshoot_prediction_and_its_solution():
    for lr in (1.0, 10.0, 50.0, 100.0):
        losses = _curve(lr)
        fb = nb03.check_overshoot_prediction(nb03.solution_overshoot_prediction(lr), lr, losses)
        assert fb, fb
    wrong = nb03.check_overshoot_prediction("never goes up", 100.0, _curve(100.0))
    assert not wrong and "as you predicted" in wrong.message
    assert nb03.check_overshoot_prediction(..., 1.0, [1, 0]).status == "unanswered"
    assert "not an option" in nb03.check_overshoot_prediction("maybe", 1.0, [1, 0]).message
