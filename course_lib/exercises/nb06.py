"""Checks for notebook 06's exercises."""
from __future__ import annotations


from . import Feedback, Quiz, call_learner_code


def check_param_groups(make_groups, build_model, base_lr: float = 1e-2) -> Feedback:
    """The learner writes make_groups(model, base_lr) -> optimizer parameter groups with
    learning rates that grow with depth and the head at base_lr."""
    from ..models import layer_groups

    model = build_model()
    groups, problem = call_learner_code(make_groups, model, base_lr)
    if problem is not None:
        return problem
    if not isinstance(groups, (list, tuple)) or not all(isinstance(g, dict) and "params" in g for g in groups):
        return Feedback.incorrect("Return a list of dicts, each with 'params' and 'lr'.",
                                  "Like [{'params': model.fc.parameters(), 'lr': base_lr}, ...].")
    seen = {}
    for i, g in enumerate(groups):
        if "lr" not in g:
            return Feedback.incorrect(f"Group {i} has no 'lr'.")
        params = list(g["params"])
        for p in params:
            if id(p) in seen:
                return Feedback.incorrect("A parameter appears in two groups.",
                                          "Each parameter must belong to exactly one group.")
            seen[id(p)] = g["lr"]
    missing = [n for n, p in model.named_parameters() if p.requires_grad and id(p) not in seen]
    if missing:
        return Feedback.incorrect(f"{len(missing)} trainable parameters are in no group (e.g. {missing[0]}).",
                                  "Loop over course_lib.models.layer_groups(model).")
    by_group = []
    for name, module in layer_groups(model):
        rates = {seen[id(p)] for p in module.parameters() if id(p) in seen}
        if len(rates) > 1:
            return Feedback.incorrect(f"Layer group {name} has several learning rates {sorted(rates)}.")
        by_group.append((name, rates.pop()))
    rates = [lr for _, lr in by_group]
    if any(a > b for a, b in zip(rates, rates[1:])):
        return Feedback.incorrect(f"Learning rates by depth are {rates}: earlier layers must not learn faster "
                                  "than later ones.", "Multiply by a decay < 1 for each step away from the head.")
    if len(set(rates)) == 1:
        return Feedback.incorrect("Every group has the same learning rate: that is ordinary fine-tuning.",
                                  "Give earlier groups smaller rates.")
    head_name, head_lr = by_group[-1]
    if abs(head_lr - base_lr) > 1e-12:
        return Feedback.incorrect(f"The head ({head_name}) has lr {head_lr:g}; it should get base_lr = {base_lr:g}.")
    return Feedback.correct("Discriminative learning rates: " +
                            ", ".join(f"{n} {lr:.1e}" for n, lr in by_group) + ".")


REGIME = Quiz(
    "regime", "10 labelled images per class, a laptop, a network pretrained on a related task: "
    "which regime first?",
    options={
        "a": "feature extractor: frozen backbone, cached features, train only a new head",
        "b": "unfreeze the last block(s) and the head",
        "c": "full fine-tuning of every layer",
    },
    answer="a",
    praise=("Yes, as the first try: cached features make every experiment take seconds, and a linear head "
           "has few parameters to fit. It is a baseline, not a promise: this notebook measures unfreezing "
           "more layers against it, and that is the habit to copy. Unfreeze more only if validation "
           "accuracy says it helps."),
    reasons={
        "b": "Possible next, but not first: it costs a backbone pass per image per step, so every "
             "experiment is slower. Start with the cheapest regime and let validation accuracy decide "
             "whether unfreezing more is worth it.",
        "c": "Not first: full fine-tuning is the most expensive experiment (forward and backward through "
             "every layer, every step) and, with 10 images per class, the easiest to overfit. It can end up "
             "the best regime, which you find out by measuring it against a cheap baseline on validation.",
    })
REGIME_QUIZ = REGIME.options
check_regime = REGIME.check
