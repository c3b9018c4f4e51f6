"""Checks for notebook 08's exercises."""
from __future__ import annotations

import numpy as np

from . import Feedback, Quiz, call_for_number, draw_rng, is_unanswered


def _cases(rng: np.random.Generator) -> list[tuple[float, float]]:
    """Four random pairs of accuracies (with source, without): better, worse, and a tie."""
    a, b = rng.uniform(0.3, 0.99, 2)
    pairs = [(float(max(a, b)), float(min(a, b))), (float(min(a, b)), float(max(a, b)))]
    c = float(rng.uniform(0.3, 0.99))
    pairs.append((c, c))
    pairs.append(tuple(float(v) for v in rng.uniform(0.0, 1.0, 2)))
    return pairs


def check_transfer_gap(transfer_gap) -> Feedback:
    """The learner writes transfer_gap(acc_with_source, acc_without_source) = R_with − R_without,
    with risk R = 1 − accuracy: positive means negative transfer. Four random pairs per call."""
    for args in _cases(draw_rng()):
        expected = (1 - args[0]) - (1 - args[1])
        value, problem = call_for_number(transfer_gap, *args, name="transfer_gap")
        if problem is not None:
            return problem
        if abs(value - expected) < 1e-9:
            continue
        case = ("the source helped" if args[0] > args[1] else "the source hurt" if args[0] < args[1]
                else "both accuracies are equal")
        if abs(value + expected) < 1e-9:
            return Feedback.incorrect(f"When {case}, your gap has the wrong sign (subtracting "
                                      "accuracies instead of risks flips it).",
                                      "Risk with the source minus risk without; risk = 1 − accuracy.")
        return Feedback.incorrect(f"When {case}, your gap is off.",
                                  "Convert accuracies to risks (1 − accuracy) before subtracting.")
    return Feedback.correct("Correct on random pairs: a positive gap (higher risk with the "
                            "source) is negative transfer.")


def check_k_prediction(prediction, comparison) -> Feedback:
    """Change-and-predict: the verdict of "ImageNet final" against "raw pixels" at the learner's k.

    ``prediction`` (written before running) is compared with the verdict of ``comparison``,
    the learner's own paired comparison (:func:`course_lib.compare.paired_comparison`).
    """
    options = ("ImageNet final better", "raw pixels better", "no detectable difference")
    if is_unanswered(prediction):
        return Feedback.unanswered(
            'Not answered yet: before running, set `prediction` to "raw pixels better", '
            '"ImageNet final better" or "no detectable difference".',
            "Does more labelled data help the 64 raw pixels or the 1,280 features more?")
    answer = str(prediction).strip()
    if answer.lower() not in [o.lower() for o in options]:
        return Feedback.incorrect(f"{prediction!r} is not an option: {', '.join(options)}.")
    verdict = getattr(comparison, "verdict", None)
    if not isinstance(verdict, str):
        return Feedback.incorrect("The check needs the comparison your cell measured: pass "
                                  "`compare.paired_comparison(...)`'s result, not a number.")
    measured = "no detectable difference" if verdict.startswith("no detectable") else verdict
    if answer.lower() == measured.lower():
        return Feedback.correct(f"Your prediction held: {comparison}. Try a k on the other side.")
    return Feedback.incorrect(f"Measured: {comparison}. Not what you predicted.",
                              "Compare the interval with the ones printed for k = 1 … 10 above: "
                              "which way does the gap move as k grows?")


REMEDY = Quiz(
    "remedy", "Your frozen pretrained features give lower accuracy than a simple baseline on the target. "
              "What do you try first?",
    options={
        "a": "freeze more of the pretrained network, so that its general features are kept intact and the small target set cannot overwrite them",
        "b": "let the transferred layers fine-tune (or copy fewer of them), and compare with a no-transfer baseline",
        "c": "train for more epochs with the same frozen features",
        "d": "increase the learning rate of the frozen layers",
    },
    answer="b",
    praise="Yes: letting the copied layers adapt (or copying only the general, early ones) recovers the loss, "
           "and the baseline tells you whether transfer helps at all.",
    reasons={
        "a": "Freezing more keeps exactly the features that do not fit the target; the layer-transfer plot "
             "shows frozen deep blocks hurting most.",
        "c": "More epochs cannot fix features that do not separate the target classes; the head is already at its best.",
        "d": "Frozen layers have no learning rate: they are not updated at all. Unfreeze them first.",
    })
REMEDY_QUIZ = REMEDY.options
check_remedy = REMEDY.check


# --------------------------------------------------------------------------- model solutions
# Shown on request with course_lib.exercises.show_solution(...); never run by the notebook.

def solution_transfer_gap(acc_with_source, acc_without_source):
    """Exercise 1: R_T(with source) − R_T(without), with risk = 1 − accuracy."""
    return (1 - acc_with_source) - (1 - acc_without_source)


def solution_k_prediction(k):
    """Exercise 2: a model prediction for "ImageNet final" against "raw pixels" at ``k``.

    64 pixel values of a centred, size-normalised 8×8 scan are already good features for a
    linear model; 1,280 features of a photo network that never saw digits are not better
    ones, and more labels help both. Measured with the notebook's 10 seeds at 32 px (k to
    train and k more to pick C on validation): raw pixels better at every k tried (1, 2, 3, 5,
    10, 20, 30, 40); the gap shrinks from 0.14–0.20 (k ≤ 10) to 0.13 (k = 20) and 0.11
    (k = 30, 40) but its interval never reaches zero.
    """
    return "raw pixels better"
