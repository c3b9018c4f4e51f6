"""Checks and model solutions for notebook 06's exercises.

>>> CHANGE.predict(..., trained_groups=1, lr=3e-3, epochs=30).status
'unanswered'
>>> print(CHANGE.predict("same", **UNCHANGED))                 # doctest: +ELLIPSIS
❌ Not yet. ... is the setting the notebook already ran: nothing changed.
...
"""
from __future__ import annotations


from typing import Any, Callable

import torch

from . import (Experiment, Feedback, Forbidden, Quiz, categorical, draw_rng,
               outcome_with_tolerance)



PARAM_GROUPS = Forbidden(
    "the course's answer",
    ("course_lib.finetune.discriminative_param_groups",),
    hint="Loop over models.layer_groups(model) and build each dict yourself.")
"""What ``make_groups`` may not call, however it is imported or wrapped."""


def _groups_problem(make_groups, model, base_lr: float) -> tuple[Feedback | None, list]:
    """Run the learner's function once; the feedback for a problem, or the learning rate of
    every parameter in depth order (``(group name, lr)`` per parameter)."""
    from ..models import layer_groups

    groups, problem = PARAM_GROUPS.call(make_groups, model, base_lr)
    if problem is not None:
        return problem, []
    if isinstance(groups, dict) or not isinstance(groups, (list, tuple)) or \
            not all(isinstance(g, dict) and "params" in g for g in groups):
        return Feedback.incorrect("Return a list of dicts, each with 'params' and 'lr'.",
                                  "Like [{'params': model.fc.parameters(), 'lr': base_lr}, ...]."), []
    seen = {}
    for i, g in enumerate(groups):
        if "lr" not in g:
            return Feedback.incorrect(f"Group {i} has no 'lr'."), []
        params = [g["params"]] if isinstance(g["params"], torch.Tensor) else list(g["params"])
        for p in params:
            if id(p) in seen:
                return Feedback.incorrect("A parameter appears in two groups.",
                                          "Each parameter must belong to exactly one group."), []
            seen[id(p)] = float(g["lr"])
    missing = [n for n, p in model.named_parameters() if p.requires_grad and id(p) not in seen]
    if missing:
        return Feedback.incorrect(f"{len(missing)} trainable parameters are in no group (e.g. "
                                  f"{missing[0]}).",
                                  "Loop over course_lib.models.layer_groups(model)."), []
    return None, [(name, seen[id(p)]) for name, module in layer_groups(model)
                  for p in module.parameters() if id(p) in seen]


def check_param_groups(make_groups, build_model, base_lr: float = 1e-2) -> Feedback:
    """The learner writes make_groups(model, base_lr) -> optimizer parameter groups with
    learning rates that grow with depth (never shrink from input to head, not all equal) and
    the head at base_lr. Tried at ``base_lr`` and at two random base rates, so a typed-in rate
    is caught; calling ``finetune.discriminative_param_groups`` (however imported) is refused."""
    rng = draw_rng()
    for lr in (base_lr, *(float(10 ** rng.uniform(-4, -1)) for _ in range(2))):
        problem, rates = _groups_problem(make_groups, build_model(), lr)
        if problem is not None:
            return problem
        values = [r for _, r in rates]
        if any(a > b * (1 + 1e-9) for a, b in zip(values, values[1:])):
            early = next(name for (name, a), (_, b) in zip(rates, rates[1:]) if a > b * (1 + 1e-9))
            return Feedback.incorrect(f"Group {early} learns faster than a later one: earlier "
                                      "layers must not learn faster than later ones.",
                                      "Multiply by a decay < 1 for each step away from the head.")
        if max(values) - min(values) <= 1e-12 * max(values):
            return Feedback.incorrect("Every group has the same learning rate: that is ordinary "
                                      "fine-tuning.", "Give earlier groups smaller rates.")
        head_name, head_lr = rates[-1]
        if abs(head_lr - lr) > 1e-9 * lr:
            return Feedback.incorrect(f"With base_lr = {lr:.2g} the head ({head_name}) does not "
                                      "learn at base_lr.",
                                      "Use the base_lr your function receives, not a number.")
    by_group = dict(rates)
    return Feedback.correct("Discriminative learning rates: " +
                            ", ".join(f"{n} {r:.1e}" for n, r in by_group.items()) + ".")


REGIME = Quiz(
    "regime", "10 labelled images per class, a laptop, a network pretrained on a related task: "
    "which regime first?",
    options={
        "a": "feature extractor: frozen backbone, a new head on cached features",
        "b": "unfreeze the last block(s) and the head, keep the early layers frozen",
        "c": "full fine-tuning: train every layer, with a small learning rate",
    },
    answer="a",
    praise=("Yes, as the first try: cached features make every experiment take seconds, and a linear head "
           "has few parameters to fit. It is a baseline, not a promise: section 2 measured unfreezing "
           "more layers against it, and on the digits, whose pretrained features are weak, unfreezing "
           "won. That is the habit to copy: unfreeze more only if validation accuracy says it helps."),
    reasons={
        "b": "Possible next, but not first: it costs a backbone pass per image per step, so every "
             "experiment is slower. Start with the cheapest regime and let validation accuracy decide "
             "whether unfreezing more is worth it.",
        "c": "Not first: full fine-tuning is the most expensive experiment (forward and backward through "
             "every layer, every step) and, with 10 images per class, has the most parameters to fit. "
             "It can end up the best regime, which you find out by measuring it against a cheap baseline on validation.",
    })


