import matplotlib
import numpy as np
import pytest
import torch

from course_lib import compare, data, layer_transfer, loop
from course_lib.compare import Budget, RunResult
from course_lib.pretrain import SmallCNN

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def one_thread():
    """One thread, as in the notebook: tiny fits are slower (and load-sensitive) on many."""
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield
    torch.set_num_threads(threads)

GRID = (1e-3, 3e-3, 1e-2)


def _tiny_digits():
    target = data.load_digits([5, 6, 7])
    return target.images, target.labels


def test_transfer_first_n_copies_and_freezes():
    torch.manual_seed(0)
    source = SmallCNN()
    model = layer_transfer.transfer_first_n(source, 2, frozen=True, num_classes=3)
    assert torch.equal(model.conv1[0].weight, source.conv1[0].weight)
    assert torch.equal(model.conv2[0].weight, source.conv2[0].weight)
    assert not torch.equal(model.conv3[0].weight, source.conv3[0].weight)
    assert model.fc.out_features == 3 and model.copied == ("conv1", "conv2")
    assert not model.conv2[0].weight.requires_grad and model.conv3[0].weight.requires_grad
    assert source.conv2[0].weight.requires_grad            # the source is untouched
    tuned = layer_transfer.transfer_first_n(source, 3, frozen=False, num_classes=3)
    assert all(p.requires_grad for p in tuned.parameters())
    with pytest.raises(ValueError, match="between 0 and 3"):
        layer_transfer.transfer_first_n(source, 4, frozen=True, num_classes=3)


def test_split_frozen_is_exact_and_names_the_copied_blocks():
    torch.manual_seed(0)
    source = SmallCNN()
    model = layer_transfer.transfer_first_n(source, 2, frozen=True, num_classes=3).eval()
    prefix, rest = layer_transfer.split_frozen(model)
    assert list(dict(prefix.named_children())) == ["conv1", "conv2"] and rest.copied == ()
    x = torch.rand(6, 1, 8, 8)
    assert torch.allclose(rest(prefix(x)), model(x), atol=1e-6)
    tuned = layer_transfer.transfer_first_n(source, 2, frozen=False, num_classes=3)
    prefix, rest = layer_transfer.split_frozen(tuned)
    assert len(prefix) == 0 and rest.copied == ("conv1", "conv2")
    new = {id(p) for p in layer_transfer.new_layers(rest).parameters()}
    assert new == {id(p) for m in (tuned.conv3, tuned.fc) for p in m.parameters()}
    with pytest.raises(TypeError, match="SmallCNN"):
        layer_transfer.split_frozen(torch.nn.Linear(2, 2))


def test_fit_and_score_trains_through_the_loop_new_layers_at_the_grid_rate(monkeypatch):
    torch.manual_seed(0)
    images, labels = _tiny_digits()
    source = SmallCNN()
    split = compare.trials_by_seed(labels.numpy(), 3, [0], val_per_class=2)[0]
    budget = Budget(4, GRID, scale=1)
    seen = []
    original = loop.train

    def spy(model, data, **kw):
        seen.append([(g["name"], g["lr"], sum(p.numel() for p in g["params"]))
                     for g in kw["param_groups"](model, kw["lr"])])
        return original(model, data, **kw)

    monkeypatch.setattr(loop, "train", spy)
    with loop.Ledger() as ledger:
        result = layer_transfer.fit_and_score(
            lambda: layer_transfer.transfer_first_n(source, 1, frozen=False, num_classes=3),
            images, labels, split, budget, seed=0)
    assert ledger.tried() == GRID and ledger.steps <= 4 * len(GRID) and not ledger.undeclared_steps
    # new layers (conv2, conv3, fc) at the grid's rate; the copied conv1 (144 + 32) at a tenth of it
    assert seen == [[("head", lr, 4_672 + 18_560 + 195), ("body", lr * 0.1, 176)] for lr in GRID]
    assert isinstance(result.extra["model"], SmallCNN) and 0 <= result.score <= 1
    assert result.lr in GRID and result.extra["trainable"] == 23_603


