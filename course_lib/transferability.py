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

    from .models import evaluating

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


def finetune_tail(make_tail, inputs, labels, split: dict, budget, *, seed: int = 0, batch_size: int = 16,
                  head_lr_factor: float = 10.0, weight_decay: float = 1e-2, eval_every: int = 20):
    """Fine-tune ``make_tail()`` plus a new linear head on cached ``inputs``; the protocol's ground truth.

    ``split`` holds index arrays ``"train"``, ``"val"`` and ``"test"`` (from
    :func:`course_lib.compare.few_shot_trials`). For each learning rate of ``budget.lr_grid``
    (AdamW, ``budget.steps`` steps, linear warm-up over the first 10 % then linear decay; the new
    head learns ``head_lr_factor`` times faster than the copied block; BatchNorm layers keep their
    stored statistics, their scale and shift still train) the
    weights with the best validation accuracy are kept; the rate whose best validation accuracy
    is highest is chosen, and only then is the test part scored. With an empty ``"val"`` and a
    one-rate grid the last weights are scored (no selection). Returns a
    :class:`course_lib.compare.RunResult` with ``extra["correct"]`` (per test image, for a
    bootstrap) and ``extra["trainable"]``.

    >>> import numpy as np, torch
    >>> from course_lib.compare import Budget
    >>> X = torch.randn(60, 4); y = (X[:, 0] > 0).long()
    >>> split = {"train": np.arange(40), "val": np.arange(40, 50), "test": np.arange(50, 60)}
    >>> r = finetune_tail(PooledTail(), X, y, split, Budget(30, (1e-3,)))
    >>> r.steps, r.lr, r.extra["trainable"]
    (30, 0.001, 10)
    """
    import copy

    import torch
    from torch import nn

    from .compare import RunResult
    from .repro import seed_everything

    if not budget.lr_grid:
        raise ValueError("finetune_tail picks the learning rate on validation: give the Budget an lr_grid.")
    y = torch.as_tensor(_as_numpy(labels)).long()
    x = torch.as_tensor(inputs)
    train, val, test = (torch.as_tensor(np.asarray(split[p])).long() for p in ("train", "val", "test"))
    if len(val) == 0 and len(budget.lr_grid) > 1:
        raise ValueError("Picking a learning rate needs a validation part: use "
                         "few_shot_trials(..., val_per_class=...) or a Budget with one rate.")
    num_classes = int(y.max()) + 1

    def accuracy(model, idx):
        with torch.no_grad():
            model.eval()
            out = torch.cat([model(x[idx[i:i + 256]]) for i in range(0, len(idx), 256)])
        return (out.argmax(1) == y[idx])

    best = None
    for lr in budget.lr_grid:
        seed_everything(seed)
        tail = make_tail()
        with torch.no_grad():
            width = tail(x[train[:2]]).shape[1]
        model = nn.Sequential(tail, nn.Linear(width, num_classes))
        groups = [{"params": list(model[1].parameters()), "lr": lr * head_lr_factor}]
        if any(True for _ in tail.parameters()):
            groups.append({"params": list(tail.parameters()), "lr": lr})
        optimizer = torch.optim.AdamW(groups, weight_decay=weight_decay, foreach=True)
        warm = max(1, budget.steps // 10)
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min((s + 1) / warm, max(
            0.0, (budget.steps - s) / max(1, budget.steps - warm))))
        generator = torch.Generator().manual_seed(seed)
        state, best_val, steps = None, -1.0, 0
        while steps < budget.steps:
            order = train[torch.randperm(len(train), generator=generator)]
            for i in range(0, len(order), batch_size):
                if steps >= budget.steps:
                    break
                model.train()
                for m in model.modules():           # BatchNorm keeps its stored statistics: batches
                    if isinstance(m, nn.modules.batchnorm._BatchNorm):   # of 16 estimate them badly
                        m.eval()
                batch = order[i:i + batch_size]
                optimizer.zero_grad()
                nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
                optimizer.step()
                schedule.step()
                steps += 1
                if len(val) == 0:                # no validation: keep the last weights
                    best_val, state = float("nan"), None
                elif steps % eval_every == 0 or steps == budget.steps:
                    v = float(accuracy(model, val).float().mean())
                    if v > best_val:
                        best_val, state = v, copy.deepcopy(model.state_dict())
        if best is None or best_val > best[0]:
            best = (best_val, lr, state, model)
    best_val, lr, state, model = best
    if state is not None:
        model.load_state_dict(state)
    correct = accuracy(model, test).numpy()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return RunResult(score=float(correct.mean()), steps=int(budget.steps), lr_grid=budget.lr_grid, lr=lr,
                     extra={"correct": correct, "val": best_val, "trainable": trainable})


def bootstrap_rank_agreement(scores: dict[str, float], correct: dict[str, list], *, replicates: int = 1000,
                             seed: int = 0, confidence: float = 0.95) -> tuple[float, float, float]:
    """Weighted Kendall τ of ``scores`` against accuracy, with a bootstrap interval over test images.

    ``correct[name]`` holds one boolean array per split (which held-out images the fine-tuned
    candidate got right; the same images for every candidate within a split). Accuracy is the
    mean over splits. Each replicate resamples the held-out images of every split with
    replacement (the same draw for all candidates: paired) and recomputes τ; the scores are held
    fixed. Returns ``(tau, low, high)``: the percentile interval.

    >>> rng = np.random.default_rng(0)
    >>> correct = {n: [rng.random(50) < p] for n, p in (("a", .9), ("b", .7), ("c", .5), ("d", .3))}
    >>> tau, low, high = bootstrap_rank_agreement({"a": 4, "b": 3, "c": 2, "d": 1}, correct)
    >>> low <= tau <= high and tau > 0.5
    True
    """
    names = [n for n in scores if n in correct and np.isfinite(scores[n])]
    accuracy = {n: float(np.mean([np.mean(c) for c in correct[n]])) for n in names}
    tau = rank_agreement({n: scores[n] for n in names}, accuracy)
    rng = np.random.default_rng(seed)
    n_splits = len(correct[names[0]])
    taus = []
    for _ in range(replicates):
        draws = [rng.integers(0, len(correct[names[0]][s]), len(correct[names[0]][s])) for s in range(n_splits)]
        acc = {n: float(np.mean([np.mean(np.asarray(correct[n][s])[draws[s]]) for s in range(n_splits)]))
               for n in names}
        taus.append(rank_agreement({n: scores[n] for n in names}, acc))
    taus = np.asarray(taus)
    taus = taus[np.isfinite(taus)]
    low, high = np.quantile(taus, [(1 - confidence) / 2, (1 + confidence) / 2])
    return tau, float(low), float(high)


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
    import torch

    from .models import evaluating

    tail = make_tail()
    x = torch.as_tensor(inputs)
    with evaluating(tail):
        return torch.cat([tail(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]).numpy()
