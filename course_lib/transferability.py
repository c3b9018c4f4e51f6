"""Cheap scores that predict how well a pretrained model will transfer (notebook 07).

Computed from a candidate's features (or source-class probabilities) on the target training
data, without fine-tuning: **LogME** (You et al., 2021), **LEEP** (Nguyen et al., 2020), a
k-nearest-neighbour score and a linear probe. The ground truth they are judged against is
what each candidate reaches when fine-tuned (:func:`finetune_tail`: its last block and a new
head, trained through the course's one loop, the rate picked on validation). :func:`rank_agreement`
compares a score's ranking with that truth (weighted Kendall τ); :func:`tau_over_splits` adds
an interval by resampling the splits, :func:`compare_taus` compares two scores on the same
resamples, and :func:`accuracy_of_choice` says what choosing by a score costs.

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

from .compare import Comparison
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


# --------------------------------------------------------------------------- the ground truth: fine-tuning

def module_inputs(model, dataset, module_names: list[str], batch_size: int = 64) -> dict[str, "torch.Tensor"]:
    """What the named sub-modules receive as input, for every item of ``dataset`` (eval mode).

    Caching the input of the first block you fine-tune makes fine-tuning "that block and the
    head" cheap and exact (no augmentation here): everything before it is frozen anyway.

    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    >>> ds = torch.utils.data.TensorDataset(torch.randn(5, 3), torch.zeros(5))
    >>> tuple(module_inputs(net, ds, ["2"])["2"].shape)
    (5, 4)
    """
    import torch
    from torch.utils.data import DataLoader

    from .evaluation import evaluating

    modules = dict(model.named_modules())
    missing = [n for n in module_names if n not in modules]
    if missing:
        raise ValueError(f"no sub-module named {missing}; names look like {list(modules)[1:6]}.")
    store: dict[str, list] = {n: [] for n in module_names}
    hooks = [modules[n].register_forward_pre_hook(lambda m, args, n=n: store[n].append(args[0].detach()))
             for n in module_names]
    try:
        with evaluating(model):
            for x, _ in DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0):
                model(x)
    finally:
        for h in hooks:
            h.remove()
    return {n: torch.cat(v) for n, v in store.items()}


class PooledTail:
    """Factory for "the last block(s) of a candidate, then global average pooling".

    ``PooledTail(*modules)()`` returns a fresh deep copy as an ``nn.Sequential`` that maps the
    cached input of the first module to pooled features ``(N, d)``.
    """

    def __init__(self, *modules):
        self.modules = modules

    def __call__(self):
        import copy

        from torch import nn

        layers = [copy.deepcopy(m) for m in self.modules]
        return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten()) if layers else nn.Flatten()


def tail_classifier(make_tail, inputs, num_classes: int):
    """A fresh copy of a candidate's tail (``make_tail()``) followed by a new linear head.

    The head's width is read from one eval-mode pass over two rows of ``inputs`` (a pass in
    training mode would nudge the copied BatchNorm statistics).

    >>> import torch
    >>> tail_classifier(PooledTail(torch.nn.Conv2d(2, 3, 1)), torch.randn(4, 2, 5, 5), 7)[1]
    Linear(in_features=3, out_features=7, bias=True)
    """
    from torch import nn

    from .evaluation import batched_forward

    tail = make_tail()
    width = batched_forward(tail, inputs[:2]).shape[1]
    return nn.Sequential(tail, nn.Linear(width, int(num_classes)))


def finetune_tail(make_tail, inputs, labels, split: dict, budget, *, seed: int = 0, batch_size: int = 16,
                  body_factor: float = 0.1, weight_decay: float = 1e-2, schedule: str | None = "warmup-linear",
                  evaluations: int = 10, patience: int | None = None):
    """Fine-tune a copy of a candidate's tail plus a new linear head on its cached ``inputs``.

    The protocol's ground truth for one candidate on one split. ``split`` holds index arrays
    ``"train"``, ``"val"`` and ``"test"`` (:func:`course_lib.compare.few_shot_trials`). Training
    is :func:`course_lib.loop.tune`: for every rate of ``budget.lr_grid`` a fresh copy is trained
    with AdamW for at most ``budget.cap`` steps of ``batch_size`` images (``schedule``: by
    default a linear warm-up over the first 10 % of the cap, then a linear decay to 0 at the
    cap); the new head learns at the grid's rate and the copied block at ``rate × body_factor``
    (:func:`course_lib.loop.head_and_body`); BatchNorm layers keep their stored statistics
    (their scale and shift still train). Validation accuracy is measured every
    ``cap / evaluations`` steps and the best weights are kept (``patience``: stop after that many
    measurements without improvement). The rate with the best validation score wins; only then
    is the test part scored.

    Returns a :class:`course_lib.compare.RunResult`: ``score`` (test accuracy), ``lr`` and
    ``extra`` with ``"val"`` (the kept model's validation accuracy), ``"trainable"`` (parameters
    trained) and ``"best_step"``. Run it under :func:`course_lib.compare.run_paired`, which
    counts the steps and checks them against the budget.

    >>> import numpy as np, torch
    >>> from course_lib.compare import Budget
    >>> X = torch.randn(60, 4); y = (X[:, 0] > 0).long()
    >>> split = {"train": np.arange(40), "val": np.arange(40, 50), "test": np.arange(50, 60)}
    >>> r = finetune_tail(PooledTail(), X, y, split, Budget(30, (1e-3, 1e-2, 1e-1), scale=1))
    >>> r.lr in (1e-3, 1e-2, 1e-1), r.extra["trainable"], 0 <= r.score <= 1
    (True, 10, True)
    """
    import torch

    from . import loop
    from .compare import RunResult
    from .evaluation import accuracy_of

    if not budget.lr_grid:
        raise ValueError("finetune_tail picks the learning rate on validation: give the Budget an lr_grid.")
    y = torch.as_tensor(_as_numpy(labels)).long()
    x = torch.as_tensor(inputs)
    if len(x) != len(y):
        raise ValueError(f"inputs and labels must have one row per image; got {len(x)} and {len(y)}.")
    train, val, test = (torch.as_tensor(np.asarray(split[p], dtype=np.int64)) for p in ("train", "val", "test"))
    if len(val) == 0:
        raise ValueError("Picking a learning rate needs a validation part: use "
                         "few_shot_trials(..., val_per_class=...).")
    num_classes = int(y.max()) + 1
    tuned = loop.tune(lambda: tail_classifier(make_tail, x, num_classes), (x[train], y[train]), budget,
                      val=(x[val], y[val]), seed=seed, batch_size=batch_size,
                      eval_every=max(1, budget.cap // evaluations), patience=patience,
                      param_groups=lambda model, lr: loop.head_and_body(model[1], body_factor)(model, lr),
                      optimizer="adamw", weight_decay=weight_decay, schedule=schedule, bn_eval=True,
                      label="tail + new head")
    model = tuned.model
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return RunResult(score=accuracy_of(model, x[test], y[test]), lr=tuned.lr,
                     steps=sum(r.steps for r in tuned.runs),
                     extra={"val": accuracy_of(model, x[val], y[val]), "trainable": trainable,
                            "best_step": tuned.run.best_step})


# --------------------------------------------------------------------------- judging a score: τ over splits

def _aligned(scores: dict, accuracies: dict) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Candidates scored on every split, with their per-split scores and accuracies as (c, s) arrays."""
    names = [n for n in scores if n in accuracies and np.all(np.isfinite(np.asarray(scores[n], dtype=float)))]
    if len(names) < 3:
        raise ValueError(f"need at least 3 scored candidates to compare rankings, got {len(names)}.")
    S = np.array([np.asarray(scores[n], dtype=float).reshape(-1) for n in names])
    A = np.array([np.asarray(accuracies[n], dtype=float).reshape(-1) for n in names])
    if S.shape != A.shape or S.shape[1] < 2:
        raise ValueError(f"every candidate needs one score and one accuracy per split, on at least 2 splits; "
                         f"got scores {S.shape} and accuracies {A.shape} (candidates, splits).")
    return names, S, A


