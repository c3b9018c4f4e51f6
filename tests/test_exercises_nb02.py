import torch

from course_lib.exercises import nb02


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
