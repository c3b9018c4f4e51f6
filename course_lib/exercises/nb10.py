"""Checks for notebook 10's exercises."""
from __future__ import annotations

from . import Feedback, check_choice, is_unanswered


def check_skipped_load(dataset, expected_images: int, expected_classes: list[str]) -> Feedback:
    """The learner loads the messy folder with on_bad="skip" and passes the resulting dataset."""
    if is_unanswered(dataset):
        return Feedback.unanswered("Not answered yet: set `clean` to the dataset load_image_folder returns.",
                                   'Pass on_bad="skip" so unreadable files are skipped with a warning.')
    if not hasattr(dataset, "classes") or not hasattr(dataset, "images"):
        return Feedback.incorrect(f"Expected the dataset returned by load_image_folder, got {type(dataset).__name__}.")
    if list(dataset.classes) != list(expected_classes):
        return Feedback.incorrect(f"Classes are {dataset.classes}, expected {expected_classes}.",
                                  "Load the folder that has one sub-folder per class.")
    if len(dataset) != expected_images:
        return Feedback.incorrect(f"{len(dataset)} images loaded, expected {expected_images}.",
                                  "Skip the bad files, keep every readable image (grey, RGBA and palette ones too).")
    return Feedback.correct(f"Right: {len(dataset)} readable images kept, the bad files skipped and named in warnings.")


POOR_ACCURACY_QUIZ = {
    "a": "switch to a bigger pretrained model straight away",
    "b": "look at the misclassified validation images and at the labels and preprocessing first",
    "c": "train for many more epochs",
    "d": "remove the validation set so there is more training data",
}


def check_first_step(answer) -> Feedback:
    """Multiple choice: validation accuracy is poor; what to do first."""
    return check_choice(answer, variable="first_step", correct="b", praise=(
        "Yes: most poor results are data problems (mislabelled or ambiguous images, wrong preprocessing, "
        "leakage or a domain gap). Looking costs minutes."), reasons={
        "a": "Maybe later; but a bigger model does not fix wrong labels, a wrong normalisation, or a class "
             "imbalance, and it costs much more. Look first.",
        "c": "With a validation set and early stopping, more epochs mostly means more overfitting.",
        "d": "Then you could no longer tell whether anything you change helps.",
    })
