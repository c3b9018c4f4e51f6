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


def test_experiment_rows_and_summary():
    target = data.load_digits([5, 6])
    rows = layer_transfer.layer_transfer_experiment(SmallCNN(), target, ks=(3,), seeds=(0,), epochs=2)
    assert len(rows) == 7 and {r["n"] for r in rows} == {0, 1, 2, 3}
    summary = layer_transfer.summarise_layers(rows)
    assert summary[(0, "frozen")] == summary[(0, "fine-tuned")]
    ax = layer_transfer.plot_layer_transfer(summary)
    assert ax.get_ylabel().startswith("test accuracy")
