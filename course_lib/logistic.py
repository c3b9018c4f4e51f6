"""Logistic regression fitted by Newton's method with conjugate gradients, in NumPy.

The objective is scikit-learn's ``LogisticRegression(C=C)``: the mean cross-entropy of the
softmax of ``x @ coef.T + intercept`` plus ``‖coef‖² / (2 C n)`` (the intercept is not
penalised). Two classes use one row (the second class's logit against 0, a sigmoid), more
classes one row each, as scikit-learn's ``coef_`` and ``intercept_`` do.

Each Newton step solves ``H p = -g`` approximately by conjugate gradients (only products of the
Hessian with a vector, each two passes over ``x``: the Hessian itself is never formed), stopping
when the residual is small relative to the gradient (an inexact Newton method: loose far from
the optimum, tight near it), then searches the line ``θ + αp`` for the step that (nearly)
minimises the loss: one more pass over ``x`` gives the logits along the whole line, so the
search costs no further pass. The solver stops when no gradient component exceeds ``tol``.
The inner solver and both stopping rules are those of scikit-learn's ``newton-cg`` solver, with
one more way for the inner solver to stop: once no component of its residual exceeds half of
``tol``. The residual is, to first order, the gradient after the step; near the optimum
scikit-learn's relative rule asks for more precision than the stopping test can see (the last
steps of weak regularisation ran into the iteration cap), so this saves Hessian products and
gives the same models to the stopping test (``tests/test_logistic.py``). Its line search
(SciPy's Wolfe search, a pass over ``x`` per trial step) is replaced by this one.
The result is the same optimum (``tests/test_logistic.py`` checks it against scikit-learn),
without importing scikit-learn and SciPy (slow to import in a fresh process). With a thread
``pool``, each pass is split into blocks of rows computed at once, one per thread.

Given the :func:`spectrum` of ``xᵀx / n``, the conjugate gradients are preconditioned by the
Hessian with every example's weight ``p(1 − p)`` replaced by its class's mean: ``w̄·xᵀx/n + I/(Cn)``
per row of ``coef``, inverted through the eigenvectors. Features of a pretrained network are
strongly correlated, so plain conjugate gradients need many Hessian products per Newton step;
this inverse follows their correlations, and the stopping test is unchanged.

``x`` may be float32: the Hessian products are then single precision (half the memory
traffic); with ``exact`` (the same features in float64) the gradient, and so the stopping test,
is computed in double precision. The softmax, the loss and the parameters are always float64.

>>> x = np.array([[-2.0], [-1.0], [1.0], [2.0]]); y = np.array([0, 0, 1, 1])
>>> fit = newton_cg(x, y, C=1.0)
>>> fit.converged, fit.coef.shape, bool(fit.coef[0, 0] > 0), fit.max_gradient <= 1e-6
(True, (1, 1), True, True)
"""
from __future__ import annotations

import contextlib
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

LINE_STEPS = 20        # one-dimensional Newton iterations per line search…
WOLFE = 0.1            # …until the loss's slope along the line has shrunk to this share
ARMIJO = 1e-4          # the decrease that step must bring: f(θ + αp) ≤ f(θ) + ARMIJO·α·gᵀp…
HALVINGS = 30          # …else α is halved, at most this many times
MAX_INNER = 200        # conjugate-gradient iterations per Newton step (scikit-learn's maxinner)
ENOUGH = 0.5           # CG also stops once no residual component exceeds ENOUGH × tol (the gradient after the step)


@dataclass
class Fit:
    """A fitted model: ``coef`` (rows × features), ``intercept`` (rows), the Newton ``steps``
    taken, whether no gradient component exceeds the tolerance (``converged``), that largest
    component, and the Hessian-vector products spent."""

    coef: np.ndarray
    intercept: np.ndarray
    steps: int
    converged: bool
    max_gradient: float
    hessian_products: int


def _log_softmax(z: np.ndarray) -> np.ndarray:
    m = z.max(1, keepdims=True)                                  # no overflow for large logits
    return z - m - np.log(np.exp(z - m).sum(1, keepdims=True))


def _softmax(z: np.ndarray) -> np.ndarray:
    return np.exp(_log_softmax(z))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))                      # no overflow for large |z|


