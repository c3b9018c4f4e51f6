"""Cheap scores that predict how well a pretrained model will transfer (notebook 07).

Computed from a candidate's features (or source-class probabilities) on the target training
data, without fine-tuning: **LogME** (You et al., 2021), **LEEP** (Nguyen et al., 2020), a
k-nearest-neighbour score and a linear probe. :func:`rank_agreement` checks a score against
the accuracies the candidates really reach, with the weighted Kendall tau.

LogME here is exact for any shape of the feature matrix. The widely used reference
implementation works in a truncated SVD basis of rank ``min(n, d)``; when there are more
feature dimensions ``d`` than samples ``n`` it drops the ``(d − n) · log α`` part of
``log |A|`` (the eigenvalues of ``A = αI + βFᵀF`` whose ``FᵀF`` eigenvalue is 0). Our tests
compare with a brute-force evidence to make sure that term is kept.

>>> rng = np.random.default_rng(0)
>>> F = rng.standard_normal((30, 50)); y = (F[:, 0] > 0).astype(int)   # d > n
>>> bool(np.isfinite(logme(F, y)))
True
"""
from __future__ import annotations

import numpy as np

from .data import to_numpy as _as_numpy

ArrayLike = np.ndarray


def _as_float_matrix(features: ArrayLike, what: str = "features") -> np.ndarray:
    F = _as_numpy(features).astype(np.float64)
    if F.ndim != 2:
        raise ValueError(f"{what} must be a 2-D array (n samples, d features); got shape {F.shape}.")
    if not np.isfinite(F).all():
        raise ValueError(f"{what} contain NaN or infinite values; fix or drop those rows first.")
    return F


def _decompose(F: np.ndarray, Y: np.ndarray):
    """Eigen-decompose the smaller Gram matrix once, for every target column of ``Y`` (n, K).

    Returns ``(s2, Z, B)``: the squared singular values of ``F``, and either ``Z = Uᵀ Y`` in a
    complete basis of Rⁿ (when n ≤ d) or ``B = Vᵀ Fᵀ Y`` in a complete basis of R^d (when n > d).
    Either way every eigenvalue of ``A = αI + βFᵀF`` is accounted for, so the evidence is exact.
    """
    n, d = F.shape
    if n <= d:
        s2, U = np.linalg.eigh(F @ F.T)
        return np.clip(s2, 0.0, None), U.T @ Y, None
    s2, V = np.linalg.eigh(F.T @ F)
    return np.clip(s2, 0.0, None), None, V.T @ (F.T @ Y)


def _terms(alpha: float, beta: float, s2: np.ndarray, z, b, yy: float):
    """``(‖m‖², ‖y − Fm‖², γ)`` for the posterior mean ``m`` at the given α, β."""
    shrink = alpha + beta * s2
    if z is not None:                       # n ≤ d: z holds y's coordinates in a basis of Rⁿ
        m_norm2 = float(np.sum((beta * np.sqrt(s2) * z / shrink) ** 2))
        residual = float(np.sum((alpha * z / shrink) ** 2))
    else:                                   # n > d: work in R^d with b = Vᵀ Fᵀ y
        m = beta * b / shrink
        m_norm2 = float(m @ m)
        residual = max(yy - 2.0 * float(m @ b) + float(np.sum(s2 * m ** 2)), 1e-300)
    gamma = float(np.sum(beta * s2 / shrink))
    return m_norm2, residual, gamma


def _evidence(alpha: float, beta: float, s2: np.ndarray, z, b, yy: float, n: int, d: int) -> float:
    m_norm2, residual, _ = _terms(alpha, beta, s2, z, b, yy)
    # log|A|: the len(s2) eigenvalues α + β s_i², and α for the d − len(s2) others (d > n).
    log_det_a = float(np.sum(np.log(alpha + beta * s2))) + (d - len(s2)) * np.log(alpha)
    return float(0.5 * n * np.log(beta) + 0.5 * d * np.log(alpha) - 0.5 * n * np.log(2 * np.pi)
                 - 0.5 * beta * residual - 0.5 * alpha * m_norm2 - 0.5 * log_det_a)


