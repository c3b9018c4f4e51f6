"""course_lib.logistic: Newton-CG for the head, checked against scikit-learn's LogisticRegression."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from course_lib import logistic

TOL = 1e-6


def _data(classes: int, n: int = 240, d: int = 12, seed: int = 0, separation: float = 1.5):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    x = rng.normal(size=(n, d))
    x[np.arange(n), y] += separation          # class c raises feature c: overlapping classes
    return x, y


@pytest.mark.parametrize("classes", [2, 4])
@pytest.mark.parametrize("C", [0.001, 1.0, 100.0])
def test_newton_cg_finds_scikit_learns_optimum(classes, C):
    x, y = _data(classes)
    fit = logistic.newton_cg(x, y, C, tol=TOL)
    reference = LogisticRegression(C=C, solver="newton-cg", tol=1e-10, max_iter=1000).fit(x, y)
    assert fit.converged and fit.max_gradient <= TOL and fit.steps >= 1 and fit.hessian_products >= 1
    assert fit.coef.shape == reference.coef_.shape and fit.intercept.shape == reference.intercept_.shape
    assert logistic.max_gradient(x, y, C, fit.coef, fit.intercept) <= TOL
    # both near the one optimum of a strictly convex objective: the same model
    assert np.allclose(fit.coef, reference.coef_, atol=1e-3 * max(1.0, np.abs(reference.coef_).max()))
    assert np.allclose(logistic.probabilities(x, fit.coef, fit.intercept), reference.predict_proba(x), atol=1e-5)


@pytest.mark.parametrize("classes", [2, 3])
def test_single_precision_then_double_reaches_the_double_precision_test(classes):
    x, y = _data(classes, seed=1, separation=3.0)            # nearly separable: C = 100 is hard
    fast = logistic.newton_cg(x.astype(np.float32), y, 100.0, tol=TOL, max_iter=100)
    assert fast.coef.dtype == np.float64                      # parameters stay in double precision
    fit = logistic.newton_cg(x, y, 100.0, fast.coef, fast.intercept, tol=TOL)
    assert fit.converged and logistic.max_gradient(x, y, 100.0, fit.coef, fit.intercept) <= TOL
    # with the float64 features for the gradient, single-precision products meet the test alone
    exact = logistic.newton_cg(x.astype(np.float32), y, 100.0, tol=TOL, exact=x)
    assert exact.converged and logistic.max_gradient(x, y, 100.0, exact.coef, exact.intercept) <= TOL
    plain = logistic.newton_cg(x, y, 100.0, tol=TOL)
    assert np.allclose(logistic.probabilities(x, fit.coef, fit.intercept),
                       logistic.probabilities(x, plain.coef, plain.intercept), atol=1e-5)


def test_a_start_at_the_optimum_costs_no_step_and_a_far_start_still_converges():
    x, y = _data(3, seed=2)
    fit = logistic.newton_cg(x, y, 1.0, tol=TOL)
    again = logistic.newton_cg(x, y, 1.0, fit.coef, fit.intercept, tol=TOL)
    assert (again.steps, again.hessian_products, again.converged) == (0, 0, True)
    # 50 times too large: a full Newton step from there would overshoot; the line search holds it
    far = logistic.newton_cg(x, y, 1.0, 50 * fit.coef, fit.intercept - 20, tol=TOL)
    assert far.converged and np.allclose(far.coef, fit.coef, atol=1e-4)


def test_the_line_search_refuses_a_direction_that_does_not_descend():
    x, y = _data(2)
    problem = logistic._Problem(x, y, 1.0, 2)
    theta = np.zeros(x.shape[1] + 1)
    z = problem.logits(theta)
    _, g = problem.gradient(z, theta)
    assert logistic._line_search(problem, theta, z, g, g.copy()) is None       # uphill
    alpha = logistic._line_search(problem, theta, z, g, -g)                     # downhill
    assert alpha is not None and alpha > 0
    assert problem.loss(problem.logits(theta - alpha * g), theta - alpha * g) < problem.loss(z, theta)


def test_a_capped_run_reports_not_converged():
    x, y = _data(4, seed=3, separation=3.0)
    fit = logistic.newton_cg(x, y, 100.0, tol=TOL, max_iter=1)
    assert fit.steps == 1 and not fit.converged and fit.max_gradient > TOL


@pytest.mark.parametrize("classes", [2, 4])
def test_passes_split_over_threads_give_the_same_products_and_model(classes):
    from concurrent.futures import ThreadPoolExecutor

    x, y = _data(classes, n=301, seed=4)                        # an odd count: unequal blocks
    with ThreadPoolExecutor(3) as pool:
        whole, blocks = logistic._Problem(x, y, 1.0, classes), logistic._Problem(x, y, 1.0, classes, pool=pool, parts=3)
        assert len(blocks.blocks) == 3 and sum(b.stop - b.start for b in blocks.blocks) == len(y)
        rng = np.random.default_rng(0)
        theta, v = rng.normal(size=(2, whole.rows * (x.shape[1] + 1)))
        z = whole.logits(theta)
        assert np.allclose(blocks.logits(theta), z)
        p, g = whole.gradient(z, theta)
        assert np.allclose(blocks.gradient(z, theta)[1], g)
        assert np.allclose(blocks.hessian_product(p, v), whole.hessian_product(p, v))
    fit = logistic.newton_cg(x, y, 1.0, tol=TOL, threads=3)
    plain = logistic.newton_cg(x, y, 1.0, tol=TOL)
    assert fit.converged and np.allclose(fit.coef, plain.coef, atol=1e-5)


def test_labels_must_cover_every_class():
    x, y = _data(3)
    with pytest.raises(ValueError, match=r"missing: \[3\]"):
        logistic.newton_cg(x, y, 1.0, classes=4)
    with pytest.raises(ValueError, match="at least two classes"):
        logistic.newton_cg(x, np.zeros(len(y), dtype=int), 1.0)
    with pytest.raises(ValueError, match="Labels must be 0 … 2"):
        logistic.newton_cg(x, y - 1, 1.0, classes=3)


def test_the_inner_solver_stops_once_its_residual_is_within_half_the_tolerance(monkeypatch):
    """The residual of ``H p = -g`` is, to first order, the gradient after the step: once no
    component exceeds half of ``tol``, solving further cannot change what the stopping test sees."""
    h = np.diag([1.0, 1e-4])                                  # ill-conditioned: slow for CG
    g = np.array([1e-6, 3e-6])
    calls = []

    def product(v):
        calls.append(1)
        return h @ v

    p = logistic._conjugate_gradient(product, g, tol=0.0, max_inner=50, enough=0.5 * TOL)
    assert np.abs(g + h @ p).max() <= 0.5 * TOL and len(calls) < 50
    calls.clear()
    logistic._conjugate_gradient(product, g, tol=0.0, max_inner=50)   # scikit-learn's rules alone: no stop
    assert len(calls) > 2

    x, y = _data(4, seed=1, separation=3.0)                  # nearly separable at C = 100
    fit = logistic.newton_cg(x.astype(np.float32), y, 100.0, tol=TOL, exact=x)
    monkeypatch.setattr(logistic, "ENOUGH", 0.0)
    before = logistic.newton_cg(x.astype(np.float32), y, 100.0, tol=TOL, exact=x)
    assert fit.converged and before.converged and fit.max_gradient <= TOL
    assert fit.hessian_products <= before.hessian_products
    # the same optimum to what the stopping test can tell apart (the objective is flat here: C = 100)
    assert np.allclose(fit.coef, before.coef, atol=1e-3 * np.abs(before.coef).max())
    assert np.allclose(logistic.probabilities(x, fit.coef, fit.intercept),
                       logistic.probabilities(x, before.coef, before.intercept), atol=1e-4)


def _correlated(classes: int, n: int, d: int = 40, seed: int = 5):
    """Features like a pretrained network's: a few strong shared directions, then weaker ones."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    mixing = rng.normal(size=(d, d)) * np.geomspace(3.0, 0.05, d)[:, None]   # a wide spectrum
    x = rng.normal(size=(n, d)) @ mixing
    x[np.arange(n), y] += 1.0
    x -= x.mean(0)
    return x / np.sqrt((x * x).mean()), y