def _slices(n: int, parts: int) -> list[slice]:
    """``range(n)`` cut into at most ``parts`` nearly equal, non-empty slices."""
    edges = np.linspace(0, n, max(1, parts) + 1).astype(int)
    return [slice(int(lo), int(hi)) for lo, hi in zip(edges[:-1], edges[1:]) if hi > lo]


@dataclass(frozen=True)
class Spectrum:
    """Eigenvalues and orthonormal eigenvectors (columns) of ``xᵀx / n``: all of them when
    ``n ≥ d``, else the nonzero ones (``complete`` is then ``False``)."""

    values: np.ndarray
    vectors: np.ndarray
    complete: bool


def spectrum(x: np.ndarray) -> Spectrum:
    """The :class:`Spectrum` of ``xᵀx / n`` (features in rows, centred for the best preconditioner),
    from the smaller of ``xᵀx`` (d × d) and ``xxᵀ`` (n × n).

    >>> sp = spectrum(np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 2.0], [0.0, -2.0]]))
    >>> sp.values.round(6).tolist(), sp.complete
    ([0.5, 2.0], True)
    >>> spectrum(np.array([[3.0, 4.0]])).values.round(6).tolist()     # n < d: the nonzero part
    [25.0]
    """
    x = np.asarray(x, dtype=np.float64)
    n, d = x.shape
    if n >= d:   # every direction: single precision suffices for a preconditioner (half the traffic)
        values, vectors = np.linalg.eigh(x.T @ x / n)
        return Spectrum(np.maximum(values, 0.0), vectors.astype(np.float32), True)
    values, u = np.linalg.eigh(x @ x.T / n)
    keep = values > max(float(values.max(initial=0.0)), np.finfo(np.float64).tiny) * 1e-12
    values, u = values[keep], u[:, keep]
    return Spectrum(values, (x.T @ u) / np.sqrt(n * values), False)


