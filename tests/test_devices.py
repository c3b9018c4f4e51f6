"""Device choice: CUDA, then MPS, then CPU; one override; a clear error for a missing device."""
import pytest
import torch
from torch import nn

from course_lib import devices
from course_lib.errors import DeviceNotAvailableError
from course_lib.evaluation import evaluating


def test_cpu_machine_picks_cpu(monkeypatch):
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert devices.pick_device().type == "cpu"


def test_cuda_first_then_mps(monkeypatch):
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert devices.pick_device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert devices.pick_device().type == "mps"


def test_override_by_environment_and_argument(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert devices.pick_device().type == "cpu"
    assert devices.pick_device("cpu").type == "cpu"


def test_missing_device_says_what_is_there(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("COURSE_DEVICE", "cuda")
    with pytest.raises(DeviceNotAvailableError, match=r"COURSE_DEVICE.*available: cpu"):
        devices.pick_device()


def test_to_device_moves_nested_batches():
    batch = {"ids": torch.zeros(2), "more": [torch.ones(1), "text"]}
    moved = devices.to_device(batch, "cpu")
    assert moved["more"][1] == "text" and moved["ids"].device.type == "cpu"


def test_evaluating_restores_every_submodule_mode():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(), nn.BatchNorm1d(2))
    model.train()
    model[2].eval()                                  # a mixed state, as a frozen BatchNorm leaves it
    with evaluating(model):
        assert not any(m.training for m in model.modules())
        assert not torch.is_grad_enabled()
    assert [m.training for m in model] == [True, True, False]
    assert torch.is_grad_enabled()