def log_evidence(F: ArrayLike, y: ArrayLike, alpha: float, beta: float) -> float:
    """Exact ``log p(y | F, α, β)`` of Bayesian linear regression, for any shape of ``F``.

    Model: ``y = F w + ε``, ``w ~ N(0, α⁻¹ I_d)``, ``ε ~ N(0, β⁻¹ I_n)``. Uses
    ``log|A| = Σ_i log(α + β s_i²) + (d − n) log α`` when ``d > n``: the term a truncated-SVD
    implementation drops.

    >>> F = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 1.0]]); y = np.array([1.0, -1.0])
    >>> round(log_evidence(F, y, 1.0, 2.0), 6) == round(brute_force_log_evidence(F, y, 1.0, 2.0), 6)
    True
    """
    if alpha <= 0 or beta <= 0:
        raise ValueError(f"alpha and beta are precisions and must be > 0; got {alpha}, {beta}.")
    F = _as_float_matrix(F)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if len(y) != len(F):
        raise ValueError(f"features must be (n, d) with one target per row; got {F.shape} and {y.shape}.")
    s2, Z, B = _decompose(F, y[:, None])
    return _evidence(alpha, beta, s2, None if Z is None else Z[:, 0], None if B is None else B[:, 0],
                     float(y @ y), *F.shape)