class _Problem:
    """The objective on fixed data: loss, gradient and Hessian products at a parameter vector
    ``θ = (coef.ravel(), intercept)`` (float64). With a thread ``pool``, every pass over the
    features is split into as many blocks of rows, one per thread."""

    def __init__(self, x: np.ndarray, y: np.ndarray, C: float, classes: int, exact: np.ndarray | None = None,
                 pool: ThreadPoolExecutor | None = None, parts: int = 1, spectrum: Spectrum | None = None):
        self.x = np.ascontiguousarray(x)                           # no copy for a C-ordered array
        self.exact = self.x if exact is None else np.ascontiguousarray(exact)
        self.n, self.d = self.x.shape
        self.rows = 1 if classes == 2 else classes
        y = np.asarray(y, dtype=np.int64)
        self.target = ((y == 1).astype(np.float64)[:, None] if self.rows == 1
                       else np.eye(classes)[y])
        self.reg = 1.0 / (C * self.n)
        self.products = 0
        self.spectrum = spectrum
        self.pool = pool
        self.blocks = _slices(self.n, parts if pool is not None else 1)

    def _over(self, part, blocks: list[slice]):
        """``part(block)`` for each block (of rows, or of columns), in the pool's threads; their results."""
        if self.pool is None or len(blocks) <= 1:
            return [part(slice(None))]
        return list(self.pool.map(part, blocks))

    def _over_rows(self, part):
        return self._over(part, self.blocks)

    def split(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cut = self.rows * self.d
        return theta[:cut].reshape(self.rows, self.d), theta[cut:]

    def logits(self, theta: np.ndarray, x: np.ndarray | None = None) -> np.ndarray:
        """``x @ coef.T + intercept`` (on ``self.x`` unless ``x`` is given), in float64."""
        x = self.x if x is None else x
        w, b = self.split(theta)
        w = w.astype(x.dtype)
        return np.concatenate(self._over_rows(lambda rows: x[rows] @ w.T + b))   # float64

    def exact_logits(self, theta: np.ndarray) -> np.ndarray:
        return self.logits(theta, self.exact)

    def loss(self, z: np.ndarray, theta: np.ndarray) -> float:
        w, _ = self.split(theta)
        if self.rows == 1:
            per = np.logaddexp(0.0, z) - self.target * z
        else:
            per = -(_log_softmax(z) * self.target).sum(1, keepdims=True)
        return float(per.mean() + 0.5 * self.reg * np.dot(w.ravel(), w.ravel()))

    def gradient(self, z: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The probabilities at logits ``z`` and the gradient at ``θ`` (on the exact features)."""
        w, _ = self.split(theta)
        p = _sigmoid(z) if self.rows == 1 else _softmax(z)
        r = p - self.target
        x = self.exact
        # (x.T @ r).T rather than r.T @ x: NumPy's faster order for these shapes
        gw = sum(self._over_rows(lambda rows: (x[rows].T @ r[rows].astype(x.dtype)).T)) / self.n
        return p, np.concatenate([(gw + self.reg * w).ravel(), r.sum(0) / self.n])

    def hessian_product(self, p: np.ndarray, v: np.ndarray) -> np.ndarray:
        """``H v`` at the point whose probabilities are ``p``: per block of rows, ``u = x·v`` and
        then ``xᵀ(weights ⊙ u)``, the block read twice while it is still in the cache."""
        self.products += 1
        vw, vb = self.split(v)
        w = vw.astype(self.x.dtype)

        def part(rows: slice) -> tuple[np.ndarray, np.ndarray]:
            x, q = self.x[rows], p[rows]
            u = x @ w.T + vb
            t = q * (1 - q) * u if self.rows == 1 else q * (u - (u * q).sum(1, keepdims=True))
            return (x.T @ t.astype(x.dtype)).T, t.sum(0)

        parts = self._over_rows(part)
        hw = sum(h for h, _ in parts) / self.n + self.reg * vw
        return np.concatenate([hw.ravel(), sum(t for _, t in parts) / self.n])

    def preconditioner(self, p: np.ndarray):
        """``r ↦ M⁻¹r`` with ``M`` the Hessian at probabilities ``p`` where each example's weight
        ``p(1 − p)`` is replaced by its class's mean ``w̄``: ``w̄·xᵀx/n + I/(Cn)`` for each row of
        ``coef`` (exactly ``I/(Cn)`` on directions the features do not span), ``w̄`` for the intercept.
        Each pass over the eigenvectors is split into the threads' blocks of them."""
        sp = self.spectrum
        weight = (p * (1 - p)).mean(0)                              # one per row of coef
        inverse = 1.0 / (weight[:, None] * sp.values[None, :] + self.reg)
        if not sp.complete:                # V(inverse ⊙ Vᵀr) + (r − VVᵀr)·Cn, in one pass
            inverse -= 1.0 / self.reg
        cut = self.rows * self.d
        vectors = sp.vectors
        columns = _slices(vectors.shape[1], len(self.blocks))   # as many blocks as of rows

        def apply(r: np.ndarray) -> np.ndarray:
            rw = r[:cut].reshape(self.rows, self.d).astype(vectors.dtype)

            def part(cols: slice) -> np.ndarray:
                v = vectors[:, cols]
                return ((rw @ v) * inverse[:, cols]).astype(vectors.dtype) @ v.T

            out = sum(self._over(part, columns))
            if not sp.complete:
                out = out + r[:cut].reshape(self.rows, self.d) / self.reg
            return np.concatenate([np.asarray(out, dtype=np.float64).ravel(),
                                   r[cut:] / np.maximum(weight, self.reg)])

        return apply


def _conjugate_gradient(product, g: np.ndarray, tol: float, max_inner: int, enough: float = 0.0,
                        precondition=None) -> np.ndarray:
    """Approximately solve ``H p = -g``: stop when ``Σ|residual| ≤ tol``, after ``max_inner``
    iterations, or on (near-)zero or negative curvature (scikit-learn's ``_cg``); also when no
    residual component exceeds ``enough`` (the gradient after the step, to first order).
    ``precondition``: ``r ↦ M⁻¹r`` for a symmetric positive definite ``M`` close to ``H``
    (preconditioned conjugate gradients; the stopping rules still read the residual)."""
    eps = 16 * np.finfo(np.float64).eps
    step = np.zeros_like(g)
    r = g.copy()
    z = precondition(r) if precondition is not None else r
    direction = -z
    rr = float(np.dot(r, z))
    direction_norm2 = float(np.dot(z, z))
    for i in range(max_inner + 1):
        if float(np.abs(r).sum()) <= tol or float(np.abs(r).max()) <= enough:
            break
        hp = product(direction)
        curvature = float(np.dot(direction, hp))
        if 0 <= curvature <= eps * direction_norm2:
            break
        if curvature < 0:
            if i == 0:                                           # steepest descent, scaled
                step += rr / curvature * direction
            break
        alpha = rr / curvature
        step += alpha * direction
        r += alpha * hp
        z = precondition(r) if precondition is not None else r
        rr_next = float(np.dot(r, z))
        beta = rr_next / rr
        direction = -z + beta * direction
        direction_norm2 = float(np.dot(direction, direction))
        rr = rr_next
    return step


def newton_cg(x: np.ndarray, y: np.ndarray, C: float, coef: np.ndarray | None = None,
              intercept: np.ndarray | None = None, *, tol: float = 1e-6, max_iter: int = 100,
              classes: int | None = None, exact: np.ndarray | None = None, threads: int = 1,
              spectrum: Spectrum | None = None) -> Fit:
    """Fit ``LogisticRegression(C=C)``'s objective on ``x`` (float32 or float64) and labels
    ``y`` (0 … classes - 1), from ``(coef, intercept)`` if given, else from zero.

    Stops when no gradient component exceeds ``tol`` (``converged``), after ``max_iter``
    Newton steps, or when no step lowers the loss any more (single precision near its floor).
    ``threads > 1`` splits every pass over the features into that many blocks of rows computed
    at once (limit BLAS to one thread meanwhile, e.g. ``threadpoolctl.threadpool_limits(1)``).
    ``spectrum`` (:func:`spectrum` of these features, computed once for any number of fits)
    preconditions the conjugate gradients: the same optimum from fewer Hessian products.

    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(90, 3)); y = np.argmax(x, 1)
    >>> fit = newton_cg(x, y, C=10.0)
    >>> fit.coef.shape, fit.intercept.shape, fit.converged
    ((3, 3), (3,), True)
    >>> again = newton_cg(x, y, C=10.0, coef=fit.coef, intercept=fit.intercept)   # from the optimum
    >>> again.steps, again.hessian_products
    (0, 0)
    """
    classes = int(classes if classes is not None else np.max(y) + 1)
    if classes < 2:
        raise ValueError("A classifier needs at least two classes; the labels hold one.")
    missing = sorted(set(range(classes)) - set(np.unique(y).tolist()))
    if missing or np.min(y) < 0 or np.max(y) >= classes:
        raise ValueError(f"Labels must be 0 … {classes - 1}, each at least once (missing: {missing}); "
                         "a class without examples has no finite optimum.")
    with ThreadPoolExecutor(threads) if threads > 1 else contextlib.nullcontext() as pool:
        return _solve(_Problem(x, y, C, classes, exact, pool, threads, spectrum), coef, intercept, tol, max_iter)


def _solve(problem: _Problem, coef, intercept, tol: float, max_iter: int) -> Fit:
    theta = np.zeros(problem.rows * (problem.d + 1))
    if coef is not None:
        theta = _theta(coef, intercept)
    steps, largest = 0, math.inf
    while True:
        z = problem.exact_logits(theta)
        p, g = problem.gradient(z, theta)
        largest = float(np.abs(g).max())
        if largest <= tol or steps >= max_iter:
            break
        total = float(np.abs(g).sum())
        direction = _conjugate_gradient(lambda v: problem.hessian_product(p, v), g,
                                        min(0.5, math.sqrt(total)) * total, MAX_INNER, ENOUGH * tol,
                                        problem.preconditioner(p) if problem.spectrum is not None else None)
        alpha = _line_search(problem, theta, z, g, direction)
        if alpha is None:
            break                                                # no step lowers the loss: stalled
        theta = theta + alpha * direction
        steps += 1
    w, b = problem.split(theta)
    return Fit(w.copy(), b.copy(), steps, largest <= tol, largest, problem.products)


def _line_search(problem: _Problem, theta: np.ndarray, z: np.ndarray, g: np.ndarray,
                 direction: np.ndarray) -> float | None:
    """The step ``α`` along ``direction`` that (nearly) minimises the loss on that line, or
    ``None`` if the loss cannot be lowered there.

    Along the line the logits are ``z + α·u``, with ``u`` one pass over ``x``; the loss's first
    and second derivatives in ``α`` then cost no further pass, so the one-dimensional problem is
    solved by a safeguarded Newton iteration from ``α = 1`` until its derivative has shrunk to a
    tenth (a strong Wolfe condition), and the step must also lower the loss by ``ARMIJO·α·gᵀp``.
    """
    f0 = problem.loss(z, theta)
    slope = float(np.dot(g, direction))
    if not slope < 0:
        return None
    u = problem.logits(direction)                                # the logits are linear in θ
    w, _ = problem.split(theta)
    dw, _ = problem.split(direction)
    wd, dd = float(np.dot(w.ravel(), dw.ravel())), float(np.dot(dw.ravel(), dw.ravel()))

    def derivatives(alpha: float) -> tuple[float, float]:
        zz = z + alpha * u
        if problem.rows == 1:
            p = _sigmoid(zz)
            first = ((p - problem.target) * u).mean()
            second = (p * (1 - p) * u * u).mean()
        else:
            p = _softmax(zz)
            pu = (p * u).sum(1)
            first = (pu - (problem.target * u).sum(1)).mean()
            second = ((p * u * u).sum(1) - pu * pu).mean()
        return float(first) + problem.reg * (wd + alpha * dd), float(second) + problem.reg * dd

    lo, hi, alpha = 0.0, math.inf, 1.0
    for _ in range(LINE_STEPS):
        first, second = derivatives(alpha)
        if abs(first) <= WOLFE * abs(slope):
            break
        if first < 0:
            lo = alpha
        else:
            hi = alpha
        nxt = alpha - first / second if second > 0 else math.inf
        if not lo < nxt < hi:                                    # outside the bracket: bisect or double
            nxt = (lo + hi) / 2 if hi < math.inf else 2 * alpha
        alpha = nxt
    for _ in range(HALVINGS):
        f = problem.loss(z + alpha * u, theta + alpha * direction)
        if f <= f0 + ARMIJO * alpha * slope:
            return alpha
        if f - f0 <= 32 * np.finfo(np.float64).eps * abs(f0):     # flat to rounding, near the optimum
            candidate = theta + alpha * direction
            _, g_new = problem.gradient(problem.exact_logits(candidate), candidate)
            if float(np.abs(g_new).sum()) < float(np.abs(g).sum()):
                return alpha
        alpha /= 2
    return None


def max_gradient(x: np.ndarray, y: np.ndarray, C: float, coef: np.ndarray, intercept: np.ndarray) -> float:
    """The largest gradient component, in absolute value, of the objective at ``(coef,
    intercept)``: what :func:`newton_cg` (and scikit-learn's solvers) drive below ``tol``.
    One row of ``coef`` means two classes (the second's logit against 0).

    >>> x, y = np.array([[-1.0], [1.0]]), np.array([0, 1])
    >>> round(max_gradient(x, y, 1.0, np.zeros((1, 1)), np.zeros(1)), 3)   # (0.5 - y) x, averaged
    0.5
    """
    coef = np.asarray(coef, dtype=np.float64)
    problem = _Problem(np.asarray(x, dtype=np.float64), y, C, 2 if coef.shape[0] == 1 else coef.shape[0])
    theta = _theta(coef, intercept)
    return float(np.abs(problem.gradient(problem.logits(theta), theta)[1]).max())


def probabilities(x: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """The model's class probabilities for the rows of ``x`` (two classes from one row of ``coef``).

    >>> probabilities(np.array([[0.0]]), np.array([[1.0]]), np.array([0.0]))
    array([[0.5, 0.5]])
    """
    z = (np.asarray(x, dtype=np.float64) @ np.asarray(coef, dtype=np.float64).T
         + np.asarray(intercept, dtype=np.float64))
    if z.shape[1] == 1:
        p = _sigmoid(z)
        return np.hstack([1 - p, p])
    return _softmax(z)


def _theta(coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """The parameter vector ``(coef.ravel(), intercept)`` in float64."""
    return np.concatenate([np.asarray(coef, dtype=np.float64).ravel(),
                           np.asarray(intercept, dtype=np.float64).ravel()])
