import torch
import torch.nn.functional as F

from course_lib import objectives as obj
from course_lib.exercises import nb02


def test_softmax_check():
    naive = lambda z: z.exp() / z.exp().sum(-1, keepdim=True)  # noqa: E731
    assert nb02.check_softmax(nb02.solution_softmax)
    assert "overflows" in nb02.check_softmax(naive).message
    assert "sum to" in nb02.check_softmax(lambda z: z.exp()).message
    flipped = lambda z: nb02.solution_softmax(z.flip(-1))  # noqa: E731
    assert "differ" in nb02.check_softmax(flipped).message
    assert "shape" in nb02.check_softmax(lambda z: z[0]).message

    def todo(z):
        ...

    assert nb02.check_softmax(todo).status == "unanswered"


def test_softmax_bypass_torch_softmax():
    fb = nb02.check_softmax(lambda z: torch.softmax(z, -1))
    assert not fb and "torch.softmax" in fb.message and "very function" in fb.message


def test_softmax_bypass_functional_softmax():
    assert "F.softmax" in nb02.check_softmax(lambda z: F.softmax(z, dim=-1)).message


def test_softmax_bypass_tensor_method():
    assert "Tensor.softmax" in nb02.check_softmax(lambda z: z.softmax(-1)).message


def test_softmax_bypass_module():
    assert "F.softmax" in nb02.check_softmax(lambda z: torch.nn.Softmax(dim=-1)(z)).message


def test_softmax_bypass_course_objectives():
    assert "obj.softmax" in nb02.check_softmax(lambda z: obj.softmax(z)).message


def test_softmax_bypass_log_softmax_exp():
    assert "log_softmax" in nb02.check_softmax(lambda z: torch.log_softmax(z, -1).exp()).message


def test_watching_restores_everything():
    before = (torch.softmax, F.softmax, torch.Tensor.softmax, obj.softmax, F.cross_entropy)
    nb02.check_softmax(lambda z: torch.softmax(z, -1))
    nb02.check_cross_entropy(lambda z, y: F.cross_entropy(z, y))
    assert (torch.softmax, F.softmax, torch.Tensor.softmax, obj.softmax, F.cross_entropy) == before
    assert "softmax" not in torch.Tensor.__dict__


def test_cross_entropy_check():
    good = nb02.solution_cross_entropy
    assert nb02.check_cross_entropy(good)
    assert "minus sign" in nb02.check_cross_entropy(lambda z, y: -good(z, y)).message
    assert "sum over" in nb02.check_cross_entropy(lambda z, y: good(z, y) * len(y)).message
    assert "not its logarithm" in nb02.check_cross_entropy(
        lambda z, y: -obj.softmax(z, 1)[torch.arange(len(y)), y].mean()).message
    assert "one number" in nb02.check_cross_entropy(lambda z, y: z).message
    wrong = nb02.check_cross_entropy(lambda z, y: torch.tensor(0.0))
    assert "expected" in wrong.message and "arange" not in str(wrong)   # hint, not the answer
    assert "KeyError" in nb02.check_cross_entropy(lambda z, y: {}["x"]).message


def test_cross_entropy_bypass_functional():
    fb = nb02.check_cross_entropy(lambda z, y: F.cross_entropy(z, y))
    assert not fb and "F.cross_entropy" in fb.message


def test_cross_entropy_bypass_module():
    fb = nb02.check_cross_entropy(lambda z, y: torch.nn.CrossEntropyLoss()(z, y))
    assert not fb and "F.cross_entropy" in fb.message


def test_cross_entropy_bypass_course_objectives():
    assert "obj.cross_entropy" in nb02.check_cross_entropy(obj.cross_entropy).message


def test_cross_entropy_bypass_nll_loss():
    fb = nb02.check_cross_entropy(lambda z, y: F.nll_loss(obj.log_softmax(z, 1), y))
    assert not fb and "F.nll_loss" in fb.message


def _pretrained_theta():
    from course_lib import data

    src, tgt = data.load_digits(range(0, 5)), data.load_digits(range(5, 10))
    X, y = src.images.flatten(1).double(), src.labels
    f = lambda t, x: obj.linear_model(t, x, num_classes=5)  # noqa: E731
    theta = (0.01 * torch.randn(325, dtype=torch.float64)).requires_grad_()
    opt = torch.optim.SGD([theta], lr=0.5)
    for _ in range(200):
        opt.zero_grad()
        (obj.empirical_risk(f, theta, X, y) / len(y)).backward()
        opt.step()
    risk = lambda t: float(obj.empirical_risk(f, t, tgt.images.flatten(1).double(),  # noqa: E731
                                              tgt.labels))
    return theta.detach(), risk


def test_shrink_prediction_and_its_solution():
    theta, risk = _pretrained_theta()
    for shrink in (0.5, 2.0, 10.0):
        before, after = risk(theta), risk(theta / shrink)
        assert nb02.check_shrink_prediction(nb02.solution_shrink_prediction(shrink), shrink,
                                            before, after)
    fb = nb02.check_shrink_prediction("higher", 10, 2469.7, 1500.0)
    assert not fb and "lower" in fb.message
    assert nb02.check_shrink_prediction(..., 10, 1.0, 0.5).status == "unanswered"
    assert "not an option" in nb02.check_shrink_prediction("same", 10, 1.0, 0.5).message


def test_softmax_bypass_imported_name():
    from torch.nn.functional import softmax

    def mine(z):
        return softmax(z, dim=-1)

    assert "softmax" in nb02.check_softmax(mine).message  # named in its code
    assert "very function" in nb02.check_softmax(obj.softmax).message   # passed as is


def test_cross_entropy_bypass_imported_name():
    from torch.nn.functional import cross_entropy

    def mine(z, y):
        return cross_entropy(z, y)

    assert not nb02.check_cross_entropy(mine)
