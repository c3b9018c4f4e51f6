"""Checks for notebook 07's exercises."""
from __future__ import annotations

from . import Feedback, check_choice, is_unanswered


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


LEEP_QUIZ = {
    "a": "LEEP needs the source model's class probabilities, and a truncated backbone has no source classifier",
    "b": "LEEP only works on text",
    "c": "LEEP requires the target labels to be the same classes as the source",
    "d": "LEEP needs a GPU",
}


def check_leep_quiz(answer) -> Feedback:
    """Multiple choice: why LEEP cannot score a truncated backbone."""
    return check_choice(answer, variable="why_not_leep", correct="a", praise=(
        "Right: LEEP reads the source head's softmax over its own classes; features from the middle of a "
        "network have no such head, so only LogME, kNN and probes can score them."), reasons={
        "b": "No: LEEP was introduced for image classifiers; it only needs class probabilities.",
        "c": "No: LEEP learns the mapping P(target class | source class) from the data; the classes can differ.",
        "d": "No: it is a few matrix sums, instantaneous on a CPU.",
    })
