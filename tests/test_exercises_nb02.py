"""Notebook 02: softmax, cross-entropy (the one detector refuses every library route) and the
shrink prediction (predict, then measure)."""
import functools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib import objectives as obj
from course_lib.exercises import nb02
from test_exercises_support import REPEATS, cells, leaks, predict_then_measure, recording  # noqa: F401


# --------------------------------------------------------------------------- softmax
def _logsumexp(z):
    return (z - torch.logsumexp(z, dim=-1, keepdim=True)).exp()


def _numpy(z):
    a = z.numpy()
    e = np.exp(a - a.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)                 # a NumPy array is fine too


def _in_place(z):
    z -= z.amax(dim=1, keepdim=True)
    z.exp_()
    return z / z.sum(1, keepdim=True)


def _course_logsumexp(z):
    return torch.exp(z - obj.logsumexp(z, dim=-1).unsqueeze(-1))


def _rows(z):
    return torch.stack([torch.exp(r - r.max()) / torch.exp(r - r.max()).sum() for r in z])


SOFTMAX_RIGHT = [nb02.solution_softmax, _logsumexp, _numpy, _in_place, _course_logsumexp, _rows]


@pytest.mark.parametrize("answer", SOFTMAX_RIGHT, ids=lambda f: f.__name__)
def test_softmax_accepts_the_model_solution_and_honest_variants(answer):
    for _ in range(REPEATS):
        fb = nb02.check_softmax(answer)
        assert fb, str(fb)


def _default(z, f=torch.softmax):
    return f(z, -1)


def _alias(z):
    from torch import softmax as sm

    return sm(z, -1)


def _scipy(z):
    from scipy.special import softmax

    return softmax(z.numpy(), axis=-1)


SOFTMAX_SHORTCUTS = [lambda z: torch.softmax(z, -1), _alias, functools.partial(torch.softmax, dim=-1),
                     _default, _scipy, lambda z: F.softmax(z, dim=-1), lambda z: z.softmax(-1),
                     lambda z: torch.nn.Softmax(dim=-1)(z), obj.softmax,
                     lambda z: obj.log_softmax(z).exp(), lambda z: torch.log_softmax(z, -1).exp(),
                     lambda z: torch.special.softmax(z, -1)]


@pytest.mark.parametrize("shortcut", SOFTMAX_SHORTCUTS)
def test_softmax_refuses_every_library_softmax(shortcut):
    fb = nb02.check_softmax(shortcut)
    assert fb.status == "incorrect" and "cannot tell" in fb.message, str(fb)


def test_softmax_names_the_mistake_without_the_values(monkeypatch):
    drawn = recording(monkeypatch, nb02, "_softmax_cases")
    naive = lambda z: z.exp() / z.exp().sum(-1, keepdim=True)  # noqa: E731
    mistakes = {"nan or inf": naive, "sum to more": lambda z: z.exp(),
                "sign is flipped": lambda z: nb02.solution_softmax(-z),
                "not softmax's": lambda z: nb02.solution_softmax(2 * z),
                "same shape": lambda z: z[0],
                "negative": lambda z: 100 * (z - z.mean(-1, keepdim=True)) + 1 / z.shape[-1]}
    for _ in range(REPEATS):
        for words, wrong in mistakes.items():
            fb = nb02.check_softmax(wrong)
            assert fb.status == "incorrect" and words in str(fb), (words, str(fb))
            assert not leaks(fb, *[torch.softmax(z, -1) for z in drawn[-1]]), str(fb)

    def todo(z):
        ...

    assert nb02.check_softmax(todo).status == "unanswered"


def test_softmax_draws_new_logits_on_every_call(monkeypatch):
    drawn = recording(monkeypatch, nb02, "_softmax_cases")
    nb02.check_softmax(nb02.solution_softmax)
    nb02.check_softmax(nb02.solution_softmax)
    assert not torch.equal(drawn[0][0], drawn[1][0]) and len(drawn[0]) >= 3


# --------------------------------------------------------------------------- cross-entropy
def _ce_logsumexp(z, y):
    return (torch.logsumexp(z, 1) - z[torch.arange(len(y)), y]).mean()


def _ce_gather(z, y):
    return -torch.log_softmax(z, dim=1).gather(1, y[:, None]).mean()      # log_softmax is allowed


def _ce_one_hot(z, y):
    return -(F.one_hot(y, z.shape[1]) * obj.log_softmax(z, 1)).sum(1).mean()


def _ce_loop(z, y):
    total = 0.0
    for row, label in zip(z.tolist(), y.tolist()):
        m = max(row)
        total += m + math.log(sum(math.exp(v - m) for v in row)) - row[label]
    return total / len(row and y)


CE_RIGHT = [nb02.solution_cross_entropy, _ce_logsumexp, _ce_gather, _ce_one_hot, _ce_loop]


@pytest.mark.parametrize("answer", CE_RIGHT, ids=lambda f: f.__name__)
def test_cross_entropy_accepts_the_model_solution_and_honest_variants(answer):
    for _ in range(REPEATS):
        fb = nb02.check_cross_entropy(answer)
        assert fb, str(fb)


