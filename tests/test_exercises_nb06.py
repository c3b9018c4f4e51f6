"""Notebook 06: discriminative parameter groups (the course's answer refused however it is
imported), the regime quiz, and the change-and-predict check ("same" is an outcome)."""
import functools

import pytest
import torch

from course_lib import finetune, models
from course_lib.exercises import nb06
from course_lib.pretrain import SmallCNN
from test_exercises_support import REPEATS, leaks


def _halving(model, base_lr):
    groups = models.layer_groups(model)
    return [{"params": m.parameters(), "lr": base_lr / 2 ** (len(groups) - 1 - i)}
            for i, (_, m) in enumerate(groups)]


def _linear_ramp(model, base_lr):
    groups = models.layer_groups(model)
    return tuple({"params": list(m.parameters()), "lr": base_lr * (i + 1) / len(groups)}
                 for i, (_, m) in enumerate(groups))


def _per_tensor(model, base_lr):
    params = [p for _, m in models.layer_groups(model) for p in m.parameters()]
    return [{"params": [p], "lr": base_lr * 0.9 ** (len(params) - 1 - i)} for i, p in enumerate(params)]


def _body_and_head(model, base_lr):
    head = set(map(id, model.fc.parameters()))
    return [{"params": [p for p in model.parameters() if id(p) not in head], "lr": base_lr / 10},
            {"params": model.fc.parameters(), "lr": base_lr}]


GROUPS_RIGHT = [nb06.solution_make_groups, _halving, _linear_ramp, _per_tensor, _body_and_head]


@pytest.mark.parametrize("answer", GROUPS_RIGHT, ids=lambda f: f.__name__)
def test_param_groups_accept_the_solution_and_honest_variants(answer):
    for _ in range(REPEATS):
        fb = nb06.check_param_groups(answer, SmallCNN)
        assert fb, str(fb)


def _alias(model, base_lr):
    from course_lib.finetune import discriminative_param_groups as make_groups

    return make_groups(model, base_lr)


def _default(model, base_lr, make=finetune.discriminative_param_groups):
    return make(model, base_lr)


@pytest.mark.parametrize("shortcut", [
    finetune.discriminative_param_groups, _alias, _default,
    functools.partial(finetune.discriminative_param_groups, decay=0.3),
    lambda m, lr: finetune.discriminative_param_groups(m, lr, decay=0.3)])
def test_param_groups_refuse_the_course_answer_however_imported(shortcut):
    fb = nb06.check_param_groups(shortcut, SmallCNN)
    assert not fb and "discriminative_param_groups" in fb.message and "cannot tell" in fb.message


def test_param_groups_name_the_mistake():
    def same_lr(model, base_lr):
        return [{"params": model.parameters(), "lr": base_lr}]

    def reversed_lr(model, base_lr):
        return [{"params": m.parameters(), "lr": base_lr * 0.3 ** i}
                for i, (_, m) in enumerate(models.layer_groups(model))]

    def missing(model, base_lr):
        return [{"params": model.fc.parameters(), "lr": base_lr}]

    def typed_rate(model, base_lr):
        return nb06.solution_make_groups(model, 1e-2)

    def twice(model, base_lr):
        return [{"params": model.parameters(), "lr": base_lr},
                {"params": model.fc.parameters(), "lr": base_lr}]

    def todo(model, base_lr):
        ...

    cases = {same_lr: "same learning rate", reversed_lr: "must not learn faster",
             missing: "in no group", typed_rate: "not a number", twice: "two groups",
             (lambda m, lr: 3): "list of dicts"}
    for _ in range(5):
        for wrong, words in cases.items():
            fb = nb06.check_param_groups(wrong, SmallCNN)
            assert not fb and words in str(fb), (words, str(fb))
    assert nb06.check_param_groups(todo, SmallCNN).status == "unanswered"


def test_regime():
    assert nb06.REGIME.check("a") and nb06.REGIME.check(nb06.solution_regime())
    assert nb06.REGIME.check(...).status == "unanswered"
    assert not nb06.REGIME.check("b") and not nb06.REGIME.check("c")
    praise = nb06.REGIME.check("a").message
    assert "overfits" not in praise and "validation" in praise


def test_prediction_accepts_same_for_an_unchanged_score_and_both_readings_of_a_tie():
    """A change can leave the accuracy exactly where it was (issue 20: 25 epochs)."""
    for _ in range(REPEATS):
        assert nb06.check_prediction("same", 0.95, baseline=0.95)
        assert nb06.check_prediction(" Same ", 0.96, baseline=0.95)
        assert nb06.check_prediction("lower", 0.62, baseline=0.95)
        assert nb06.check_prediction("higher", 0.99, baseline=0.95)
        for reading in ("same", "higher"):
            assert nb06.check_prediction(reading, 0.97, baseline=0.95)     # on the boundary


def test_prediction_wrong_and_unanswered():
    wrong = nb06.check_prediction("higher", 0.62, baseline=0.95)
    assert not wrong and "measured 0.620" in wrong.message and "(lower)" in wrong.message
    assert nb06.check_prediction(..., 0.62, baseline=0.95).status == "unanswered"
    assert nb06.check_prediction("lower", ..., baseline=0.95).status == "unanswered"
    assert "not an option" in nb06.check_prediction("worse", 0.62, baseline=0.95).message
    assert "between 0 and 1" in nb06.check_prediction("lower", 62, baseline=0.95).message


def test_change_and_predict_solution_runs_and_is_right():
    import copy

    import torch

    from course_lib import data, pretrain
    from course_lib.compare import few_shot_trials
    from course_lib.evaluation import accuracy_of
    from course_lib.training import fit

    digits = data.load_digits(range(5, 10))
    source = pretrain.load_or_pretrain_digits_cnn()
    trial = next(few_shot_trials(digits.labels, ks=[10], seeds=[0], val_per_class=10))

    def make_model():
        model = copy.deepcopy(source)
        models.replace_head(model, 5)
        return model

    def train_loop(model, train_loader, val_loader, epochs, lr):
        return fit(model, train_loader, val_loader, epochs=epochs, lr=lr, progress=False)

    def loaders():
        return (data.make_loader(digits.subset(trial["train"]), 16, shuffle=True),
                data.make_loader(digits.subset(trial["val"]), 256))

    test_set = digits.subset(trial["test"])
    torch.manual_seed(0)
    baseline_model = make_model()
    train_loop(baseline_model, *loaders(), 30, 3e-3)
    baseline = accuracy_of(baseline_model, test_set.images, test_set.labels)
    prediction, measured = nb06.solution_change_and_predict(make_model, train_loop, loaders, test_set)
    assert nb06.check_prediction(prediction, measured, baseline=baseline)