def brute_force_log_evidence(F: ArrayLike, y: ArrayLike, alpha: float, beta: float) -> float:
    """The same evidence as the density of ``y ~ N(0, α⁻¹ F Fᵀ + β⁻¹ I_n)``, by dense algebra.

    Slow (an n × n determinant and solve) but straight from the definition: the reference the
    fast :func:`log_evidence` is tested against.
    """
    F = np.asarray(F, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    cov = F @ F.T / alpha + np.eye(n) / beta
    sign, logdet = np.linalg.slogdet(cov)
    if sign <= 0:
        raise np.linalg.LinAlgError("covariance is not positive definite")
    return float(-0.5 * (n * np.log(2 * np.pi) + logdet + y @ np.linalg.solve(cov, y)))


def _maximise(s2, z, b, yy: float, n: int, d: int, iterations: int, tol: float):
    alpha, beta = 1.0, 1.0
    for _ in range(iterations):
        m_norm2, residual, gamma = _terms(alpha, beta, s2, z, b, yy)
        new_alpha = max(gamma, 1e-12) / max(m_norm2, 1e-12)
        new_beta = max(n - gamma, 1e-12) / max(residual, 1e-12)
        done = abs(new_alpha - alpha) / alpha < tol and abs(new_beta - beta) / beta < tol
        alpha, beta = new_alpha, new_beta
        if done:
            break
    return alpha, beta, _evidence(alpha, beta, s2, z, b, yy, n, d)


def maximise_evidence(F: ArrayLike, y: ArrayLike, iterations: int = 100, tol: float = 1e-6):
    """MacKay's fixed-point iteration for α, β; returns ``(alpha, beta, log_evidence)``.

    Each step sets ``α = γ / ‖m‖²`` and ``β = (n − γ) / ‖y − Fm‖²`` with ``γ = Σ β s_i² / (α + β s_i²)``
    (the effective number of parameters), the stationarity conditions of the evidence.
    """
    F = _as_float_matrix(F)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if len(y) != len(F):
        raise ValueError(f"features must be (n, d) with one target per row; got {F.shape} and {y.shape}.")
    s2, Z, B = _decompose(F, y[:, None])
    return _maximise(s2, None if Z is None else Z[:, 0], None if B is None else B[:, 0],
                     float(y @ y), *F.shape, iterations, tol)


def logme(features: ArrayLike, labels: ArrayLike) -> float:
    """LogME: the maximised log evidence per sample, averaged over one-vs-rest class targets.

    Higher is better. Features are used as given (no centring); labels are class indices.
    One eigen-decomposition serves every class, so n = 2,000 and d = 1,280 take well under a second.

    >>> rng = np.random.default_rng(0); y = rng.integers(0, 2, 50)
    >>> bool(logme(np.c_[y, y] + 0.1 * rng.standard_normal((50, 2)), y) > logme(rng.standard_normal((50, 2)), y))
    True
    """
    F = _as_float_matrix(features)
    y = _as_numpy(labels).reshape(-1).astype(int)
    if len(F) != len(y):
        raise ValueError(f"features must be (n, d) with one label per row; got {F.shape} and {y.shape}.")
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError("LogME needs at least two classes among the labels.")
    Y = (y[:, None] == classes[None, :]).astype(np.float64)             # one-hot targets (n, K)
    s2, Z, B = _decompose(F, Y)
    n, d = F.shape
    scores = [_maximise(s2, None if Z is None else Z[:, k], None if B is None else B[:, k],
                        float(Y[:, k] @ Y[:, k]), n, d, 100, 1e-6)[2] / n for k in range(len(classes))]
    return float(np.mean(scores))


def leep(source_probs: ArrayLike, labels: ArrayLike) -> float:
    """LEEP: log of the expected empirical prediction, from a source model's class probabilities.

    ``source_probs`` is ``(n, Z)``: the source classifier's softmax over its own Z classes on the
    target inputs. It needs a source head, so a backbone without one cannot be scored. Always ≤ 0;
    higher is better.
    """
    theta = _as_numpy(source_probs).astype(np.float64)
    y = _as_numpy(labels).astype(int)
    if theta.ndim != 2 or len(theta) != len(y):
        raise ValueError(f"source_probs must be (n, Z) with one label per row; got {theta.shape}, {y.shape}.")
    if np.any(theta < 0) or not np.allclose(theta.sum(1), 1, atol=1e-4):
        raise ValueError("source_probs rows must be probabilities (non-negative, summing to 1): apply softmax.")
    n = len(y)
    classes = np.unique(y)
    joint = np.stack([theta[y == c].sum(0) for c in classes]) / n          # P(y, z): (K, Z)
    conditional = joint / np.clip(joint.sum(0, keepdims=True), 1e-12, None)  # P(y | z)
    index = np.searchsorted(classes, y)
    eep = np.einsum("nz,nz->n", theta, conditional[index])
    return float(np.mean(np.log(np.clip(eep, 1e-12, None))))


def _l2_normalise(F: np.ndarray) -> np.ndarray:
    return F / np.clip(np.linalg.norm(F, axis=1, keepdims=True), 1e-12, None)


def _features_and_labels(features: ArrayLike, labels: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    F = _as_float_matrix(features)
    y = _as_numpy(labels).reshape(-1).astype(int)
    if len(F) != len(y):
        raise ValueError(f"features must be (n, d) with one label per row; got {F.shape} and {y.shape}.")
    return _l2_normalise(F), y


def knn_score(features: ArrayLike, labels: ArrayLike, k: int = 5, folds: int = 5, seed: int = 0) -> float:
    """Cross-validated k-nearest-neighbour accuracy on L2-normalised features."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    F, y = _features_and_labels(features, labels)
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    return float(cross_val_score(KNeighborsClassifier(k), F, y, cv=cv).mean())


def linear_probe_score(features: ArrayLike, labels: ArrayLike, folds: int = 5, seed: int = 0, C: float = 10.0) -> float:
    """Cross-validated logistic-regression accuracy on L2-normalised features.

    The most faithful and the most expensive of the scores: it trains ``folds`` classifiers.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    F, y = _features_and_labels(features, labels)
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    return float(cross_val_score(LogisticRegression(C=C, max_iter=1000, tol=1e-3), F, y, cv=cv).mean())


def rank_agreement(scores: dict[str, float], accuracies: dict[str, float]) -> float:
    """Weighted Kendall tau between a score and the real accuracies, over the candidates both have.

    1 means the score ranks candidates exactly as their accuracies do, with errors among the
    best candidates weighted most (``scipy.stats.weightedtau``); −1 means reversed.
    """
    from scipy.stats import weightedtau

    names = [n for n in scores if n in accuracies and np.isfinite(scores[n])]
    if len(names) < 3:
        raise ValueError(f"need at least 3 scored candidates to compare rankings, got {len(names)}.")
    return float(weightedtau([scores[n] for n in names], [accuracies[n] for n in names]).statistic)


def block_features(model, dataset, layer_names: list[str], batch_size: int = 64) -> dict[str, np.ndarray]:
    """Globally average-pooled outputs of the named sub-modules, for every item of ``dataset``.

    One pass through ``model`` (eval mode, no gradients) gives features at several depths, so a
    single pretrained network yields several candidate feature extractors.
    """
    import torch
    from torch.utils.data import DataLoader

    from .inspect_model import capture_outputs
    from .models import evaluating

    def pool(o):
        return o.mean(dim=(2, 3)) if o.ndim == 4 else o

    with capture_outputs(model, layer_names, pool) as store, evaluating(model):
        for x, _ in DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0):
            model(x)
    return {n: _as_numpy(torch.cat(v)) for n, v in store.items()}
