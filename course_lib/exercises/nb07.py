"""Checks for notebook 07's exercises."""
from __future__ import annotations

import numpy as np

from . import Feedback, Quiz, call_learner_code, is_unanswered


def check_recommendation(answer, scores: dict[str, float], accuracies: dict[str, float]) -> Feedback:
    """The learner names the candidate a score ranks first."""
    if is_unanswered(answer):
        return Feedback.unanswered("Not answered yet: set `choice` to a candidate's name (a key of the table).")
    if answer not in scores:
        return Feedback.incorrect(f"{answer!r} is not a candidate; choose one of {sorted(scores)}.")
    best = max(scores, key=scores.get)
    if answer != best:
        return Feedback.incorrect(f"LogME gives {answer!r} {scores[answer]:.3f}, but {best!r} scores higher "
                                  f"({scores[best]:.3f}).", "Higher LogME is better: take the maximum.")
    true_best = max(accuracies, key=accuracies.get)
    verdict = ("and it is also the most accurate after fine-tuning" if best == true_best else
               f"but after fine-tuning {true_best!r} is more accurate ({accuracies[true_best]:.3f} vs "
               f"{accuracies[best]:.3f}): a cheap score is a filter, not a verdict")
    return Feedback.correct(f"Yes, LogME recommends {best!r}, {verdict}.")


LEEP = Quiz(
    "why_not_leep", 'Why can LEEP not score the truncated backbone "Lite0 block 8"?',
    options={
        "a": "LEEP needs the source model's class probabilities, and a truncated backbone has no source classifier",
        "b": "LEEP only works on text",
        "c": "LEEP requires the target labels to be the same classes as the source",
        "d": "LEEP needs a GPU",
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


def _leep_case(seed: int):
    rng = np.random.default_rng(seed)
    theta = rng.dirichlet(np.full(4, 0.5), size=30)          # 30 images, 4 source classes
    y = rng.integers(0, 3, 30)
    y[:3] = [0, 1, 2]                                         # every target class present
    return theta, y


def _leep_variants(theta, y) -> dict[str, float]:
    """The right answer and the usual slips, to name the slip in the feedback."""
    joint = np.stack([theta[y == c].sum(0) for c in range(3)]) / len(y)       # P(y, z)
    given_z = joint / joint.sum(0, keepdims=True)                                 # P(y | z)
    given_y = joint / joint.sum(1, keepdims=True)                                 # P(z | y): a slip
    eep = np.einsum("nz,nz->n", theta, given_z[y])
    return {"right": float(np.mean(np.log(eep))),
            "P(z|y)": float(np.mean(np.log(np.einsum("nz,nz->n", theta, given_y[y])))),
            "no log": float(np.mean(eep)),
            "log of mean": float(np.log(np.mean(eep)))}


def check_leep(my_leep) -> Feedback:
    """The learner implements LEEP(θ, y) with NumPy; compared with the course's version on random data."""
    if is_unanswered(my_leep):
        return Feedback.unanswered("Not answered yet: define `my_leep(theta, y)` and run the cell again.")
    for seed in (0, 1):
        theta, y = _leep_case(seed)
        result, problem = call_learner_code(my_leep, theta.copy(), y.copy())
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
            "P(z|y)": ("You normalised the joint table over source classes, giving P(z | y).",
                       "Divide P(y, z) by P(z) = its sum over target classes (axis 0): P(y | z)."),
            "no log": ("You averaged the expected empirical predictions without taking the log.",
                       "LEEP is the mean of log(EEP): apply np.log before np.mean."),
            "log of mean": ("You took the log of the mean; LEEP is the mean of the logs.",
                            "np.mean(np.log(eep)), not np.log(np.mean(eep))."),
        }
        for key, (message, hint) in slips.items():
            if np.isclose(value, variants[key], rtol=1e-6, atol=1e-9):
                return Feedback.incorrect(message, hint)
        return Feedback.incorrect(f"On a random test case your LEEP is {value:.4f}, the expected value is "
                                  f"{variants['right']:.4f}.",
                                  "Build P(y, z) by summing θ's rows per target class and dividing by n; "
                                  "then P(y | z); then EEP_i = Σ_z θ_iz P(y_i | z).")
    return Feedback.correct("Your LEEP matches: a few matrix sums turn a source classifier into a transferability score.")


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
