"""Checks for notebook 01's exercises."""
from __future__ import annotations

from . import Feedback, Quiz, call_for_number, is_unanswered


def check_labelling_hours(labelling_hours) -> Feedback:
    """The learner writes labelling_hours(n_images, seconds_per_label, annotators_per_image)."""
    cases = [((1000, 5, 1), 1000 * 5 / 3600), ((1_281_167, 5, 3), 1_281_167 * 5 * 3 / 3600),
             ((200, 30, 2), 200 * 30 * 2 / 3600)]
    for args, expected in cases:
        value, problem = call_for_number(labelling_hours, *args, name="labelling_hours")
        if problem is not None:
            return problem
        if abs(value - expected) <= 1e-6 * max(1, expected):
            continue
        n, s, a = args
        if abs(value - n * s / 3600) < 1e-6 * max(1, expected) and a != 1:
            return Feedback.incorrect(f"labelling_hours{args} = {value:.2f}: you ignored the number of "
                                      "annotators per image.", "Each image is labelled by every annotator.")
        if abs(value - n * s * a) < 1e-6 * max(1, n * s * a):
            return Feedback.incorrect(f"labelling_hours{args} = {value:.0f}: that is seconds, not hours.",
                                      "There are 3,600 seconds in an hour.")
        if abs(value - n * s * a / 60) < 1e-6 * max(1, expected * 60):
            return Feedback.incorrect(f"labelling_hours{args} = {value:.1f}: that is minutes, not hours.")
        return Feedback.incorrect(f"labelling_hours{args} returned {value:.3f}, expected {expected:.3f}.",
                                  "Total seconds = images × seconds per label × annotators.")
    imagenet = cases[1][1]
    return Feedback.correct(f"Correct. Labelling ImageNet that way takes about {imagenet:,.0f} hours, "
                            f"{imagenet / 2000:.1f} person-years of full-time work.")


def check_matching_k(answer, stats: dict, threshold: float = 0.85,
                     baseline_name: str = "raw pixels") -> Feedback:
    """Smallest k at which the baseline's mean accuracy reaches ``threshold``."""
    if is_unanswered(answer):
        return Feedback.unanswered("Not answered yet: set `matching_k` to a number of labels per class.",
                                   "Look at the table of mean accuracies printed above.")
    ks = sorted(k for (name, k) in stats if name == baseline_name)
    reached = [k for k in ks if stats[(baseline_name, k)] >= threshold]
    expected = reached[0] if reached else None
    if expected is None:
        if str(answer).lower() in ("never", "none"):
            return Feedback.correct(f"Right: within the k measured the {baseline_name} never reach {threshold}.")
        return Feedback.incorrect(f"The {baseline_name} never reach {threshold} for any k measured.",
                                  'Answer "never".')
    if answer == expected:
        return Feedback.correct(f"Yes: the {baseline_name} need k = {expected} labels per class to reach "
                                f"{threshold} (mean {stats[(baseline_name, expected)]:.3f}).")
    if isinstance(answer, (int, float)) and answer in ks:
        got = stats[(baseline_name, answer)]
        if got < threshold:
            return Feedback.incorrect(f"At k = {answer} the {baseline_name} reach {got:.3f}, still below {threshold}.",
                                      "Try a larger k.")
        return Feedback.incorrect(f"At k = {answer} the {baseline_name} do reach {got:.3f}, "
                                  "but a smaller k already does.", "We want the smallest such k.")
    return Feedback.incorrect(f"{answer!r} is not one of the k values measured: {ks}.")


WHY = Quiz(
    "why", "Why do the pretrained features win so clearly with one or two labels per class?",
    options={
        "a": "The pretrained network has seen these exact photos before.",
        "b": "Its features already separate faces from other things, so a linear classifier needs few examples.",
        "c": "It has more parameters, and more parameters always means higher accuracy.",
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