def solution_make_groups(model, base_lr):
    """Exercise 1: one group per layer group, the head at ``base_lr``, × 0.3 per step down."""
    from ..models import layer_groups

    groups = layer_groups(model)
    return [{"params": list(module.parameters()), "lr": base_lr * 0.3 ** (len(groups) - 1 - i)}
            for i, (name, module) in enumerate(groups)]


PREDICTIONS = ("higher", "lower", "same")
TOLERANCE = 0.02
"""Within this much of the unchanged loop's test accuracy, the outcome is "same"."""

UNCHANGED = {"trained_groups": "all", "lr": 3e-3, "epochs": 30}
"""The loop's run in section 5: every layer learns, Adam at 3e-3, 30 epochs."""


def _change_problem(settings: dict) -> str | None:
    groups, lr, epochs = settings["trained_groups"], settings["lr"], settings["epochs"]
    if groups != "all" and (isinstance(groups, bool) or not isinstance(groups, int)
                            or not 1 <= groups <= 4):
        return ('`trained_groups` is "all" or a whole number from 1 to 4 (the digits CNN has '
                f"4 layer groups: conv1, conv2, conv3, fc), got {groups!r}.")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr <= 1:
        return f"`lr` must be a number above 0 and at most 1, got {lr!r}."
    if isinstance(epochs, bool) or not isinstance(epochs, int) or not 1 <= epochs <= 100:
        return f"`epochs` must be a whole number from 1 to 100, got {epochs!r}."
    return None


def _change_outcome(settings: dict, measured: dict) -> set[str]:
    return outcome_with_tolerance(measured["accuracy"] - measured["baseline"], TOLERANCE,
                                  same="same")


def _describe_change(settings: dict, measured: dict) -> str:
    outcome = " or ".join(sorted(_change_outcome(settings, measured)))
    return (f"your changed run scored {measured['accuracy']:.3f} on the test digits against "
            f"{measured['baseline']:.3f} for the unchanged loop ({outcome}; \"same\" means "
            f"within {TOLERANCE:g})")


CHANGE = Experiment(
    "change_and_predict", settings=("trained_groups", "lr", "epochs"), options=PREDICTIONS,
    unchanged=UNCHANGED, validate=_change_problem,
    judge=categorical(
        _change_outcome, _describe_change,
        if_wrong="Ask what your change does to the number of parameters that learn, and how "
                 "good the frozen features are (section 2).",
        next_step="One seed, though: before you trust it, rerun on other seeds and compare "
                  "them paired."),
    hint="Decide before you run your change: more parameters learning, a different learning "
         "rate or fewer epochs, which way does test accuracy go?")
"""Exercise 2 (change it and predict): does the changed run's test accuracy come out higher,
lower or the same (within :data:`TOLERANCE`) as the unchanged loop's? "No change" is read from
the settings; an equal score is a legitimate outcome ("same")."""


@CHANGE.measures(costly=True)
def change_experiment(make_model: Callable, train_loop: Callable, loaders: Callable, test_set,
                      trained_groups: Any = "all", lr: float = 3e-3, epochs: int = 30) -> dict:
    """Exercise 2's measurement: the unchanged run and the changed one, each from
    ``seed_everything(0)``: ``make_model()``, then ``models.freeze_all_but_last(model,
    trained_groups)`` unless every group trains, ``train_loop(model, *loaders(), epochs=epochs,
    lr=lr)``, and the test accuracy; recorded for :data:`CHANGE`. Runs only after a prediction
    for the same settings (two short trainings on the digits)."""
    from .. import models
    from ..evaluation import accuracy_of
    from ..repro import seed_everything

    settings = {"trained_groups": trained_groups, "lr": lr, "epochs": epochs}
    if (problem := _change_problem(settings)) is not None:
        raise ValueError(problem)

    def run(groups, rate, n_epochs) -> float:
        seed_everything(0)
        model = make_model()
        if groups != "all":
            models.freeze_all_but_last(model, groups)
        train_loop(model, *loaders(), epochs=n_epochs, lr=rate)
        return float(accuracy_of(model, test_set.images, test_set.labels))

    return {"baseline": run(*UNCHANGED.values()), "accuracy": run(trained_groups, lr, epochs)}


def solution_change_and_predict():
    """Exercise 2, one answer: freeze everything but the new head, and predict "lower".

    Section 2 measured that the digits CNN's frozen features are weak (the feature extractor
    lost to full fine-tuning by about 0.3), so training only the head should score lower.
    In the prediction cell::

        trained_groups = 1     # the change: only the new head learns
        lr = 3e-3
        epochs = 30
        prediction = "lower"
    """
    prediction = "lower"
    settings = {"trained_groups": 1, "lr": 3e-3, "epochs": 30}
    return prediction, settings


def solution_regime():
    """Exercise 3: start with the feature extractor ("a").

    It is the cheapest experiment (features computed once, a linear head trained in seconds).
    It is a baseline, not a promise: section 2 measured unfreezing more layers against it, and on
    the digits it lost. Unfreeze more only when validation accuracy says it helps.
    """
    regime = "a"
    return regime