def _tau(S: np.ndarray, A: np.ndarray) -> float:
    from scipy.stats import weightedtau

    return float(weightedtau(S, A).statistic)


def _split_draws(n_splits: int, replicates: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n_splits, (replicates, n_splits))


def tau_over_splits(scores: dict, accuracies: dict, *, replicates: int = 1000, seed: int = 0,
                    confidence: float = 0.95) -> tuple[float, float, float]:
    """Weighted Kendall τ of a score against the fine-tuned accuracy, with a bootstrap over splits.

    ``scores[name]`` and ``accuracies[name]`` hold one value per split (the same splits, in the
    same order, for every candidate). τ compares the split-averaged score with the
    split-averaged accuracy. Each bootstrap replicate draws the splits with replacement (the
    same draw for every candidate), so the interval covers what changes from split to split:
    which images were labelled, the seeds of the fine-tuning runs and the test images.
    Returns ``(tau, low, high)``: the point value and the percentile interval.

    >>> rng = np.random.default_rng(0)
    >>> acc = {n: p + 0.02 * rng.standard_normal(10) for n, p in zip("abcd", (.9, .8, .7, .6))}
    >>> tau, low, high = tau_over_splits({n: acc[n] + 0.01 for n in acc}, acc)
    >>> round(tau, 2), low <= tau <= high
    (1.0, True)
    """
    _, S, A = _aligned(scores, accuracies)
    tau = _tau(S.mean(1), A.mean(1))
    taus = np.array([_tau(S[:, d].mean(1), A[:, d].mean(1)) for d in _split_draws(S.shape[1], replicates, seed)])
    low, high = np.quantile(taus[np.isfinite(taus)], [(1 - confidence) / 2, (1 + confidence) / 2])
    return tau, float(low), float(high)


