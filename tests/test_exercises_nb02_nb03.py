import torch

from course_lib.exercises import nb02, nb03


def test_softmax_check():
    stable = lambda z: torch.softmax(z, -1)  # noqa: E731
    naive = lambda z: z.exp() / z.exp().sum(-1, keepdim=True)  # noqa: E731
    assert nb02.check_softmax(stable)
    assert "overflows" in nb02.check_softmax(naive).message
    assert "sum to" in nb02.check_softmax(lambda z: z.exp()).message
    assert "differ" in nb02.check_softmax(lambda z: torch.softmax(z.flip(-1), -1)).message
    assert "shape" in nb02.check_softmax(lambda z: z[0]).message

    def todo(z):
        ...

    assert nb02.check_softmax(todo).status == "unanswered"


def test_cross_entropy_check():
    ls = lambda z: torch.log_softmax(z, 1)  # noqa: E731
    good = lambda z, y: -ls(z)[torch.arange(len(y)), y].mean()  # noqa: E731
    assert nb02.check_cross_entropy(good)
    assert "minus sign" in nb02.check_cross_entropy(lambda z, y: -good(z, y)).message
    assert "sum over" in nb02.check_cross_entropy(lambda z, y: good(z, y) * len(y)).message
    assert "not its logarithm" in nb02.check_cross_entropy(
        lambda z, y: -torch.softmax(z, 1)[torch.arange(len(y)), y].mean()).message
    assert "one number" in nb02.check_cross_entropy(lambda z, y: z).message
    assert "expected" in nb02.check_cross_entropy(lambda z, y: torch.tensor(0.0)).message
    assert "KeyError" in nb02.check_cross_entropy(lambda z, y: {}["x"]).message


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
