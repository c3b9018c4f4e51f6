"""Checks and model solutions for notebook 10's exercises.

A notebook never runs a ``solution_*`` function; the learner prints one with
``show_solution(nb10.solution_...)`` when they want it. The tests run them.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import Experiment, Feedback, Forbidden, Quiz, categorical, draw_rng, is_unanswered, \
    outcome_with_tolerance


# --------------------------------------------------------------------------- exercise 1

def check_skipped_load(dataset, expected_images: int, expected_classes: list[str]) -> Feedback:
    """The learner reads the messy folder with unreadable files skipped and passes the result."""
    if is_unanswered(dataset):
        return Feedback.unanswered("Not answered yet: set `clean` to what photos.load_folder returns.",
                                   'Pass on_bad="skip" so unreadable files are left out with a warning.')
    if not hasattr(dataset, "classes") or not hasattr(dataset, "images"):
        return Feedback.incorrect(f"Expected the PhotoSet that photos.load_folder returns, got "
                                  f"{type(dataset).__name__}.")
    if list(dataset.classes) != list(expected_classes):
        return Feedback.incorrect(f"Your set's classes are {list(dataset.classes)}: not the "
                                  "folder's classes with photos in them.",
                                  "Load the folder that has one sub-folder per class.")
    if len(dataset) != expected_images:
        side = "more" if len(dataset) > expected_images else "fewer"
        return Feedback.incorrect(f"{len(dataset)} photos loaded: {side} than the readable ones.",
                                  "Skip the bad files, keep every readable photo (grey, CMYK, 16-bit, "
                                  "palette and animated ones too).")
    return Feedback.correct(f"Right: {len(dataset)} readable photos kept; the unreadable ones were named "
                            "in a warning and left where they are.")


def solution_skipped_load(messy):
    from course_lib import photos

    clean = photos.load_folder(messy, photos.Preprocess(32), on_bad="skip")
    return clean


# --------------------------------------------------------------------------- exercise 2

POOR_ACCURACY = Quiz(
    "first_step", "Validation accuracy is poor. What do you do first?",
    options={
        "a": "switch to a bigger pretrained model straight away, since a larger ImageNet model usually gives better features",
        "b": "look at the worst validation photos, their labels and the preprocessing first",
        "c": "train for many more epochs",
        "d": "remove the validation set so there is more training data",
    },
    answer="b",
    praise=("Yes: most poor results are data problems (mislabelled or ambiguous photos, wrong preprocessing, "
        "leakage or a domain gap). Looking costs minutes."),
    reasons={
        "a": "Maybe later; but a bigger model does not fix wrong labels, a wrong normalisation, or a class "
             "imbalance, and it costs much more. Look first.",
        "c": "With a validation set keeping the best step, more steps mostly means more overfitting.",
        "d": "Then you could no longer tell whether anything you change helps.",
    })
POOR_ACCURACY_QUIZ = POOR_ACCURACY.options
check_first_step = POOR_ACCURACY.check


def solution_first_step():
    first_step = "b"   # look at the worst validation photos (and labels, preprocessing) first
    return first_step


# --------------------------------------------------------------------------- exercise 3

def _cases(rng: np.random.Generator) -> list[np.ndarray]:
    """Three random confusion matrices (2 to 5 classes), every class with at least one photo."""
    cases = []
    for _ in range(3):
        k = int(rng.integers(2, 6))
        cm = rng.integers(0, 12, (k, k))
        cm[np.arange(k), np.arange(k)] += rng.integers(1, 10, k)
        cases.append(cm)
    return cases


RECALL = Forbidden(
    "a library metric",
    ("course_lib.interpret.per_class_metrics", "course_lib.interpret.report",
     "sklearn.metrics.recall_score", "sklearn.metrics.precision_recall_fscore_support",
     "sklearn.metrics.classification_report", "sklearn.metrics.balanced_accuracy_score"),
    hint="Rows of cm are the true classes: read row i.")
"""What ``recall_of`` may not call."""


def check_recall(recall_of: Callable[[Any, int], float]) -> Feedback:
    """The learner's ``recall_of(cm, i)``: of the photos of class ``i``, the share found."""
    if is_unanswered(recall_of):
        return Feedback.unanswered("Not answered yet: define `recall_of(cm, i)`.",
                                   "Rows of cm are true classes, columns predicted classes.")
    for cm in _cases(draw_rng()):
        values = []
        for i in range(len(cm)):
            value, problem = RECALL.call(recall_of, cm.copy(), i)
            if problem is not None:
                return problem
            try:
                values.append(float(value))
            except (TypeError, ValueError):
                return Feedback.incorrect(f"recall_of returned {value!r}, not a number.")
        values = np.array(values)
        rows, columns = cm.sum(1), cm.sum(0)
        expected = np.diag(cm) / rows
        with np.errstate(divide="ignore", invalid="ignore"):
            precision = np.diag(cm) / columns
        if np.allclose(values, expected, rtol=1e-9, atol=1e-12):
            continue
        # a mistake is named only when every class of the matrix shows it (a coincidence on one
        # class, say a constant that happens to equal one precision, is not that mistake)
        i = int(np.flatnonzero(~np.isclose(values, expected, rtol=1e-9, atol=1e-12))[0])
        case = f"For class {i} of a random {len(cm)}-class confusion matrix"
        if np.allclose(values, precision, rtol=1e-9, atol=1e-12, equal_nan=True):
            return Feedback.incorrect(
                f"{case} you returned its precision (divided by the column: the photos "
                "*predicted* as the class).",
                "Recall divides by all photos that truly are the class.")
        if np.allclose(values, np.diag(cm), rtol=1e-9):
            return Feedback.incorrect(f"{case} you returned a count, not a share.")
        if not 0 <= values[i] <= 1:
            return Feedback.incorrect(f"{case} your recall is not between 0 and 1.")
        return Feedback.incorrect(f"{case} your value is not its recall.",
                                  "Of the photos whose true class is i, which share did the "
                                  "model find?")
    return Feedback.correct("Right on random matrices: recall is the diagonal count over the row "
                            "sum. A class with high precision but low recall is one the model "
                            "rarely dares to predict.")


