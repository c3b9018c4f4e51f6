"""Checks and model solutions for notebook 01's exercises.

>>> solution_images_for_budget(10, 5, 2)
3600
>>> bool(check_images_for_budget(solution_images_for_budget))
True
"""
from __future__ import annotations

import math

from . import Feedback, Quiz, call_learner_code, is_unanswered


def check_images_for_budget(images_for_budget) -> Feedback:
    """The learner writes images_for_budget(person_hours, seconds_per_label, annotators)."""
    cases = [(10, 5, 1), (100, 30, 3), (1, 7, 2)]
    for args in cases:
        hours, seconds, annotators = args
        expected = math.floor(hours * 3600 / (seconds * annotators))
        result, problem = call_learner_code(images_for_budget, *args)
        if problem is not None:
            return problem
        try:
            value = float(result)
        except (TypeError, ValueError):
            return Feedback.incorrect(f"images_for_budget{args} returned {result!r}, not a number.")
        if value == expected:
            continue
        exact = hours * 3600 / (seconds * annotators)
        if abs(value - exact) < 1e-9 * max(1, exact):
            return Feedback.incorrect(f"images_for_budget{args} = {value:.2f}: a budget buys whole "
                                      "images only.", "Round down: a half-labelled image is "
                                      "not labelled.")
        if abs(value - math.floor(hours * 3600 / seconds)) < 1e-9 and annotators != 1:
            return Feedback.incorrect(f"images_for_budget{args} = {value:.0f}: you ignored the "
                                      "annotators.", "Every image costs each annotator's time.")
        if abs(value - math.floor(hours / (seconds * annotators))) < 1e-9 or \
                abs(value - math.floor(hours * 60 / (seconds * annotators))) < 1e-9:
            return Feedback.incorrect(f"images_for_budget{args} = {value:g}: the budget is in "
                                      "hours, the labelling time in seconds.",
                                      "Convert the budget to seconds first.")
        if value == math.ceil(exact) and value != expected:
            return Feedback.incorrect(f"images_for_budget{args} = {value:.0f}: one image too many, "
                                      "the budget runs out before the last one is done.",
                                      "Round down, not up.")
        return Feedback.incorrect(f"images_for_budget{args} returned {value:g}, expected "
                                  f"{expected}.", "Seconds available ÷ seconds each image costs.")
    return Feedback.correct("Correct: a 100-hour budget at 30 s and 3 annotators per image "
                            f"labels {math.floor(100 * 3600 / 90):,} images.")


def solution_images_for_budget(person_hours, seconds_per_label, annotators_per_image):
    """Model answer: seconds available ÷ seconds one image costs, rounded down."""
    seconds_available = person_hours * 3600
    seconds_per_image = seconds_per_label * annotators_per_image
    return math.floor(seconds_available / seconds_per_image)


def check_matching_k(answer, stats: dict, threshold: float = 0.85,
                     baseline_name: str = "raw pixels") -> Feedback:
    """Smallest k at which the baseline's mean accuracy reaches ``threshold``."""
    if is_unanswered(answer):
        return Feedback.unanswered("Not answered yet: set `matching_k` to a number of labels "
                                   "per class.", "Look at the table of mean accuracies printed "
                                   "above.")
    ks = sorted(k for (name, k) in stats if name == baseline_name)
    reached = [k for k in ks if stats[(baseline_name, k)] >= threshold]
    expected = reached[0] if reached else None
    if expected is None:
        if str(answer).lower() in ("never", "none"):
            return Feedback.correct(f"Right: within the k measured the {baseline_name} never "
                                    f"reach {threshold}.")
        return Feedback.incorrect(f"The {baseline_name} never reach {threshold} for any k "
                                  "measured.", "Read the whole column, up to the largest k.")
    if answer == expected:
        return Feedback.correct(f"Yes: the {baseline_name} need k = {expected} labels per class "
                                f"to reach {threshold} (mean "
                                f"{stats[(baseline_name, expected)]:.3f}).")
    if isinstance(answer, (int, float)) and answer in ks:
        got = stats[(baseline_name, answer)]
        if got < threshold:
            return Feedback.incorrect(f"At k = {answer} the {baseline_name} reach {got:.3f}, "
                                      f"still below {threshold}.", "Try a larger k.")
        return Feedback.incorrect(f"At k = {answer} the {baseline_name} do reach {got:.3f}, "
                                  "but a smaller k already does.", "We want the smallest such k.")
    return Feedback.incorrect(f"{answer!r} is not one of the k values measured: {ks}.")


