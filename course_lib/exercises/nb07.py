"""Checks for notebook 07's exercises."""
from __future__ import annotations

import contextlib
import sys

import numpy as np

from . import Feedback, Quiz, call_learner_code, check_prediction, is_unanswered


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


@contextlib.contextmanager
def _watching_library_leep():
    """Record whether the course's own ``transferability.leep`` runs inside the block.

    Watches the function's code object (not its name), so an alias
    (``from course_lib.transferability import leep as L``) or ``getattr`` is seen too.

    >>> from course_lib import transferability as tr
    >>> with _watching_library_leep() as ran:
    ...     _ = tr.leep(np.full((4, 2), 0.5), np.array([0, 1, 0, 1]))
    >>> ran
    [True]
    """
    from course_lib import transferability

    target, ran, previous = transferability.leep.__code__, [], sys.getprofile()

    def profile(frame, event, arg):
        if event == "call" and frame.f_code is target and not ran:
            ran.append(True)
        if previous is not None:
            previous(frame, event, arg)

    sys.setprofile(profile)
    try:
        yield ran
    finally:
        sys.setprofile(previous)


def check_leep(my_leep) -> Feedback:
    """The learner implements LEEP(θ, y) with NumPy; compared with an independent computation
    (and its usual slips) on random data. Calling the course's ``transferability.leep`` does
    not pass: the check notices it and says so."""
    if is_unanswered(my_leep):
        return Feedback.unanswered("Not answered yet: define `my_leep(theta, y)` and run the cell again.")
    with _watching_library_leep() as ran:
        call_learner_code(my_leep, *_leep_case(0))
    if ran:
        return Feedback.incorrect(
            "Your function calls the course's `transferability.leep`, the very score this exercise "
            "asks you to write, so the check cannot tell whether your own version works. "
            "Nice find, though: it is the reference you can compare with afterwards.",
            "Write it with NumPy only: a K × Z table of sums of θ's rows per target class, "
            "a division, a row lookup, a log and a mean.")
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


def check_score_labels_prediction(prediction, k_score: int, tau_few: float, tau_all: float,
                                  tolerance: float = 0.05) -> Feedback:
    """Change-and-predict: LogME's τ with ``k_score`` labels per class against its τ with 40.

    ``prediction`` ("higher", "lower" or "about the same"; written before running) is compared
    with the learner's own measurement ``tau_few``; "about the same" means within ``tolerance``.
    """
    change = float(tau_few) - float(tau_all)
    return check_prediction(
        prediction, options=("higher", "lower", "about the same"),
        measured=("about the same" if abs(change) <= tolerance else
                  "higher" if change > 0 else "lower"),
        result=(f"With {k_score} labels per class LogME's τ is {tau_few:+.2f}, with 40 it was "
                f"{tau_all:+.2f} (a change of {change:+.2f})"),
        before_running="Think about how well 5 examples per class pin down LogME's evidence "
                       "compared with 40.",
        if_wrong="Look at which candidates swap places in the ranking: are they far apart in "
                 "fine-tuned accuracy, or within noise of each other?",
        next_step="Try another k_score; remember that one task and 6 candidates make τ jumpy.")


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
    """Exercise 4: a model prediction for LogME's τ on digits with ``k_score`` labels per class.

    With fewer labelled images each candidate's evidence is estimated from fewer rows, so
    candidates that are close after fine-tuning (Lite0's block 8 and block 3, the digits CNN and
    raw pixels) can swap places, and weighted τ, which weighs the top of the ranking most,
    drops; the untrained network stays last. In the notebook's run, half the labels (20 per
    class) order the candidates as 40 do; 10 or fewer do not.
    """
    return "about the same" if k_score >= 20 else "lower"
