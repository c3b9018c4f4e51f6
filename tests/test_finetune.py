
import pytest
import torch

from course_lib import data, finetune, models
from course_lib.pretrain import SmallCNN


@pytest.fixture(scope="module")
def digits():
    ds = data.load_digits([0, 1, 2])
    tr, te = data.stratified_split(ds.labels, test_size=0.5, seed=0)
    return ds.subset(tr), ds.subset(te)


def test_discriminative_groups_skip_frozen_and_decay():
    model = SmallCNN(num_classes=3)
    models.freeze_all_but_last(model, 2)
    groups = finetune.discriminative_param_groups(model, 1e-2, decay=0.5)
    assert [g["name"] for g in groups] == ["conv3", "fc"]
    assert [g["lr"] for g in groups] == [5e-3, 1e-2]


def test_train_and_test_and_cached_head(digits):
    train, test = digits
    torch.manual_seed(0)
    result = finetune.train_and_test(SmallCNN(num_classes=3), train, test, val_set=test, epochs=3,
                                     lr=3e-3, patience=2)
    assert result["accuracy"] > 0.8 and result["trainable"] > 0 and result["epochs"] <= 3
    feature_model = models.remove_head(SmallCNN(num_classes=3))
    cached = finetune.head_on_cached_features(feature_model, train, test, 3, val_set=test, epochs=30,
                                              cache_key="test_digits")
    assert 0 <= cached["accuracy"] <= 1 and cached["trainable"] == 64 * 3 + 3


def test_cached_vs_naive_reports_a_ratio(digits):
    train, _ = digits
    backbone = models.Backbone("tiny", SmallCNN(num_classes=3), lambda x: x, 64, "fc")
    out = finetune.cached_vs_naive(backbone, train, 3, epochs=2)
    assert out["naive_s"] > 0 and out["cached_s"] > 0 and out["training_ratio"] == pytest.approx(
        out["naive_s"] / out["cached_s"])


def test_article_loop_leaves_train_mode(digits):
    train, test = digits
    model = SmallCNN(num_classes=3)
    seconds = finetune.article_loop(model, train, epochs=1)
    assert seconds > 0 and model.training
    acc = finetune.accuracy_as_left(model, test)
    assert set(acc) == {"train_mode", "eval_mode"} and not model.training


def test_finetune_curve_rows(digits):
    ds = data.load_digits([0, 1])
    rows = finetune.finetune_curve(ds, {"scratch": lambda: SmallCNN(num_classes=2)}, ks=(2,), seeds=(0,), epochs=2)
    assert len(rows) == 1 and rows[0]["name"] == "scratch" and 0 <= rows[0]["accuracy"] <= 1
    assert finetune.mean_accuracy(rows, "scratch", 2) == rows[0]["accuracy"]
