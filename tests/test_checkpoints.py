"""course_lib.checkpoints: safetensors round trip; pickles that are not plain weights are refused."""
import os
import pickle

import pytest
import torch
from torch import nn

from course_lib import checkpoints
from course_lib.errors import UnsafeCheckpointError


class _Payload:
    """Unpickling this would run os.system: the kind of file the course must refuse."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_round_trip_is_exact(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    model(torch.randn(8, 3))  # update running stats so buffers are saved too
    path = checkpoints.save_weights(model, tmp_path / "sub" / "m.safetensors")
    other = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    checkpoints.load_weights(other, path)
    for (k, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items()):
        assert torch.equal(a, b), k


def test_save_requires_safetensors_extension(tmp_path):
    with pytest.raises(ValueError, match=".safetensors extension"):
        checkpoints.save_weights(nn.Linear(1, 1), tmp_path / "m.pt")


def test_torch_save_state_dict_loads_with_weights_only(tmp_path):
    model = nn.Linear(2, 2)
    torch.save({"state_dict": model.state_dict()}, tmp_path / "m.pt")
    other = nn.Linear(2, 2)
    checkpoints.load_weights(other, tmp_path / "m.pt")
    assert torch.equal(other.weight, model.weight)


def test_malicious_pickle_is_refused_and_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    with open(tmp_path / "evil.pt", "wb") as f:
        pickle.dump({"weight": _Payload(marker)}, f)
    with pytest.raises(UnsafeCheckpointError, match="not plain weights"):
        checkpoints.load_weights(nn.Linear(2, 2), tmp_path / "evil.pt")
    assert not marker.exists()


def test_non_state_dict_and_missing_and_mismatch(tmp_path):
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(UnsafeCheckpointError, match="state dict of tensors"):
        checkpoints.read_state_dict(tmp_path / "list.pt")
    with pytest.raises(FileNotFoundError, match="Did the notebook that saves it run"):
        checkpoints.read_state_dict(tmp_path / "nope.safetensors")
    path = checkpoints.save_weights(nn.Linear(2, 2), tmp_path / "a.safetensors")
    with pytest.raises(ValueError, match="do not fit Linear.*same architecture"):
        checkpoints.load_weights(nn.Linear(3, 2), path)
