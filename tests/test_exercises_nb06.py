
from course_lib import finetune, models
from course_lib.exercises import nb06
from course_lib.pretrain import SmallCNN


def test_param_groups():
    def good(model, base_lr):
        return finetune.discriminative_param_groups(model, base_lr, decay=0.3)

    def same_lr(model, base_lr):
        return [{"params": model.parameters(), "lr": base_lr}]

    def reversed_lr(model, base_lr):
        return [{"params": m.parameters(), "lr": base_lr * 0.3 ** i}
                for i, (_, m) in enumerate(models.layer_groups(model))]

    def missing(model, base_lr):
        return [{"params": model.fc.parameters(), "lr": base_lr}]

    def wrong_head(model, base_lr):
        return finetune.discriminative_param_groups(model, base_lr / 2, decay=0.3)

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


def test_solutions_pass_their_checks():
    assert nb06.check_param_groups(nb06.solution_make_groups, SmallCNN)
    assert nb06.check_regime(nb06.solution_regime())


def test_regime_feedback_does_not_claim_overfitting_as_a_fact():
    praise = nb06.check_regime("a").message
    assert "overfits" not in praise and "validation" in praise


def test_regime():
    assert nb06.check_regime("a")
    assert nb06.check_regime(...).status == "unanswered"
    assert not nb06.check_regime("b") and not nb06.check_regime("c")
    assert "not an option" in nb06.check_regime("z").message
