import pytest
import torch
import torch.nn.functional as F

from course_lib import objectives as obj


@pytest.mark.parametrize("scale", [1.0, 30.0, 1e4])
def test_against_torch_including_extreme_logits(scale):
    torch.manual_seed(0)
    z = torch.randn(6, 5, dtype=torch.float64) * scale
    y = torch.randint(0, 5, (6,))
    assert torch.allclose(obj.logsumexp(z), torch.logsumexp(z, -1))
    assert torch.allclose(obj.log_softmax(z), F.log_softmax(z, -1))
    assert torch.allclose(obj.softmax(z), torch.softmax(z, -1))
    assert torch.allclose(obj.cross_entropy(z, y), F.cross_entropy(z, y))
    assert torch.allclose(obj.cross_entropy(z, y, "sum"), F.cross_entropy(z, y, reduction="sum"))
    assert torch.allclose(obj.cross_entropy(z, y, "none"), F.cross_entropy(z, y, reduction="none"))
    assert torch.isfinite(obj.cross_entropy(z, y)).all()


def test_naive_softmax_would_overflow_but_ours_does_not():
    z = torch.tensor([[1000.0, 0.0]])
    assert torch.isnan(z.exp() / z.exp().sum()).any()          # the naive formula fails...
    assert torch.equal(obj.softmax(z), torch.tensor([[1.0, 0.0]]))  # ...the stable one does not
    assert torch.isfinite(obj.logsumexp(torch.tensor([-float("inf"), -float("inf")])).exp())


def test_errors():
    with pytest.raises(ValueError, match="expected logits"):
        obj.cross_entropy(torch.zeros(3), torch.zeros(3))
    with pytest.raises(ValueError, match="reduction"):
        obj.cross_entropy(torch.zeros(2, 2), torch.zeros(2, dtype=torch.long), "max")
    with pytest.raises(ValueError, match="needs 9"):
        obj.linear_model(torch.zeros(5), torch.zeros(1, 2), 3)


def test_linear_model_and_risk():
    x = torch.randn(4, 2)
    theta = torch.arange(9, dtype=torch.float32)
    W, b = theta[:6].view(2, 3), theta[6:]
    assert torch.allclose(obj.linear_model(theta, x, 3), x @ W + b)
    y = torch.tensor([0, 1, 2, 0])
    risk = obj.empirical_risk(lambda t, x: obj.linear_model(t, x, 3), theta, x, y)
    assert torch.allclose(risk, F.cross_entropy(x @ W + b, y, reduction="sum"))


def test_logistic_surface_matches_direct_computation():
    x = torch.tensor([0.0, 1.0, 2.0])
    y = torch.tensor([0, 1, 1])
    surface = obj.logistic_loss_surface(x, y, [0.5, 1.0], [-1.0, 0.0, 1.0])
    assert surface.shape == (3, 2)
    w, b = 1.0, -1.0
    direct = F.binary_cross_entropy_with_logits(w * x.double() + b, y.double())
    assert torch.allclose(surface[0, 1], direct)
