from course_lib.exercises import nb03


def test_gd_step_check():
    assert nb03.check_gd_step(lambda t, g, lr: t - lr * g)
    assert "uphill" in nb03.check_gd_step(lambda t, g, lr: t + lr * g).message
    assert "learning rate" in nb03.check_gd_step(lambda t, g, lr: t - g).message
    assert "should be" in nb03.check_gd_step(lambda t, g, lr: 3).message


def test_lr_verdicts_check():
    losses = {0.01: 0.6, 1.0: 0.1, 30.0: 5.0}
    good = {0.01: "too small", 1.0: "good", 30.0: "too large"}
    assert nb03.check_lr_verdicts(good, losses, start_loss=0.7)
    bad = {**good, 0.01: "good"}
    assert "η = 0.01" in nb03.check_lr_verdicts(bad, losses, 0.7).message
    assert nb03.check_lr_verdicts(..., losses, 0.7).status == "unanswered"
    assert "exactly these" in nb03.check_lr_verdicts({1.0: "good"}, losses, 0.7).message