def test_fit_and_score_frozen_blocks_stay_put_and_all_frozen_is_convex():
    torch.manual_seed(0)
    images, labels = _tiny_digits()
    source = SmallCNN()
    split = compare.trials_by_seed(labels.numpy(), 3, [0], val_per_class=2)[0]
    budget = Budget(4, GRID, scale=1)
    two = layer_transfer.fit_and_score(lambda: layer_transfer.transfer_first_n(source, 2, True, 3),
                                       images, labels, split, budget, seed=0)
    kept = two.extra["model"]
    assert torch.equal(kept.conv2[0].weight, source.conv2[0].weight)
    assert torch.equal(kept.conv2[1].running_mean, source.conv2[1].running_mean)
    with loop.Ledger() as ledger:
        three = layer_transfer.fit_and_score(lambda: layer_transfer.transfer_first_n(source, 3, True, 3),
                                             images, labels, split, budget, seed=0)
    assert ledger.steps == 0 and ledger.tried("convex") == budget.c_grid
    assert three.extra["model"] is None and three.extra["trainable"] == 64 * 3 + 3
    with pytest.raises(ValueError, match="val"):
        layer_transfer.fit_and_score(lambda: SmallCNN(3), images, labels, {**split, "val": []}, budget, seed=0)


def test_layer_arms_pass_the_audit_and_the_selffer_copies_the_base():
    torch.manual_seed(0)
    images, labels = _tiny_digits()
    source, bases = SmallCNN(), {0: SmallCNN(3), 1: SmallCNN(3)}
    trials = compare.trials_by_seed(labels.numpy(), 3, [0, 1], val_per_class=2)
    arms = layer_transfer.layer_arms(source, images, labels, trials, bases=bases)
    assert list(arms) == ["scratch", "AnB n=1 frozen", "AnB n=1 fine-tuned", "BnB n=1 frozen",
                          "AnB n=2 frozen", "AnB n=2 fine-tuned", "BnB n=2 frozen",
                          "AnB n=3 frozen", "AnB n=3 fine-tuned", "BnB n=3 frozen"]
    results = compare.run_paired(arms, [0, 1], Budget(3, GRID, scale=1))   # audits every arm
    assert all(r.steps <= 3 * len(GRID) for rs in results.values() for r in rs)
    assert results["BnB n=3 frozen"][0].cs == Budget(3, GRID).c_grid
    selffer = results["BnB n=2 frozen"][1].extra["model"]
    assert torch.equal(selffer.conv2[0].weight, bases[1].conv2[0].weight)
    summary = layer_transfer.summarise_arms(results)
    assert summary["AnB n=3 frozen"][2] == 64 * 3 + 3
    assert summary["BnB n=2 frozen"][2] == summary["AnB n=2 frozen"][2]
    ax = layer_transfer.plot_layer_transfer(summary)
    assert ax.get_ylabel().startswith("test accuracy") and len(ax.get_lines()) == 3


def test_tail_arm_passes_the_audit_with_the_head_at_the_grid_rate():
    torch.manual_seed(0)
    X = torch.randn(90, 4)
    y = (X[:, 0] > 0).long()
    trials = {s: {"train": np.arange(40), "val": np.arange(40, 60), "test": np.arange(60, 90)} for s in (0, 1)}
    arm = layer_transfer.tail_arm(lambda: torch.nn.Linear(4, 6), X, y, trials, width=6)

    def constant(seed, budget):
        loop.no_training("a constant")
        return 0.5

    results = compare.run_paired({"tail": arm, "constant": constant}, [0, 1], Budget(5, GRID, scale=1))
    assert results["tail"][0].lrs == GRID and results["tail"][0].extra["trainable"] == 4 * 6 + 6 + 6 * 2 + 2


def test_all_of_task_uses_every_training_image_and_the_few_shot_test_part():
    labels = np.repeat([0, 1, 2], 30)
    split = layer_transfer.all_of_task(labels, 3, val_per_class=4)
    few = compare.trials_by_seed(labels, 2, [3], val_per_class=4)[3]
    assert np.array_equal(split["test"], few["test"]) and np.array_equal(split["val"], few["val"])
    parts = [set(split[p]) for p in ("train", "val", "test")]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert len(parts[0] | parts[1] | parts[2]) == len(labels)


def test_summary_uses_the_sample_standard_deviation():
    rs = [RunResult(s, extra={"trainable": 7}) for s in (0.5, 0.7, 0.9)]
    mean, sd, trainable = layer_transfer.summarise_arms({"a": rs})["a"]
    assert (mean, trainable) == (0.7, 7) and sd == pytest.approx(float(np.std([0.5, 0.7, 0.9], ddof=1)), abs=1e-4)
