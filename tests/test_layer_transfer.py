import matplotlib
import pytest
import torch

from course_lib import data, layer_transfer
from course_lib.pretrain import SmallCNN

matplotlib.use("Agg")


def test_transfer_first_n_copies_and_freezes():
    torch.manual_seed(0)
    source = SmallCNN()
    model = layer_transfer.transfer_first_n(source, 2, frozen=True, num_classes=3)
    assert torch.equal(model.conv1[0].weight, source.conv1[0].weight)
    assert torch.equal(model.conv2[0].weight, source.conv2[0].weight)
    assert not torch.equal(model.conv3[0].weight, source.conv3[0].weight)
    assert model.fc.out_features == 3
    assert not model.conv2[0].weight.requires_grad and model.conv3[0].weight.requires_grad
    tuned = layer_transfer.transfer_first_n(source, 3, frozen=False, num_classes=3)
    assert all(p.requires_grad for p in tuned.parameters())
    with pytest.raises(ValueError, match="between 0 and 3"):
        layer_transfer.transfer_first_n(source, 4, frozen=True, num_classes=3)


def test_experiment_rows_budget_selffer_and_summary():
    from course_lib.compare import Budget, UnequalBudgetError

    target = data.load_digits([5, 6])
    rows = layer_transfer.layer_transfer_experiment(SmallCNN(), target, ks=(3,), seeds=(0, 1),
                                                    budget=Budget(steps=4))
    # per seed: scratch + 3 × (AnB frozen, AnB fine-tuned, BnB frozen)
    assert len(rows) == 2 * 10 and {r["n"] for r in rows} == {0, 1, 2, 3}
    assert {r["arm"] for r in rows} == {"scratch", "AnB", "BnB"}
    assert all(r["steps"] <= 4 for r in rows)
    by = {(r["arm"], r["n"], r["mode"]): r["trainable"] for r in rows if r["seed"] == 0}
    assert by[("AnB", 3, "frozen")] < by[("AnB", 1, "frozen")] < by[("scratch", 0, "fine-tuned")]
    assert by[("AnB", 3, "frozen")] == 64 * 2 + 2            # only the head: 64 features, 2 classes
    assert by[("BnB", 2, "frozen")] == by[("AnB", 2, "frozen")]
    accs = layer_transfer.arm_accuracies(rows, "AnB", 2, "frozen")
    assert len(accs) == 2 and layer_transfer.arm_accuracies(rows, "BnB", 0, "frozen") == \
        layer_transfer.arm_accuracies(rows, "scratch", 0, "fine-tuned")
    summary = layer_transfer.summarise_layers(rows)
    assert summary[("AnB", 3, "frozen")][2] == 130
    ax = layer_transfer.plot_layer_transfer(summary)
    assert ax.get_ylabel().startswith("test accuracy")
    with pytest.raises(ValueError, match="with_transform"):
        layer_transfer.layer_transfer_experiment(SmallCNN(), target.with_transform(lambda x: x),
                                                 ks=(3,), seeds=(0,), budget=Budget(steps=4))
    with pytest.raises(UnequalBudgetError):       # one epoch of 6 images in batches of 4 = 2 steps
        layer_transfer.layer_transfer_experiment(SmallCNN(), target, ks=(3,), seeds=(0,),
                                                 budget=Budget(steps=1), batch_size=4)


def test_frozen_prefix_is_exact_and_frozen_blocks_do_not_move():
    torch.manual_seed(0)
    source = SmallCNN()
    model = layer_transfer.transfer_first_n(source, 2, frozen=True, num_classes=3).eval()
    prefix, rest = layer_transfer._frozen_prefix(model)
    assert len(prefix) == 2
    x = torch.rand(6, 1, 8, 8)
    assert torch.allclose(rest(prefix(x)), model(x), atol=1e-6)
    before = {k: v.clone() for k, v in model.state_dict().items() if k.startswith("conv2")}
    steps = layer_transfer.train_on_tensors(model, x, torch.tensor([0, 1, 2, 0, 1, 2]),
                                            steps=6, batch_size=4)
    assert steps == 6 and not model.training
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    scratch = layer_transfer.transfer_first_n(source, 0, frozen=True, num_classes=3)
    assert len(layer_transfer._frozen_prefix(scratch)[0]) == 0
