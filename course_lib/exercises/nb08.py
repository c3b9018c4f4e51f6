"""Checks for notebook 08's exercises."""
from __future__ import annotations

import numpy as np

from . import (Experiment, Feedback, Quiz, call_for_number, categorical, draw_rng,
               whole_number)


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


K_OPTIONS = ("raw pixels better", "imagenet final better", "no detectable difference")
K_SHOWN = (1, 5, 10)
"""The k of section 2's table: their verdicts are already on screen."""

_k_problem = whole_number("k", 1, 40, " (the arms take k more labels per class for validation)")


def _k_outcome(settings: dict, comparison) -> str:
    verdict = str(comparison.verdict)
    return "no detectable difference" if verdict.startswith("no detectable") else verdict.lower()


K_VERDICT = Experiment(
    "k_verdict", settings=("k",), options=K_OPTIONS, validate=_k_problem,
    shown=[{"k": k} for k in K_SHOWN],
    judge=categorical(
        _k_outcome, lambda s, comparison: f"at k = {s['k']}, {comparison}",
        if_wrong="Compare the interval with the ones printed for k = 1, 5, 10 above: which way "
                 "does the gap move as k grows?",
        next_step="Try a k on the other side."),
    hint="Does more labelled data help the 64 raw pixels or the 1,280 features more?")
"""Exercise 2 (change k and predict): the verdict of "ImageNet final" against "raw pixels" at
the learner's k, on the notebook's paired seeds."""


@K_VERDICT.measures(costly=True)
def k_experiment(features: dict, labels, k: int, seeds, budget):
    """Exercise 2's measurement: k labels per class to train and k more to pick C on
    (``compare.trials_by_seed``), a convex head on "ImageNet final" and on "raw pixels" for each
    seed (``compare.convex_arm``, ``compare.run_paired``), and their paired comparison;
    recorded for :data:`K_VERDICT`. Runs only after a prediction for the same k."""
    from .. import compare

    if (problem := _k_problem({"k": k})) is not None:
        raise ValueError(problem)
    trials = compare.trials_by_seed(labels, k, seeds, val_per_class=k)
    pair = {name: compare.convex_arm(features[name], labels, trials)
            for name in ("ImageNet final", "raw pixels")}
    return compare.compare_results(compare.run_paired(pair, seeds, budget),
                                   "ImageNet final", "raw pixels")


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
    """Exercise 2: a model prediction for "ImageNet final" against "raw pixels" at ``k``, made
    in the prediction cell with ``nb08.K_VERDICT.predict("raw pixels better", k=k)``.

    64 pixel values of a centred, size-normalised 8×8 scan are already good features for a
    linear model; 1,280 features of a photo network that never saw digits are not better
    ones, and more labels help both. Measured with the notebook's 10 seeds at 32 px (k to
    train and k more to pick C on validation): raw pixels better at every k tried (1, 2, 3, 5,
    10, 20, 30, 40); the gap shrinks from 0.14–0.20 (k ≤ 10) to 0.13 (k = 20) and 0.11
    (k = 30, 40) but its interval never reaches zero.
    """
    return "raw pixels better"
