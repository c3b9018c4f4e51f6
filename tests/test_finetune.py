import math

import numpy as np
import pytest
import torch

from course_lib import data, finetune, models
from course_lib.compare import Budget, UnequalBudgetError, few_shot_trials, run_paired
from course_lib.pretrain import SmallCNN


@pytest.fixture(scope="module")
def digits():
    return data.load_digits([0, 1, 2])


@pytest.fixture(scope="module")
def trials(digits):
    return {t["seed"]: t for t in few_shot_trials(digits.labels, ks=[5], seeds=[0, 1], val_per_class=3)}


def test_discriminative_groups_skip_frozen_and_decay():
    model = SmallCNN(num_classes=3)
    models.freeze_all_but_last(model, 2)
    groups = finetune.discriminative_param_groups(model, 1e-2, decay=0.5)
    assert [g["name"] for g in groups] == ["conv3", "fc"]
    assert [g["lr"] for g in groups] == [5e-3, 1e-2]


def test_epochs_within_budget():
    assert finetune.epochs_within(Budget(steps=60), 76, 32) == 20
    with pytest.raises(ValueError, match="less than one epoch"):
        finetune.epochs_within(Budget(steps=2), 76, 32)


def test_regime_arms_keep_to_the_budget(digits, trials):
    arms = finetune.regime_arms(lambda: SmallCNN(num_classes=3), digits, trials, 3, n_last=2, lr=3e-3,
                                batch_size=8)
    assert set(arms) == set(finetune.REGIMES)
    budget = Budget(steps=8)                           # 15 images, batches of 8: 2 steps per epoch
    runs = run_paired(arms, [0, 1], budget)
    for results in runs.values():
        assert all(0 <= r.score <= 1 and r.steps <= 8 for r in results)
    assert runs["feature extractor"][0].extra["trainable"] == 64 * 3 + 3
    assert runs["full fine-tuning"][0].extra["trainable"] > runs["last block(s)"][0].extra["trainable"]
    comparisons = finetune.compare_all(finetune.scores(runs), [("full fine-tuning", "feature extractor")])
    assert comparisons[0].n == 2


def test_technique_arms_spend_equal_steps(digits, trials):
    arms = finetune.technique_arms(digits, lambda: SmallCNN(num_classes=3), trials, batch_size=8)
    runs = run_paired(arms, [0], Budget(steps=4))
    assert {r[0].steps for r in runs.values()} == {4}


def test_an_arm_over_budget_is_refused(digits, trials):
    arms = finetune.regime_arms(lambda: SmallCNN(num_classes=3), digits, trials, 3, n_last=2, lr=3e-3,
                                batch_size=8)
    greedy = {"fair": arms["full fine-tuning"],
              "greedy": lambda seed, budget: arms["full fine-tuning"](seed, Budget(steps=budget.steps * 2))}
    with pytest.raises(UnequalBudgetError):
        run_paired(greedy, [0], Budget(steps=2))


def test_finetune_curve_is_paired_and_uses_validation(digits):
    seen = []

    def arm(trial):
        seen.append((trial["seed"], trial["k"], tuple(trial["train"]), len(trial["val"])))
        return 0.5

    rows = finetune.finetune_curve(digits.labels, {"a": arm, "b": arm}, ks=(1, 2), seeds=(0, 1), val_per_class=2)
    assert len(rows) == 8 and seen[0] == seen[1] and all(v == 2 * 3 for *_, v in seen)
    c = finetune.curve_comparison(rows + [{**r, "name": "c", "accuracy": 0.6} for r in rows if r["name"] == "a"],
                                  "c", "a", 2)
    assert c.verdict == "c better" or math.isclose(c.mean_difference, 0.1)
    cnn = finetune.cnn_arm(digits, lambda: SmallCNN(num_classes=3), Budget(steps=4), lr=3e-3)
    pixels = finetune.logistic_arm(digits.images.flatten(1), digits.labels)
    trial = next(few_shot_trials(digits.labels, ks=[5], seeds=[0], val_per_class=2))
    assert 0 <= cnn(trial) <= 1 and pixels(trial) > 0.8


