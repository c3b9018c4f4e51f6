"""Checks for notebook 08's exercises."""
from __future__ import annotations

from . import Feedback, Quiz, call_for_number


def check_transfer_gap(transfer_gap) -> Feedback:
    """The learner writes transfer_gap(acc_with_source, acc_without_source) = R_with − R_without,
    with risk R = 1 − accuracy: positive means negative transfer."""
    cases = [((0.6, 0.8), 0.2), ((0.9, 0.7), -0.2), ((0.5, 0.5), 0.0)]
    for args, expected in cases:
        value, problem = call_for_number(transfer_gap, *args, name="transfer_gap")
        if problem is not None:
            return problem
        if abs(value - expected) < 1e-9:
            continue
        if abs(value + expected) < 1e-9:
            return Feedback.incorrect(f"transfer_gap{args} = {value:+.2f}: the sign is flipped.",
                                      "Risk with the source minus risk without; risk = 1 − accuracy.")
        return Feedback.incorrect(f"transfer_gap{args} = {value}, expected {expected:+.2f}.",
                                  "Convert accuracies to risks (1 − accuracy) before subtracting.")
    return Feedback.correct("Correct: a positive gap (higher risk with the source) is negative transfer.")


REMEDY = Quiz(
    "remedy", "Your frozen pretrained features give lower accuracy than a simple baseline on the target. "
              "What do you try first?",
    options={
        "a": "freeze more of the pretrained network, so its features are kept intact",
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