def _log_loss(z, y):
    from sklearn.metrics import log_loss

    return log_loss(y.numpy(), torch.softmax(z, 1).numpy(), labels=list(range(z.shape[1])))


def _ce_default(z, y, loss=F.cross_entropy):
    return loss(z, y)


def _ce_alias(z, y):
    from torch.nn.functional import cross_entropy as ce

    return ce(z, y)


CE_SHORTCUTS = [lambda z, y: F.cross_entropy(z, y), lambda z, y: torch.nn.CrossEntropyLoss()(z, y),
                obj.cross_entropy, lambda z, y: F.nll_loss(obj.log_softmax(z, 1), y), _log_loss,
                functools.partial(F.cross_entropy, reduction="mean"), _ce_default, _ce_alias,
                lambda z, y: torch.nn.NLLLoss()(torch.log_softmax(z, 1), y),
                lambda z, y: obj.empirical_risk(lambda t, x: x, None, z, y) / len(y)]


@pytest.mark.parametrize("shortcut", CE_SHORTCUTS)
def test_cross_entropy_refuses_every_library_loss(shortcut):
    fb = nb02.check_cross_entropy(shortcut)
    assert fb.status == "incorrect" and "cannot tell" in fb.message, str(fb)


def test_cross_entropy_names_the_mistake_without_the_values(monkeypatch):
    drawn = recording(monkeypatch, nb02, "_cross_entropy_cases")
    good = nb02.solution_cross_entropy
    mistakes = {"minus sign": lambda z, y: -good(z, y), "sum over": lambda z, y: good(z, y) * len(y),
                "not its logarithm": lambda z, y: -obj.softmax(z, 1)[torch.arange(len(y)), y].mean(),
                "one number": lambda z, y: z, "not the mean of": lambda z, y: torch.tensor(0.3),
                "KeyError": lambda z, y: {}["x"]}
    for _ in range(REPEATS):
        for words, wrong in mistakes.items():
            fb = nb02.check_cross_entropy(wrong)
            assert fb.status == "incorrect" and words in str(fb), (words, str(fb))
            expected = [F.cross_entropy(z, y) for z, y in drawn[-1]]
            assert not leaks(fb, *expected), str(fb)
    assert "arange" not in str(nb02.check_cross_entropy(lambda z, y: torch.tensor(0.3)))


# --------------------------------------------------------------------------- shrink: predict, then measure
@pytest.fixture(scope="module")
def pretrained():
    from course_lib import data

    torch.manual_seed(0)
    src, tgt = data.load_digits(range(0, 5)), data.load_digits(range(5, 10))
    X, y = src.images.flatten(1).double(), src.labels
    f = lambda t, x: obj.linear_model(t, x, num_classes=5)  # noqa: E731
    theta = (0.01 * torch.randn(325, dtype=torch.float64)).requires_grad_()
    opt = torch.optim.SGD([theta], lr=0.5)
    for _ in range(200):
        opt.zero_grad()
        (obj.empirical_risk(f, theta, X, y) / len(y)).backward()
        opt.step()
    return theta.detach(), tgt.images.flatten(1).double(), tgt.labels


SUGGESTED = (0.5, 2, 10, 100)


@pytest.mark.parametrize("shrink", [*SUGGESTED, 0.1, 0.99, 1.001, 1.5, 1e6])
def test_shrink_model_prediction_holds_for_every_suggested_change(cells, pretrained, shrink):
    for _ in range(REPEATS if shrink in SUGGESTED else 1):
        fb = predict_then_measure(cells, nb02.SHRINK, nb02.solution_shrink_prediction(shrink),
                                  nb02.shrink_experiment, *pretrained, shrink, shrink=shrink)
        assert fb, str(fb)


def test_shrink_wrong_prediction_is_told_what_was_measured(cells, pretrained):
    fb = predict_then_measure(cells, nb02.SHRINK, "higher", nb02.shrink_experiment, *pretrained,
                              10, shrink=10)
    assert fb.status == "incorrect" and "θ / 10" in fb.message and "Hint" in str(fb)


def test_shrink_refuses_a_prediction_after_the_measurement_and_no_change(cells, pretrained):
    exp = nb02.SHRINK
    exp.reset()
    cells.run()
    exp.predict("lower", shrink=10)
    cells.run()
    assert nb02.shrink_experiment(*pretrained, 10)
    cells.run()
    assert "already seen" in exp.predict("higher", shrink=10).message      # changed afterwards
    assert "nothing changed" in exp.predict("lower", shrink=1).message
    assert "positive" in exp.predict("lower", shrink=-2).message
    exp.reset()
    cells.run()
    unanswered = nb02.shrink_experiment(*pretrained, 10)                  # measured first
    assert unanswered.status == "unanswered" and "hidden" in unanswered.message
    exp.reset()
    cells.run()
    exp.predict("lower", shrink=10)
    same_cell = nb02.shrink_experiment(*pretrained, 10)                   # both in one cell
    assert same_cell.status == "incorrect" and "same cell" in same_cell.message
    assert nb02.SHRINK.predict(..., shrink=10).status == "unanswered"
    assert "not an option" in nb02.SHRINK.predict("same", shrink=10).message