def test_accuracy_as_left_does_not_change_the_model(digits):
    model = SmallCNN(num_classes=3)
    run = finetune.article_loop(model, digits, epochs=1)
    assert run["seconds"] > 0 and run["steps"] == math.ceil(len(digits) / 32) and len(run["losses"]) == 1
    assert model.training
    before = {k: v.clone() for k, v in model.state_dict().items()}
    acc = finetune.accuracy_as_left(model, digits)
    assert set(acc) == {"train_mode", "eval_mode"} and model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())   # running stats untouched
    again = finetune.accuracy_as_left(model, digits)
    assert again == acc


def test_ablation_arms_spend_the_same_steps_on_the_same_pool(digits):
    trials = {t["seed"]: t for t in few_shot_trials(digits.labels, ks=[7], seeds=[0, 1], val_per_class=3)}
    arms = finetune.ablation_arms(lambda: SmallCNN(num_classes=3), digits, trials, epochs=2)
    assert list(arms) == list(finetune.ABLATION_STEPS)
    budget = Budget(steps=2 * 1)                       # 30 (pool) or 21 (train) digits: one batch
    runs = run_paired(arms, [0, 1], budget)
    assert {r.steps for results in runs.values() for r in results} == {2}
    assert len(runs[finetune.ABLATION_STEPS[0]][0].extra["losses"]) == 2
    scores = finetune.scores(runs)
    comparisons = finetune.ablation_comparisons(scores)
    assert [c.name_a for c in comparisons] == list(finetune.ABLATION_STEPS[1:])
    assert [c.name_b for c in comparisons] == list(finetune.ABLATION_STEPS[:-1])
    with pytest.raises(UnequalBudgetError):            # 2 epochs do not fit in 1 step
        run_paired(arms, [0], Budget(steps=1))


def test_as_stored_is_the_0_to_16_scale(digits):
    x, _ = digits.with_transform(finetune.as_stored)[0]
    assert float(x.max()) <= 16 and float(x.max()) > 1


def test_article_vs_recipe_arms_train_on_the_same_pool(digits):
    class RGB(torch.nn.Module):                   # a tiny "backbone" for 3-channel inputs, head `fc`
        def __init__(self):
            super().__init__()
            self.mix, self.body = torch.nn.Conv2d(3, 1, 1), SmallCNN(num_classes=3)
            self.fc = torch.nn.Linear(64, 3)

        def forward(self, x):
            return self.fc(self.body.features(self.mix(x)))

    backbone = models.Backbone("tiny", RGB(), models.ImagePreprocess(8, (0.5,) * 3, (0.5,) * 3), 64, "fc")
    trials = {t["seed"]: t for t in few_shot_trials(digits.labels, ks=[4], seeds=[0, 1], val_per_class=2)}
    arms = finetune.article_vs_recipe_arms(backbone, digits, trials, epochs=3, batch_size=32)
    runs = run_paired(arms, [0, 1], Budget(steps=3))
    article = runs["article's loop (eval mode)"][0]
    assert article.steps == 3 and set(article.extra) >= {"train_mode", "eval_mode", "losses"}
    assert article.score == article.extra["eval_mode"]
    assert all(0 <= r.score <= 1 for results in runs.values() for r in results)


def test_cached_vs_naive_reports_a_ratio(digits):
    backbone = models.Backbone("tiny", SmallCNN(num_classes=3), lambda x: x, 64, "fc")
    out = finetune.cached_vs_naive(backbone, digits.subset(np.arange(60)), 3, epochs=2)
    assert out["naive_s"] > 0 and out["cached_s"] > 0 and out["training_ratio"] == pytest.approx(
        out["naive_s"] / out["cached_s"])