class TauComparison(Comparison):
    """τ(score A) − τ(score B) against the same fine-tuned accuracies, by a paired bootstrap over splits.

    ``a`` and ``b`` hold the two scores' τ in every bootstrap replicate (the same split draws for
    both); ``tau_a`` and ``tau_b`` are the values on all splits. The interval is the percentile
    interval of the replicate differences; the two-sided p-value is twice the smaller share of
    replicates on either side of 0 (a replicate exactly at 0 counts on both sides), so the
    verdict says "better" exactly when the interval lies on one side of 0. Works with
    :func:`course_lib.compare.holm` and :func:`course_lib.verdicts.record` like any comparison.
    """

    def __init__(self, name_a: str, name_b: str, a, b, tau_a: float, tau_b: float, splits: int,
                 confidence: float = 0.95):
        super().__init__(name_a, name_b, np.asarray(a, dtype=float), np.asarray(b, dtype=float), confidence,
                         unit="τ")
        self.tau_a, self.tau_b, self.splits = float(tau_a), float(tau_b), int(splits)

    @property
    def n(self) -> int:
        return self.splits

    @property
    def mean_difference(self) -> float:
        return self.tau_a - self.tau_b

    @property
    def interval(self) -> tuple[float, float]:
        q = (1 - self.confidence) / 2
        low, high = np.quantile(self.differences, [q, 1 - q])
        return float(low), float(high)

    @property
    def p_value(self) -> float:
        d = self.differences
        return float(min(1.0, 2 * min(np.mean(d <= 0), np.mean(d >= 0))))

    @property
    def verdict(self) -> str:
        if self.decisive_p < 1 - self.confidence:
            return f"{self.name_a} better" if np.mean(self.differences <= 0) < 0.5 else f"{self.name_b} better"
        return f"no detectable difference with n = {self.n}"

    def __str__(self) -> str:
        low, high = self.interval
        holm = (f"; Holm-adjusted p = {self.adjusted_p:.3f} over {self.family} comparisons"
                if self.adjusted_p is not None and self.family > 1 else "")
        return (f"τ {self.name_a} − τ {self.name_b} = {self.tau_a:+.2f} − {self.tau_b:+.2f} = "
                f"{self.mean_difference:+.2f} ({self.confidence:.0%} bootstrap CI over {self.n} splits "
                f"{low:+.2f} to {high:+.2f}{holm}): {self.verdict}").replace("95%", "95 %")

    def to_dict(self) -> dict:
        out = super().to_dict()
        out.update(mean_a=self.tau_a, mean_b=self.tau_b, tau_a=self.tau_a, tau_b=self.tau_b,
                   replicates=len(self.a))
        return out


