"""Checks for notebook 07's exercises."""
from __future__ import annotations

import numpy as np

from . import Experiment, Feedback, Forbidden, Quiz, categorical, draw_rng, is_unanswered, \
    outcome_with_tolerance, whole_number


def check_recommendation(answer, scores: dict[str, float], accuracies: dict[str, float]) -> Feedback:
    """The learner names the candidate a score ranks first (candidates whose scores print the
    same with three decimals are a tie: each is accepted)."""
    if is_unanswered(answer):
        return Feedback.unanswered("Not answered yet: set `choice` to a candidate's name (a key of the table).")
    if answer not in scores:
        return Feedback.incorrect(f"{answer!r} is not a candidate; choose one of {sorted(scores)}.")
    top = max(scores.values())
    if scores[answer] < top - 5e-4:
        return Feedback.incorrect(f"LogME gives {answer!r} {scores[answer]:.3f}, but another "
                                  "candidate scores higher.", "Higher LogME is better: take the maximum.")
    true_best = max(accuracies, key=accuracies.get)
    verdict = ("and it is also the most accurate after fine-tuning" if answer == true_best else
               f"but after fine-tuning {true_best!r} is more accurate ({accuracies[true_best]:.3f} vs "
               f"{accuracies[answer]:.3f}): a cheap score is a filter, not a verdict")
    return Feedback.correct(f"Yes, LogME recommends {answer!r}, {verdict}.")


LEEP = Quiz(
    "why_not_leep", 'Why can LEEP not score the truncated backbone "Lite0 block 8"?',
    options={
        "a": "LEEP needs the source model's class probabilities, and a truncated backbone has no source classifier",
        "b": "LEEP only works on text models, whose outputs are token probabilities rather than image class scores",
        "c": "LEEP requires the target labels to be the same classes as the source",
        "d": "LEEP needs a GPU to compute the source model's predictions on every target image, and this course runs on a CPU",
    },
    answer="a",
    praise="Right: LEEP reads the source head's softmax over its own classes; features from the middle of a "
           "network have no such head, so only LogME, kNN and probes can score them.",
    reasons={
        "b": "No: LEEP was introduced for image classifiers; it only needs class probabilities.",
        "c": "No: LEEP learns the mapping P(target class | source class) from the data; the classes can differ.",
        "d": "No: it is a few matrix sums, instantaneous on a CPU.",
    })
LEEP_QUIZ = LEEP.options
check_leep_quiz = LEEP.check


