"""Notebook 03: one gradient step, momentum, reading learning rates, the overshoot prediction."""
import numpy as np
import pytest
import torch

from course_lib import data, descent
from course_lib.exercises import nb03
from test_exercises_support import REPEATS, cells, leaks, recording  # noqa: F401


# --------------------------------------------------------------------------- one step
def _numpy_step(theta, grad, lr):
    return np.asarray(theta) - lr * np.asarray(grad)


def _sub(theta, grad, lr):
    return torch.sub(theta, grad, alpha=lr)


def _in_place(theta, grad, lr):
    theta -= lr * grad
    return theta


STEP_RIGHT = [nb03.solution_gd_step, _numpy_step, _sub, _in_place,
              lambda t, g, lr: t + (-lr) * g]


@pytest.mark.parametrize("answer", STEP_RIGHT)
def test_gd_step_accepts_the_solution_and_honest_variants(answer):
    for _ in range(REPEATS):
        fb = nb03.check_gd_step(answer)
        assert fb, str(fb)


def test_gd_step_names_the_mistake_without_the_answer(monkeypatch):
    drawn = recording(monkeypatch, nb03, "_step_cases")
    mistakes = {"uphill": lambda t, g, lr: t + lr * g, "learning rate": lambda t, g, lr: t - g,
                "step alone": lambda t, g, lr: -lr * g, "somewhere else": lambda t, g, lr: t - 3.7 * lr * g,
                "shape": lambda t, g, lr: 3.0}
    for _ in range(REPEATS):
        for words, wrong in mistakes.items():
            fb = nb03.check_gd_step(wrong)
            assert not fb and words in str(fb), (words, str(fb))
            assert not leaks(fb, *[t - lr * g for t, g, lr in drawn[-1]],
                             given=[lr for _, _, lr in drawn[-1]]), str(fb)


# --------------------------------------------------------------------------- momentum
def _sutskever(grad_fn, theta0, lr, mu, steps):
    """The other convention: the learning rate inside the velocity. Same path."""
    theta, v = theta0.clone(), torch.zeros_like(theta0)
    path = [theta]
    for _ in range(steps):
        v = mu * v + lr * grad_fn(theta)
        theta = theta - v
        path.append(theta)
    return torch.stack(path)


def _lists(grad_fn, theta0, lr, mu, steps):
    theta, v, path = theta0, 0 * theta0, [theta0.tolist()]
    for _ in range(steps):
        v = mu * v + grad_fn(theta)
        theta = theta - lr * v
        path.append(theta.tolist())
    return path                                     # a list of lists is fine too


def _numpy(grad_fn, theta0, lr, mu, steps):
    theta, v = theta0.numpy().copy(), np.zeros(len(theta0))
    path = [theta.copy()]
    for _ in range(steps):
        v = mu * v + grad_fn(torch.from_numpy(theta)).numpy()
        theta = theta - lr * v
        path.append(theta.copy())
    return np.stack(path)


MOMENTUM_RIGHT = [nb03.solution_momentum_descent, _sutskever, _lists, _numpy]


@pytest.mark.parametrize("answer", MOMENTUM_RIGHT, ids=lambda f: f.__name__)
def test_momentum_accepts_the_solution_and_both_velocity_conventions(answer):
    for _ in range(REPEATS):
        fb = nb03.check_momentum(answer)
        assert fb, str(fb)


def _in_place_momentum(grad_fn, theta0, lr, mu, steps):
    theta, v = theta0.clone(), torch.zeros_like(theta0)
    path = [theta]
    for _ in range(steps):
        v = mu * v + grad_fn(theta)
        theta -= lr * v
        path.append(theta)
    return torch.stack(path)


def _plain(grad_fn, theta0, lr, mu, steps):
    return nb03.solution_momentum_descent(grad_fn, theta0, lr, 0.0, steps)


def _stale(grad_fn, theta0, lr, mu, steps):        # the gradient at θ₀ every step
    g0 = grad_fn(theta0)
    return nb03.solution_momentum_descent(lambda t: g0, theta0, lr, mu, steps)


def _uphill(grad_fn, theta0, lr, mu, steps):
    return nb03.solution_momentum_descent(lambda t: -grad_fn(t), theta0, lr, mu, steps)


def _short(grad_fn, theta0, lr, mu, steps):
    return nb03.solution_momentum_descent(grad_fn, theta0, lr, mu, steps)[1:]


@pytest.mark.parametrize("wrong, words", [(_in_place_momentum, "in-place"), (_plain, "plain gradient"),
                                          (_stale, "leaves momentum's"), (_uphill, "first step"),
                                          (_short, "one row per θ")])
def test_momentum_names_the_mistake(wrong, words):
    for _ in range(5):
        fb = nb03.check_momentum(wrong)
        assert not fb and words in str(fb), str(fb)


def test_momentum_template_left_as_is_is_unanswered():
    def momentum_descent(grad_fn, theta0, lr, mu, steps):
        theta, velocity = theta0.clone(), torch.zeros_like(theta0)
        path = [theta]
        for _ in range(steps):
            ...   # your code: the new velocity, then the new theta
            path.append(theta)
        return torch.stack(path)

    assert nb03.check_momentum(momentum_descent).status == "unanswered"


