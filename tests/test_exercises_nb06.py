
from course_lib import finetune, models
from course_lib.exercises import nb06
from course_lib.pretrain import SmallCNN


def test_param_groups():
    good = nb06.solution_make_groups

    def same_lr(model, base_lr):
        return [{"params": model.parameters(), "lr": base_lr}]

    def reversed_lr(model, base_lr):
        return [{"params": m.parameters(), "lr": base_lr * 0.3 ** i}
                for i, (_, m) in enumerate(models.layer_groups(model))]

    def missing(model, base_lr):
        return [{"params": model.fc.parameters(), "lr": base_lr}]

    def wrong_head(model, base_lr):
        return nb06.solution_make_groups(model, base_lr / 2)

    def todo(model, base_lr):
        ...

    assert nb06.check_param_groups(good, SmallCNN)
    assert "same learning rate" in nb06.check_param_groups(same_lr, SmallCNN).message
    assert "must not learn faster" in nb06.check_param_groups(reversed_lr, SmallCNN).message
    assert "in no group" in nb06.check_param_groups(missing, SmallCNN).message
    assert "should get base_lr" in nb06.check_param_groups(wrong_head, SmallCNN).message
    assert "list of dicts" in nb06.check_param_groups(lambda m, lr: 3, SmallCNN).message
    assert nb06.check_param_groups(todo, SmallCNN).status == "unanswered"

    def twice(model, base_lr):
        return [{"params": model.parameters(), "lr": base_lr}, {"params": model.fc.parameters(), "lr": base_lr}]

    assert "two groups" in nb06.check_param_groups(twice, SmallCNN).message


def test_regime():
    assert nb06.check_regime("a")
    assert nb06.check_regime(...).status == "unanswered"
    assert not nb06.check_regime("b") and not nb06.check_regime("c")
    assert "not an option" in nb06.check_regime("z").message


def test_param_groups_refuses_the_course_answer():
    def calls_library(model, base_lr):
        return finetune.discriminative_param_groups(model, base_lr, decay=0.3)

    from course_lib.finetune import discriminative_param_groups as imported

    def calls_imported(model, base_lr):
        return imported(model, base_lr)

    for bypass in (calls_library, calls_imported):
        feedback = nb06.check_param_groups(bypass, SmallCNN)
        assert not feedback and "discriminative_param_groups" in feedback.message
    assert finetune.discriminative_param_groups is imported          # restored after the check


def test_solutions_pass_their_checks():
    assert nb06.check_param_groups(nb06.solution_make_groups, SmallCNN)
    assert nb06.REGIME.check(nb06.solution_regime())


def test_regime_feedback_does_not_claim_overfitting_as_a_fact():
    praise = nb06.REGIME.check("a").message
    assert "overfits" not in praise and "validation" in praise


def test_prediction_reads_the_measured_result():
    assert nb06.check_prediction("lower", 0.62, baseline=0.95)
    assert nb06.check_prediction(" Same ", 0.96, baseline=0.95)
    assert nb06.check_prediction("higher", 0.99, baseline=0.95)
    wrong = nb06.check_prediction("higher", 0.62, baseline=0.95)
    assert not wrong and "measured 0.620" in wrong.message and "(lower)" in wrong.message
    assert nb06.check_prediction(..., 0.62, baseline=0.95).status == "unanswered"
    assert nb06.check_prediction("lower", ..., baseline=0.95).status == "unanswered"
    assert "not an option" in nb06.check_prediction("worse", 0.62, baseline=0.95).message
    assert "between 0 and 1" in nb06.check_prediction("lower", 62, baseline=0.95).message
    unchanged = nb06.check_prediction("same", 0.95, baseline=0.95)
    assert unchanged, "an equal score is a legitimate outcome of a change"


def test_change_and_predict_solution_runs_and_is_right():
    import copy

    import torch

    from course_lib import data, pretrain
    from course_lib.compare import few_shot_trials
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
    baseline = finetune.accuracy_on(baseline_model, test_set)
    prediction, measured = nb06.solution_change_and_predict(make_model, train_loop, loaders, test_set)
    assert nb06.check_prediction(prediction, measured, baseline=baseline)
