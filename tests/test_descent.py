import pytest
import torch

from course_lib import descent


def _data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, generator=g, dtype=torch.float64)
    y = (x + 0.3 * torch.randn(40, generator=g, dtype=torch.float64) > 0).double()
    return x, y


def test_autograd_matches_finite_differences():
    x, y = _data()
    f = lambda t: descent.logistic_loss(t, x, y)  # noqa: E731
    theta = torch.tensor([0.7, -0.2], dtype=torch.float64)
    assert torch.allclose(descent.autograd_grad(f, theta), descent.finite_difference_grad(f, theta), atol=1e-8)
    quartic = lambda t: (t ** 4).sum()  # noqa: E731
    t = torch.tensor([[1.0, 2.0], [-1.0, 0.5]], dtype=torch.float64)
    assert torch.allclose(descent.finite_difference_grad(quartic, t), 4 * t ** 3, atol=1e-5)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_hand_update_matches_torch_sgd(momentum):
    x, y = _data()
    f = lambda t: descent.logistic_loss(t, x, y)  # noqa: E731
    theta0 = torch.tensor([-3.0, 2.0], dtype=torch.float64)
    hand = descent.gradient_descent(lambda t: descent.autograd_grad(f, t), theta0, lr=0.5, steps=25, momentum=momentum)
    ref = descent.torch_sgd_path(f, theta0, lr=0.5, steps=25, momentum=momentum)
    assert torch.allclose(hand, ref, atol=1e-12)


def test_optimizer_paths_reduce_the_loss():
    x, y = _data()
    start = torch.tensor([-4.0, 4.0], dtype=torch.float64)
    for name in descent.OPTIMIZERS:
        path = descent.optimizer_path(name, x, y, start, lr=0.5, steps=40)
        assert path.shape == (41, 2)
        assert descent.logistic_loss(path[-1], x, y) < 0.5 * descent.logistic_loss(path[0], x, y)
    a = descent.optimizer_path("sgd", x, y, start, lr=0.5, steps=10, seed=1)
    assert torch.equal(a, descent.optimizer_path("sgd", x, y, start, lr=0.5, steps=10, seed=1))
    with pytest.raises(ValueError, match="unknown optimizer"):
        descent.optimizer_path("adam", x, y, start, 0.1, 1)
    with pytest.raises(ValueError, match="must be positive"):
        descent.gradient_descent(lambda t: t, start, lr=0, steps=1)


def test_too_large_learning_rate_diverges_on_a_quadratic():
    grad = lambda t: 2 * t  # noqa: E731  (f = t², curvature 2: diverges for η > 1)
    assert abs(float(descent.gradient_descent(grad, torch.tensor([1.0]), 1.1, 20)[-1])) > 1
    assert abs(float(descent.gradient_descent(grad, torch.tensor([1.0]), 0.4, 20)[-1])) < 1e-3
