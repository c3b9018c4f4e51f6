"""Checks and model solutions for notebook 01's exercises.

>>> solution_images_for_budget(10, 5, 2)
3600
>>> bool(check_images_for_budget(solution_images_for_budget))
True
"""
from __future__ import annotations

import math

import numpy as np

from . import Experiment, Feedback, Quiz, call_for_number, draw_rng, is_unanswered, number, \
    whole_number


def _cases(rng: np.random.Generator) -> list[tuple[int, int, int]]:
    """Five random budgets (person-hours, seconds per label, annotators per image) that do not
    divide evenly, so rounding matters in every case."""
    cases: list[tuple[int, int, int]] = []
    while len(cases) < 5:
        hours, seconds = int(rng.integers(1, 500)), int(rng.integers(2, 60))
        annotators = int(rng.integers(2, 6)) if cases else 1
        if (hours * 3600) % (seconds * annotators):
            cases.append((hours, seconds, annotators))
    return cases


def check_images_for_budget(images_for_budget) -> Feedback:
    """The learner writes images_for_budget(person_hours, seconds_per_label, annotators);
    tried on five random budgets per call."""
    for args in _cases(draw_rng()):
        hours, seconds, annotators = args
        expected = (hours * 3600) // (seconds * annotators)
        value, problem = call_for_number(images_for_budget, *args, name="images_for_budget")
        if problem is not None:
            return problem
        if value == expected:
            continue
        case = (f"For a budget of {hours} person-hours at {seconds} s per label and "
                f"{annotators} annotator{'s' if annotators > 1 else ''} per image")
        exact = hours * 3600 / (seconds * annotators)
        if abs(value - exact) < 1e-9 * max(1.0, exact):
            return Feedback.incorrect(f"{case} your number has a fraction: a budget buys whole "
                                      "images only.", "Round down: a half-labelled image is "
                                      "not labelled.")
        if value == math.ceil(exact):
            return Feedback.incorrect(f"{case} you count one image too many: the budget runs "
                                      "out before the last one is done.", "Round down, not up.")
        if annotators > 1 and abs(value - math.floor(hours * 3600 / seconds)) < 1e-9:
            return Feedback.incorrect(f"{case} you ignored the annotators.",
                                      "Every image costs each annotator's time.")
        if abs(value - math.floor(hours / (seconds * annotators))) < 1e-9 or \
                abs(value - math.floor(hours * 60 / (seconds * annotators))) < 1e-9:
            return Feedback.incorrect(f"{case} your number is far too small: the budget is in "
                                      "hours, the labelling time in seconds.",
                                      "Convert the budget to seconds first.")
        side = "too many" if value > expected else "too few"
        return Feedback.incorrect(f"{case} your function gives {side} images.",
                                  "Seconds available ÷ seconds each image costs.")
    return Feedback.correct("Right on five random budgets: whole images, rounded down.")


def solution_images_for_budget(person_hours, seconds_per_label, annotators_per_image):
    """Model answer: seconds available ÷ seconds one image costs, rounded down."""
    seconds_available = person_hours * 3600
    seconds_per_image = seconds_per_label * annotators_per_image
    return math.floor(seconds_available / seconds_per_image)


def check_matching_k(answer, stats: dict, threshold: float = 0.85,
                     baseline_name: str = "raw pixels") -> Feedback:
    """Smallest k at which the baseline's mean accuracy reaches ``threshold``. The table
    prints three decimals, so a mean that rounds to the threshold counts both ways."""
    if is_unanswered(answer):
        return Feedback.unanswered("Not answered yet: set `matching_k` to a number of labels "
                                   "per class.", "Look at the table of mean accuracies printed "
                                   "above.")
    ks = sorted(k for (name, k) in stats if name == baseline_name)
    exact = next((k for k in ks if stats[(baseline_name, k)] >= threshold), "never")
    printed = next((k for k in ks if round(stats[(baseline_name, k)], 3) >= threshold), "never")
    accepted = {exact, printed}
    said = str(answer).strip().lower() if isinstance(answer, str) else answer
    if said in ("never", "none"):
        said = "never"
    if said in accepted:
        if said == "never":
            return Feedback.correct(f"Right: within the k measured the {baseline_name} never "
                                    f"reach {threshold}.")
        return Feedback.correct(f"Yes: the {baseline_name} need k = {said} labels per class "
                                f"to reach {threshold} (mean {stats[(baseline_name, said)]:.3f}).")
    if said == "never":
        return Feedback.incorrect(f"The {baseline_name} do reach {threshold} at some k in the "
                                  "table.", "Read the whole column, up to the largest k.")
    if isinstance(said, (int, float)) and said in ks:
        got = stats[(baseline_name, said)]
        if got < threshold:
            return Feedback.incorrect(f"At k = {said} the {baseline_name} reach {got:.3f}, "
                                      f"still below {threshold}.", "Try a larger k.")
        return Feedback.incorrect(f"At k = {said} the {baseline_name} do reach {got:.3f}, "
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


TOLERANCE = 0.05
"""A predicted gap within this of the measured one is a good prediction (five points)."""


_gap_number = number("an accuracy difference", -1, 1,
                     outside="That is not an accuracy difference: accuracies are between 0 and 1, "
                             "so the gap is between −1 and 1 (0.1 means ten points).")
_k_problem = whole_number("k", 1, 50, " (the training half holds 50 photos per class)")


def _judge_gap(guess: float, settings: dict, measured: dict) -> Feedback:
    gap, k = measured["gap"], settings["k"]
    said = (f"measured at k = {k}: pretrained features {measured['pretrained features']:.3f}, "
            f"raw pixels {measured['raw pixels']:.3f}, a gap of {gap:+.3f}; you predicted "
            f"{guess:+.3f}")
    if abs(guess - gap) <= TOLERANCE + 1e-9:
        return Feedback.correct(f"{said[0].upper()}{said[1:]}. Within {TOLERANCE}: a good prediction.")
    hint = ("The gap shrinks as k grows: place your k between the table's neighbours."
            if guess < gap else
            "Pixels catch up with more labels: at larger k the gap is smaller than at k = 1.")
    return Feedback.incorrect(f"{said[0].upper()}{said[1:]}: off by more than {TOLERANCE}.", hint)


GAP = Experiment(
    "gap", settings=("k",), parse=_gap_number, variable="predicted_gap", judge=_judge_gap,
    shown=[{"k": k} for k in (1, 2, 5, 10, 20)], validate=_k_problem,
    hint="Read the gaps at the k values in the table above and place your k among them.")
"""Exercise 3: predict the mean gap, pretrained features minus raw pixels, at your k."""


@GAP.measures
def gap_experiment(inputs: dict, labels, k: int, seeds) -> dict:
    """Exercise 3's measurement: ``training.label_efficiency`` at ``k`` on ``seeds`` for both
    inputs; the mean accuracy of each and their gap, recorded for :data:`GAP`."""
    from .. import training

    if (problem := _k_problem({"k": k})) is not None:
        raise ValueError(problem)
    rows = training.label_efficiency(inputs, labels, ks=(k,), seeds=seeds)
    means = {name: float(np.mean([r["accuracy"] for r in rows if r["name"] == name]))
             for name in ("pretrained features", "raw pixels")}
    return {**means, "gap": means["pretrained features"] - means["raw pixels"]}


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