def compare_taus(scores_a: dict, scores_b: dict, accuracies: dict, name_a: str, name_b: str, *,
                 replicates: int = 1000, seed: int = 0, confidence: float = 0.95) -> TauComparison:
    """Which of two scores ranks the candidates more like fine-tuning does? A paired bootstrap over splits.

    Both scores are judged on the same replicates: each draws the splits with replacement once,
    and both τ are computed from that draw, so the split-to-split noise they share cancels in
    the difference. Candidates that either score cannot rank on every split are left out of both.

    >>> rng = np.random.default_rng(1)
    >>> acc = {n: p + 0.02 * rng.standard_normal(10) for n, p in zip("abcde", (.9, .8, .7, .6, .5))}
    >>> good = {n: v + 0.01 * rng.standard_normal(10) for n, v in acc.items()}
    >>> bad = {n: rng.standard_normal(10) for n in acc}
    >>> compare_taus(good, bad, acc, "good", "bad").verdict
    'good better'
    """
    names = [n for n in scores_a if n in scores_b
             and np.all(np.isfinite(np.asarray(scores_a[n], dtype=float)))
             and np.all(np.isfinite(np.asarray(scores_b[n], dtype=float)))]
    _, SA, A = _aligned({n: scores_a[n] for n in names}, accuracies)
    _, SB, _ = _aligned({n: scores_b[n] for n in names}, accuracies)
    draws = _split_draws(SA.shape[1], replicates, seed)
    a = [_tau(SA[:, d].mean(1), A[:, d].mean(1)) for d in draws]
    b = [_tau(SB[:, d].mean(1), A[:, d].mean(1)) for d in draws]
    return TauComparison(name_a, name_b, a, b, _tau(SA.mean(1), A.mean(1)), _tau(SB.mean(1), A.mean(1)),
                         SA.shape[1], confidence)


def accuracy_of_choice(values: dict, accuracies: dict) -> np.ndarray:
    """Per split, the fine-tuned accuracy of the candidate that ``values`` ranks first.

    ``values[name]`` holds one number per split (a score, or a validation accuracy); higher is
    chosen. Ties are shared: the accuracy is the mean over the tied candidates, what a fair coin
    among them would give on average. Candidates without a finite value on a split are skipped.

    >>> accuracy_of_choice({"a": [1, 0], "b": [0, 1], "c": [1, 1]}, {"a": [.9, .9], "b": [.5, .5], "c": [.7, .7]})
    array([0.8, 0.6])
    """
    names = [n for n in values if n in accuracies]
    V = np.array([np.asarray(values[n], dtype=float).reshape(-1) for n in names])
    A = np.array([np.asarray(accuracies[n], dtype=float).reshape(-1) for n in names])
    V = np.where(np.isfinite(V), V, -np.inf)
    best = V == V.max(0, keepdims=True)
    return (A * best).sum(0) / best.sum(0)


def calibrate_batchnorm(model, dataset, batch_size: int = 64, seed: int = 0):
    """Re-estimate every BatchNorm's running statistics from ``dataset`` (no labels, no gradients).

    A randomly initialised network in eval mode uses BatchNorm's initial statistics (mean 0,
    variance 1); with small random weights its activations then shrink layer after layer
    (to about 10⁻⁸ by the end of an untrained EfficientNet-Lite0). Estimating the statistics
    from real images, as training would, gives a fair "random weights" baseline. Returns the
    model in eval mode.

    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))
    >>> ds = torch.utils.data.TensorDataset(5 + torch.randn(8, 1, 6, 6), torch.zeros(8))
    >>> bool(calibrate_batchnorm(net, ds)[1].running_mean.abs().sum() > 0)
    True
    """
    import torch
    from torch.utils.data import DataLoader

    from .repro import seed_everything

    seed_everything(seed)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None                      # a cumulative average over the whole pass
    model.train()
    try:
        with torch.no_grad():
            for x, _ in DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0):
                model(x)
    finally:
        for m, momentum in zip(norms, saved):
            m.momentum = momentum
        model.eval()
    return model


def tail_features(make_tail, inputs, batch_size: int = 256) -> np.ndarray:
    """The pooled features a candidate's (untrained-here) last block gives on its cached inputs.

    >>> import torch
    >>> tail_features(PooledTail(torch.nn.Conv2d(2, 3, 1)), torch.randn(4, 2, 5, 5)).shape
    (4, 3)
    """
    from .evaluation import batched_forward

    return batched_forward(make_tail(), inputs, batch_size=batch_size).numpy()