def _cases(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """Two random cases: θ (n, Z) source probabilities and y (n,) target labels, every one of
    the K target classes present."""
    cases = []
    for _ in range(2):
        n, z, k = int(rng.integers(20, 41)), int(rng.integers(3, 7)), int(rng.integers(2, 5))
        theta = rng.dirichlet(np.full(z, 0.5), size=n)
        y = rng.integers(0, k, n)
        y[:k] = np.arange(k)
        cases.append((theta, y))
    return cases


def _leep_variants(theta, y) -> dict[str, float]:
    """The right answer and the usual slips, to name the slip in the feedback."""
    joint = np.stack([theta[y == c].sum(0) for c in range(y.max() + 1)]) / len(y)   # P(y, z)
    given_z = joint / joint.sum(0, keepdims=True)                                 # P(y | z)
    given_y = joint / joint.sum(1, keepdims=True)                                 # P(z | y): a slip
    eep = np.einsum("nz,nz->n", theta, given_z[y])
    return {"right": float(np.mean(np.log(eep))),
            "P(z|y)": float(np.mean(np.log(np.einsum("nz,nz->n", theta, given_y[y])))),
            "no log": float(np.mean(eep)),
            "log of mean": float(np.log(np.mean(eep)))}


LEEP_FUNCTIONS = Forbidden(
    "the course's LEEP",
    ("course_lib.transferability.leep",),
    hint="Write it with NumPy only: a K × Z table of sums of θ's rows per target class, a "
         "division, a row lookup, a log and a mean.")
"""What ``my_leep`` may not call (the reference to compare with afterwards)."""


def check_leep(my_leep) -> Feedback:
    """The learner implements LEEP(θ, y) with NumPy; compared with an independent computation
    (and its usual slips) on random data. Calling the course's ``transferability.leep`` does
    not pass: the check notices it and says so."""
    if is_unanswered(my_leep):
        return Feedback.unanswered("Not answered yet: define `my_leep(theta, y)` and run the cell again.")
    for theta, y in _cases(draw_rng()):
        result, problem = LEEP_FUNCTIONS.call(my_leep, theta.copy(), y.copy())
        if problem is not None:
            return problem
        try:
            value = float(result)
        except (TypeError, ValueError):
            return Feedback.incorrect(f"`my_leep` should return one number, got {type(result).__name__}.",
                                      "Average the per-image log values with `np.mean(...)` and return it.")
        variants = _leep_variants(theta, y)
        if np.isclose(value, variants["right"], rtol=1e-6, atol=1e-9):
            continue
        slips = {
            "P(z|y)": ("You normalised the joint table over the source classes, giving "
                       "P(z | y) instead of P(y | z).",
                       "Which axis of the joint table holds the target classes?"),
            "no log": ("You averaged the expected empirical predictions without taking the log.",
                       "LEEP averages logarithms."),
            "log of mean": ("You took the log of the mean; LEEP is the mean of the logs.",
                            "Take the log of each image's value first, then average."),
        }
        for key, (message, hint) in slips.items():
            if np.isclose(value, variants[key], rtol=1e-6, atol=1e-9):
                return Feedback.incorrect(message, hint)
        if value > 0:
            return Feedback.incorrect("Your LEEP is positive: it is an average of logarithms of "
                                      "probabilities, so it is never above 0.")
        return Feedback.incorrect(f"On a random case ({len(y)} images, {theta.shape[1]} source "
                                  f"and {y.max() + 1} target classes) your LEEP differs from the "
                                  "definition.",
                                  "Check each step on a tiny case by hand: the joint table, the "
                                  "conditional, each image's expected prediction, the mean log.")
    return Feedback.correct("Your LEEP matches on random cases: a few matrix sums turn a source "
                            "classifier into a transferability score.")


K_ALL = 40
"""Labelled images per class that the notebook's scores saw (their τ is on screen)."""
TAU_TOLERANCE = 0.05
"""Within this much of LogME's τ with :data:`K_ALL`, the outcome is "about the same"."""

_k_score_problem = whole_number("k_score", 3, K_ALL, " (each split holds 40 per class)")


def _tau_outcome(settings: dict, measured: dict) -> set[str]:
    return outcome_with_tolerance(measured["tau_few"] - measured["tau_all"], TAU_TOLERANCE)


def _describe_tau(settings: dict, measured: dict) -> str:
    few, full = measured["tau_few"], measured["tau_all"]
    return (f"With {settings['k_score']} labels per class LogME's τ is {few:+.2f}, with "
            f"{K_ALL} it was {full:+.2f} (a change of {few - full:+.2f})")


SCORE_LABELS = Experiment(
    "score_labels", settings=("k_score",), options=("higher", "lower", "about the same"),
    unchanged={"k_score": K_ALL}, validate=_k_score_problem,
    judge=categorical(
        _tau_outcome, _describe_tau,
        if_wrong="Look at which candidates swap places in the ranking: are they far apart in "
                 "fine-tuned accuracy, or within noise of each other?",
        next_step="Try another k_score; remember that one task and 6 candidates make τ jumpy."),
    hint="Think about how well a few examples per class pin down LogME's evidence compared "
         "with 40.")
"""Exercise 4 (change it and predict): LogME's τ with ``k_score`` labels per class against its
τ with :data:`K_ALL`; "about the same" means within :data:`TAU_TOLERANCE` (near that boundary,
both readings are right)."""


@SCORE_LABELS.measures(costly=True)
def score_labels_experiment(features: dict, y, trials: dict, accuracy: dict, splits,
                            k_score: int) -> dict:
    """Exercise 4's measurement: for every split, LogME (``transferability.logme``) of each
    candidate of ``accuracy`` on ``k_score`` images per class of the split's training part
    (``data.k_per_class``) and on all of it; the weighted τ of the split-averaged scores with
    the fine-tuned accuracies (``transferability.rank_agreement``) for each; recorded for
    :data:`SCORE_LABELS`. Runs only after a prediction for the same ``k_score``."""
    from .. import data
    from .. import transferability as tr

    if (problem := _k_score_problem({"k_score": k_score})) is not None:
        raise ValueError(problem)

    def tau(k: int | None) -> float:
        scores = {name: [] for name in accuracy}
        for seed in splits:
            train = trials[seed]["train"]
            part = train if k is None else data.k_per_class(y, k, seed=seed, pool=train)
            for name in scores:
                scores[name].append(tr.logme(features[name][part], y[part]))
        return tr.rank_agreement({n: float(np.mean(v)) for n, v in scores.items()}, accuracy)

    return {"tau_few": tau(k_score), "tau_all": tau(None)}


# --------------------------------------------------------------------------- model solutions
# Shown on request with course_lib.exercises.show_solution(...); never run by the notebook.

def solution_recommendation(scores: dict[str, float]) -> str:
    """Exercise 1: the candidate LogME ranks first is the one with the highest score."""
    return max(scores, key=scores.get)


def solution_leep(theta, y):
    """Exercise 3: LEEP from source probabilities theta (n, Z) and target labels y (n,)."""
    import numpy as np

    joint = np.stack([theta[y == c].sum(0) for c in range(y.max() + 1)]) / len(y)   # P(y, z)
    conditional = joint / joint.sum(0, keepdims=True)                              # P(y | z)
    eep = (theta * conditional[y]).sum(1)                                          # EEP_i
    return np.log(eep).mean()


def solution_score_labels_prediction(k_score):
    """Exercise 4: a model prediction for LogME's τ on digits with ``k_score`` labels per class,
    recorded in its own cell (``nb07.SCORE_LABELS.predict(prediction, k_score=k_score)``).

    With fewer labelled images each candidate's evidence is estimated from fewer rows, so
    candidates that are close after fine-tuning (Lite0's block 8 and block 3, the digits CNN and
    raw pixels) can swap places, and weighted τ, which weighs the top of the ranking most,
    drops; the untrained network stays last. In the notebook's run, half the labels (20 per
    class) order the candidates as 40 do; 10 or fewer do not.
    """
    return "about the same" if k_score >= 20 else "lower"