@pytest.mark.parametrize("n", [400, 25])                     # n ≥ d: every direction; n < d: the spanned ones
def test_the_spectrum_is_the_eigendecomposition_of_the_features_second_moment(n):
    x, _ = _correlated(3, n)
    sp = logistic.spectrum(x)
    rank = x.shape[1] if n >= x.shape[1] else np.linalg.matrix_rank(x)   # centred: n - 1 directions
    assert sp.complete == (n >= x.shape[1]) and sp.vectors.shape == (x.shape[1], rank)
    v = sp.vectors.astype(np.float64)
    assert np.allclose(v.T @ v, np.eye(v.shape[1]), atol=1e-5)                # orthonormal columns
    assert np.allclose(x.T @ x / n @ v, v * sp.values, atol=1e-4 * sp.values.max())


@pytest.mark.parametrize("n", [400, 25])
@pytest.mark.parametrize("classes", [2, 4])
def test_the_preconditioner_inverts_the_hessian_when_every_weight_is_the_same(n, classes):
    # with p(1 − p) equal over examples, M is the Hessian's block per row of coef: M⁻¹H v = v there
    x, y = _correlated(classes, n)
    problem = logistic._Problem(x, y, 0.5, classes, spectrum=logistic.spectrum(x))
    rows = problem.rows
    p = np.full((n, rows), 0.3)
    rng = np.random.default_rng(1)
    v = np.concatenate([rng.normal(size=rows * x.shape[1]), np.zeros(rows)])
    w = v[:rows * x.shape[1]].reshape(rows, -1)
    h = (0.3 * 0.7) * (x.T @ x / n @ w.T).T + problem.reg * w   # each row's block, cross terms left out
    solved = problem.preconditioner(p)(np.concatenate([h.ravel(), np.zeros(rows)]))
    assert np.allclose(solved, v, atol=1e-4 * np.abs(v).max())