def solution_matching_k(stats, ks=(1, 2, 5, 10, 20)):
    """Model answer: scan k upwards and stop at the first mean accuracy ≥ 0.85."""
    for k in ks:
        if stats["raw pixels", k] >= 0.85:
            return k
    return "never"


WHY = Quiz(
    "why", "Why do the pretrained features win so clearly with one or two labels per class?",
    options={
        "a": "The pretrained network has seen these exact photos before.",
        "b": "Its features already separate faces from non-faces, so two labelled points place the line well.",
        "c": "It has millions of parameters, and a model with more parameters always reaches higher "
             "accuracy on a small dataset.",
        "d": "Raw pixels cannot be used by logistic regression.",
    },
    answer="b",
    praise="Yes. Pretraining moved the hard part, learning what to look at, onto a large labelled source "
           "dataset; your few labels only have to draw a line.",
    reasons={
        "a": "No: lfw_subset is not part of ImageNet, and nothing was fitted on these photos before the classifier.",
        "c": "No: the classifier on top is the same logistic regression in both cases; only the input features "
             "differ. And more parameters with few labels usually means more overfitting.",
        "d": "No: the pixel model is exactly that, logistic regression on 625 pixel values, and it reaches "
             "high accuracy with enough labels.",
    })
QUIZ_WHY = WHY.options
check_why = WHY.check


def solution_why():
    """Model answer. The classifier is the same logistic regression on both inputs, and these
    photos were never used for pretraining: the difference is the space the photos live in.
    In ImageNet features, faces already sit apart from non-faces, so one or two labelled
    points per class place the separating line well; in pixel space they do not."""
    return "b"


def check_gap_prediction(predicted_gap, k: int, rows: list[dict], tolerance: float = 0.05,
                         names=("pretrained features", "raw pixels")) -> Feedback:
    """Change-and-predict: the learner predicts the mean accuracy gap (pretrained − pixels) at
    their own ``k``, then ``rows`` (from ``label_efficiency`` at that k) give the measured gap."""
    if is_unanswered(predicted_gap):
        return Feedback.unanswered(
            "Not answered yet: before running, set `predicted_gap` to a number, e.g. 0.1.",
            "Read the gaps at the k values in the table above and place your k among them.")
    try:
        guess = float(predicted_gap)
    except (TypeError, ValueError):
        return Feedback.incorrect(f"Expected a number (an accuracy difference), got "
                                  f"{predicted_gap!r}.")
    if guess > 1 or guess < -1:
        return Feedback.incorrect(f"{guess:g} is not an accuracy difference: accuracies are "
                                  "between 0 and 1, so the gap is between −1 and 1.",
                                  "0.1 means ten percentage points.")
    means = {}
    for name in names:
        values = [r["accuracy"] for r in rows if r["name"] == name and r["k"] == k]
        if not values:
            return Feedback.incorrect(f"No measurement for {name!r} at k = {k}: run the whole "
                                      "cell, including the `label_efficiency` line.")
        means[name] = sum(values) / len(values)
    gap = means[names[0]] - means[names[1]]
    said = (f"Measured at k = {k}: {names[0]} {means[names[0]]:.3f}, {names[1]} "
            f"{means[names[1]]:.3f}, a gap of {gap:+.3f}; you predicted {guess:+.3f}")
    if abs(guess - gap) <= tolerance:
        return Feedback.correct(f"{said}. Within {tolerance}: a good prediction.")
    hint = ("The gap shrinks as k grows: place your k between the table's neighbours."
            if guess < gap else
            "Pixels catch up with more labels: at larger k the gap is smaller than at k = 1.")
    return Feedback.incorrect(f"{said}: off by more than {tolerance}.", hint)


def solution_gap_prediction(k, stats, ks=(1, 2, 5, 10, 20)):
    """A model prediction: interpolate the measured gap between the two nearest k in the table
    (linear in log k, since the curves flatten as k grows); beyond the table, keep the last gap."""
    import math

    gap = {m: stats["pretrained features", m] - stats["raw pixels", m] for m in ks}
    if k <= ks[0]:
        return gap[ks[0]]
    if k >= ks[-1]:
        return gap[ks[-1]]
    lo = max(m for m in ks if m <= k)
    hi = min(m for m in ks if m >= k)
    if lo == hi:
        return gap[lo]
    t = (math.log(k) - math.log(lo)) / (math.log(hi) - math.log(lo))
    return gap[lo] + t * (gap[hi] - gap[lo])