@pytest.mark.parametrize("shortcut", [
    lambda g, t, lr, mu, n: descent.gradient_descent(g, t, lr, n, momentum=mu),
    lambda g, t, lr, mu, n: descent.torch_sgd_path(lambda p: 0.5 * p @ p, t, lr, n, momentum=mu)])
def test_momentum_refuses_the_library_optimizers(shortcut):
    fb = nb03.check_momentum(shortcut)
    assert not fb and "cannot tell" in fb.message


def test_momentum_refuses_torch_optim_sgd():
    def with_sgd(grad_fn, theta0, lr, mu, steps):
        theta = torch.nn.Parameter(theta0.clone())
        opt = torch.optim.SGD([theta], lr=lr, momentum=mu)
        path = [theta.detach().clone()]
        for _ in range(steps):
            opt.zero_grad()
            theta.grad = grad_fn(theta.detach())
            opt.step()
            path.append(theta.detach().clone())
        return torch.stack(path)

    fb = nb03.check_momentum(with_sgd)
    assert not fb and "cannot tell" in fb.message


# --------------------------------------------------------------------------- reading η
CURVES = {0.05: [5.0, 4.8, 4.6, 4.4], 5.0: [5.0, 2.0, 0.5, 0.3], 100.0: [5.0, 8.0, 0.9, 0.25]}
GOOD = {0.05: "too small", 5.0: "good", 100.0: "too large"}


def test_lr_verdicts_accept_the_solution_and_any_spelling():
    for _ in range(REPEATS):
        assert nb03.check_lr_verdicts(GOOD, CURVES)
        assert nb03.check_lr_verdicts(nb03.solution_lr_verdicts(CURVES), CURVES)
        assert nb03.check_lr_verdicts({k: f" {v.upper()} " for k, v in GOOD.items()}, CURVES)


def test_lr_verdicts_tie_accepts_both_readings():
    tie = {0.05: [5.0, 1.0, 0.302], 5.0: [5.0, 2.0, 0.300], 100.0: [5.0, 8.0, 0.25]}
    for small in ("too small", "good"):
        assert nb03.check_lr_verdicts({0.05: small, 5.0: "good", 100.0: "too large"}, tie)


def test_lr_verdicts_name_the_mistake():
    fb = nb03.check_lr_verdicts({**GOOD, 100.0: "good"}, CURVES)
    assert not fb and "went up on 1 of 3 steps" in fb.message
    assert "η = 0.05" in nb03.check_lr_verdicts({**GOOD, 0.05: "good"}, CURVES).message
    assert nb03.check_lr_verdicts(..., CURVES).status == "unanswered"
    assert "exactly these" in nb03.check_lr_verdicts({1.0: "good"}, CURVES).message
    assert "not a verdict" in nb03.check_lr_verdicts({**GOOD, 5.0: "fine"}, CURVES).message


# --------------------------------------------------------------------------- overshoot: predict, then measure
@pytest.fixture(scope="module")
def problem():
    zero_one = data.load_digits([0, 1])
    x = zero_one.images[:, 0, :, 3:5].mean(dim=(1, 2)).double()
    x = (x - x.mean()) / x.std()
    return x, zero_one.labels.double(), torch.tensor([-5.0, 5.0], dtype=torch.float64)


@pytest.mark.parametrize("lr", [10.0, 20.0, 30.0, 33.5, 34.0, 40.0, 50.0, 200.0, 2.0])
def test_overshoot_model_prediction_holds_for_every_suggested_lr(cells, problem, lr):
    measured = nb03.overshoot_experiment.measure(*problem, lr)
    for _ in range(REPEATS):
        nb03.OVERSHOOT.reset()
        cells.run()
        assert nb03.OVERSHOOT.predict(nb03.solution_overshoot_prediction(lr), lr=lr).status == "noted"
        cells.run()
        nb03.OVERSHOOT.record(measured, lr=lr)
        fb = nb03.OVERSHOOT.check()
        assert fb, (lr, str(fb))


def test_overshoot_boundary_accepts_both_readings(problem):
    near = nb03.overshoot_experiment.measure(*problem, 33.5)      # rises of about 1e-4
    assert nb03._overshoot_outcome({}, near) == {"goes up", "never goes up"}
    assert nb03._overshoot_outcome({}, nb03.overshoot_experiment.measure(*problem, 30.0)) == {"never goes up"}


def test_overshoot_end_to_end_and_its_refusals(cells, problem):
    exp = nb03.OVERSHOOT
    exp.reset()
    cells.run()
    exp.predict("never goes up", lr=100.0 + 1)
    cells.run()
    fb = nb03.overshoot_experiment(*problem, 101.0)
    assert not fb and "η = 101" in fb.message
    assert "already printed" in exp.predict("goes up", lr=5.0).message
    assert "positive" in exp.predict("goes up", lr=-1).message
    cells.run()
    assert "already seen" in exp.predict("goes up", lr=101.0).message