@pytest.mark.parametrize("classes", [2, 4])
@pytest.mark.parametrize("C", [0.01, 100.0])
def test_preconditioned_conjugate_gradients_reach_the_same_optimum_with_fewer_products(classes, C):
    x, y = _correlated(classes, 600)
    plain = logistic.newton_cg(x, y, C, tol=TOL)
    fit = logistic.newton_cg(x, y, C, tol=TOL, spectrum=logistic.spectrum(x))
    assert fit.converged and plain.converged and logistic.max_gradient(x, y, C, fit.coef, fit.intercept) <= TOL
    assert fit.hessian_products < plain.hessian_products
    # the same optimum to what the stopping test can tell apart: the objective is flat along the
    # features' weak directions (C = 100), so the models agree to the loss's rounding, not digit for digit
    problem = logistic._Problem(x, y, C, classes)
    losses = [problem.loss(problem.logits(t), t) for t in (logistic._theta(f.coef, f.intercept) for f in (fit, plain))]
    assert abs(losses[0] - losses[1]) <= 1e-7 * abs(losses[1])
    assert np.allclose(logistic.probabilities(x, fit.coef, fit.intercept),
                       logistic.probabilities(x, plain.coef, plain.intercept), atol=1e-3)
    # the same with fewer examples than features (the preconditioner is λI off their span), in threads
    few, labels = x[:30], y[:30]
    small = logistic.newton_cg(few, labels, C, tol=TOL, spectrum=logistic.spectrum(few), threads=2)
    assert small.converged and logistic.max_gradient(few, labels, C, small.coef, small.intercept) <= TOL


def test_features_that_span_nothing_still_give_a_preconditioner_in_threads():
    from concurrent.futures import ThreadPoolExecutor

    x, y = np.zeros((6, 10)), np.arange(6) % 3                  # constant features: no direction spanned
    sp = logistic.spectrum(x)
    assert sp.vectors.shape == (10, 0) and not sp.complete
    with ThreadPoolExecutor(2) as pool:
        problem = logistic._Problem(x, y, 1.0, 3, pool=pool, parts=2, spectrum=sp)
        r = np.arange(problem.rows * 11, dtype=np.float64)
        solved = problem.preconditioner(np.full((6, 3), 0.5))(r)
    assert solved.shape == r.shape and np.allclose(solved[:30], r[:30] / problem.reg)   # the Hessian is I/(Cn) there
