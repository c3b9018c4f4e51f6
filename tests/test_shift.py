import pytest
import torch

from course_lib import shift


def _bar():
    x = torch.zeros(1, 1, 8, 8)
    x[0, 0, 1:7, 4] = 1.0            # a vertical stroke
    return x


def test_shifts_keep_the_shape_and_are_seeded():
    x = torch.rand(5, 1, 8, 8)
    for name, make in shift.SHIFTS.items():
        a, b = make(x, 3), make(x, 3)
        assert a.shape == x.shape and torch.equal(a, b), name
        assert not torch.equal(a, x), name
    assert not torch.equal(shift.rotate(x, 15, seed=0), shift.rotate(x, 15, seed=1))
    assert not torch.equal(shift.elastic(x, 0.5, seed=0), shift.elastic(x, 0.5, seed=1))


def test_rotation_turns_the_stroke_and_zero_degrees_is_the_identity():
    x = _bar()
    assert torch.equal(shift.rotate(x, 0.0), x)
    turned = shift.rotate(x, 90.0)[0, 0]
    assert (turned.sum(0) > 0.5).sum() >= 4 and (turned.sum(1) > 0.5).sum() <= 2   # now horizontal
    small = shift.rotate(x, 15.0)[0, 0]
    assert 0.8 < float(small.sum() / x.sum()) < 1.2                            # ink is kept


def test_blur_spreads_ink_and_keeps_its_amount():
    x = torch.zeros(1, 1, 9, 9)
    x[0, 0, 4, 4] = 1.0
    y = shift.blur(x, 0.5)[0, 0]
    assert float(y[4, 4]) < 1 and float(y[4, 5]) > 0 and float(y.sum()) == pytest.approx(1.0, abs=1e-5)
    assert torch.allclose(y, y.T, atol=1e-6)                                    # isotropic
    with pytest.raises(ValueError, match="sigma must be positive"):
        shift.blur(x, 0.0)


def test_elastic_moves_strokes_by_about_the_given_size():
    x = _bar()
    assert torch.equal(shift.elastic(x, 0.0), x)
    mild, strong = (float((shift.elastic(x, s, seed=2) - x).abs().sum()) for s in (0.25, 1.5))
    assert 0 < mild < strong


def test_a_batch_without_the_channel_axis_is_refused_with_the_fix():
    with pytest.raises(ValueError, match=r"images\[:, None\]"):
        shift.rotate(torch.zeros(3, 8, 8))
