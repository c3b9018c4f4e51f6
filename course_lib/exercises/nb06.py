"""Checks and model solutions for notebook 06's exercises.

>>> check_prediction("lower", 0.60, baseline=0.95).status
'correct'
>>> check_prediction(..., 0.60, baseline=0.95).status
'unanswered'
"""
from __future__ import annotations


from typing import Any, Callable

import torch

from . import Feedback, Forbidden, Quiz, draw_rng, is_unanswered, outcome_with_tolerance
from . import check_prediction as _check_prediction



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


def check_prediction(prediction: Any, my_accuracy: Any, baseline: float,
                     tolerance: float = 0.02) -> Feedback:
    """Exercise 2 (change it and predict): compare the learner's prediction with the accuracy
    the learner's own changed run measured, against the unchanged loop's ``baseline``.

    "same" means within ``tolerance`` of the baseline (an equal score is a legitimate outcome:
    a change can leave the accuracy where it was); "higher" and "lower" mean beyond it, and
    within a quarter of ``tolerance`` of that boundary both readings are right. (Moving this
    exercise to :class:`~course_lib.exercises.Experiment` would also read the accuracy from
    the run and "no change" from the settings.)

    >>> check_prediction("same", 0.95, baseline=0.95).status
    'correct'
    >>> print(check_prediction("higher", 0.70, baseline=0.95))   # doctest: +ELLIPSIS
    ❌ Not yet. Measured: your run measured 0.700 against 0.950 (lower), not "higher" as you ...
    """
    if not is_unanswered(prediction) and str(prediction).strip().lower() in PREDICTIONS:
        try:
            measured = float(my_accuracy)
        except (TypeError, ValueError):
            return Feedback.unanswered("`my_accuracy` is not a number yet: measure your model's "
                                       "test accuracy after training it.")
        if not 0.0 <= measured <= 1.0:
            return Feedback.incorrect(f"`my_accuracy` is {measured:g}; an accuracy lies between "
                                      "0 and 1.")
    else:
        measured = baseline
    diff = measured - baseline
    accepted = outcome_with_tolerance(diff, tolerance, same="same")
    outcome = " or ".join(sorted(accepted))
    return _check_prediction(
        prediction, options=PREDICTIONS, measured=accepted,
        result=f"your run measured {measured:.3f} against {baseline:.3f} ({outcome})",
        before_running="Decide before you run your change: more parameters learning, a "
                       "different learning rate or fewer labels, which way does accuracy go?",
        if_wrong="Ask what your change does to the number of parameters that learn, and how "
                 "good the frozen features are (section 2).",
        next_step="One seed, though: before you trust it, rerun on other seeds and compare them "
                  "paired.")


def solution_change_and_predict(make_model: Callable, train_loop: Callable, loaders: Callable,
                                test_set) -> tuple[str, float]:
    """Exercise 2, one answer: freeze everything but the new head, and predict "lower".

    Section 2 measured that the digits CNN's frozen features are weak (the feature extractor
    lost to full fine-tuning by about 0.3), so training only the head should score lower.
    """
    from .. import models
    from ..evaluation import accuracy_of

    prediction = "lower"
    my_model = make_model()
    models.freeze_all_but_last(my_model, 1)           # the change: only the new head learns
    train_loop(my_model, *loaders(), epochs=30, lr=3e-3)
    my_accuracy = accuracy_of(my_model, test_set.images, test_set.labels)
    return prediction, my_accuracy


def solution_regime():
    """Exercise 3: start with the feature extractor ("a").

    It is the cheapest experiment (features computed once, a linear head trained in seconds).
    It is a baseline, not a promise: section 2 measured unfreezing more layers against it, and on
    the digits it lost. Unfreeze more only when validation accuracy says it helps.
    """
    regime = "a"
    return regime