def solution_recall_of():
    def recall_of(cm, i):
        return cm[i, i] / cm[i].sum()     # row i: every photo whose true class is i
    return recall_of


# --------------------------------------------------------------------------- exercise 4

BLUR_OPTIONS = ("higher", "lower", "about the same")


BLUR_TOLERANCE = 0.05
"""Within this much of the accuracy at section 8's σ, the outcome is "about the same"."""


def _blur_problem(settings: dict) -> str | None:
    sigma, reference = settings["sigma"], settings["reference_sigma"]
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float, np.number)) or \
            not 0 < sigma <= 100:
        return f"`sigma_mine` must be a blur in pixels above 0 and at most 100, got {sigma!r}."
    if abs(float(sigma) - float(reference)) <= 1e-9 * max(1.0, abs(float(reference))):
        return (f"σ = {float(sigma):.1f} px is section 8's σ, whose result is already printed: "
                "nothing changed. Change `sigma_mine` first, then predict.")
    return None


def _blur_outcome(settings: dict, measured: dict) -> set[str]:
    return outcome_with_tolerance(measured["mine"] - measured["reference"], BLUR_TOLERANCE)


def _describe_blur(settings: dict, measured: dict) -> str:
    gap = measured["mine"] - measured["reference"]
    return (f"σ = {float(settings['sigma']):.1f} px: test accuracy {measured['mine']:.3f}, "
            f"against {measured['reference']:.3f} at σ = {float(settings['reference_sigma']):.1f}"
            f" px (a difference of {gap:+.3f})")


BLUR = Experiment(
    "blur", settings=("sigma", "reference_sigma"), options=BLUR_OPTIONS, validate=_blur_problem,
    judge=categorical(
        _blur_outcome, _describe_blur,
        if_wrong="Look at a blurred photo (section 8's images) at your σ: could you still name "
                 "the digit? The frozen features see roughly what you see.",
        next_step="Try a σ on the other side of section 8's."),
    hint="A larger σ averages each pixel with more of its neighbours: which details that tell "
         "a 3 from an 8 survive that?")
"""Exercise 4 (change it and predict): test accuracy at the learner's blur σ against section
8's σ (``reference_sigma``); "about the same" means within :data:`BLUR_TOLERANCE`. Choosing
section 8's σ itself is "no change", read from the settings."""


@BLUR.measures(costly=True)
def blur_experiment(blurred_accuracy: Callable[[float], float], sigma: float,
                    reference_sigma: float) -> dict:
    """Exercise 4's measurement: the notebook's ``blurred_accuracy`` (the head's test accuracy
    on the test photos blurred with σ) at ``sigma`` and at ``reference_sigma``; recorded for
    :data:`BLUR`. Runs only after a prediction for the same σ."""
    settings = {"sigma": sigma, "reference_sigma": reference_sigma}
    if (problem := _blur_problem(settings)) is not None:
        raise ValueError(problem)
    return {"mine": float(blurred_accuracy(sigma)),
            "reference": float(blurred_accuracy(reference_sigma))}


def solution_blur_prediction(sigma: float, reference_sigma: float):
    """A model prediction, recorded in its own cell before the measuring one
    (``nb10.BLUR.predict(prediction, sigma=sigma_mine, reference_sigma=sigma)``). More blur
    removes more of the strokes that tell the digits apart, so accuracy falls; less blur keeps
    them, so accuracy rises back towards the unblurred photos'. Within about ±30 % of the
    reference σ the change is usually within 0.05."""
    if sigma > 1.3 * reference_sigma:
        return "lower"
    if sigma < reference_sigma / 1.3:
        return "higher"
    return "about the same"
