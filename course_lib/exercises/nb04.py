"""Checks for notebook 04's exercises."""
from __future__ import annotations

from pathlib import Path

import torch

from . import Feedback, call_learner_code, is_unanswered


def check_round_trip(save_and_reload, model: torch.nn.Module, x: torch.Tensor, folder) -> Feedback:
    """The learner writes save_and_reload(model, path) -> a new model with the same weights."""
    path = Path(folder) / "exercise_roundtrip.safetensors"
    path.unlink(missing_ok=True)
    reloaded, problem = call_learner_code(save_and_reload, model, path)
    if problem is not None:
        return problem
    if reloaded is model:
        return Feedback.incorrect("You returned the same model object: nothing was saved or loaded.",
                                  "Create a fresh SmallCNN() and load the saved weights into it.")
    if not path.is_file():
        return Feedback.incorrect(f"No file was written at {path}.", "Call save_weights(model, path).")
    if not isinstance(reloaded, torch.nn.Module):
        return Feedback.incorrect(f"Expected a model back, got {type(reloaded).__name__}.")
    reloaded.eval()
    model.eval()
    with torch.no_grad():
        same = torch.equal(reloaded(x), model(x))
    if not same:
        return Feedback.incorrect("The reloaded model predicts differently from the original.",
                                  "Load with load_weights(new_model, path), and compare both in eval mode.")
    return Feedback.correct("Saved as safetensors and reloaded: identical predictions.")


def check_epoch_hours(answer, seconds_per_image: float, n_images: int = 1_281_167,
                      backward_factor: float = 3.0) -> Feedback:
    """Hours for one ImageNet training epoch: n_images × seconds_per_image × backward_factor / 3600."""
    if is_unanswered(answer):
        return Feedback.unanswered("Not answered yet: set `epoch_hours` to a number of hours.")
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return Feedback.incorrect(f"Expected a number of hours, got {answer!r}.")
    expected = n_images * seconds_per_image * backward_factor / 3600
    if abs(value - expected) <= 0.02 * expected:
        return Feedback.correct(f"Yes: about {expected:.0f} hours per epoch on this CPU; "
                                f"a typical 300-epoch recipe would take {expected * 300 / 24 / 365:.1f} years.")
    if abs(value - expected / backward_factor) <= 0.02 * expected:
        return Feedback.incorrect("That counts only the forward pass.",
                                  f"Training also runs backward: multiply by {backward_factor:g}.")
    if abs(value - expected * 3600) <= 0.02 * expected * 3600:
        return Feedback.incorrect("That is in seconds; convert to hours.")
    return Feedback.incorrect(f"{value:.1f} hours is not what the measured speed gives.",
                              "images × seconds per image × 3 (forward + backward) ÷ 3600.")
