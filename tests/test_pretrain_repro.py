"""The cached pretrained digits CNN is the same whichever process, thread count or run order made it."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from course_lib import checkpoints, pretrain

REPO = Path(__file__).resolve().parent.parent

_SCRIPT = """
import sys, torch
torch.set_num_threads(int(sys.argv[1]))
from course_lib import pretrain
pretrain.load_or_pretrain_digits_cnn()
print(pretrain.checkpoint_path())
"""


def _pretrain_in_fresh_process(threads: int, out: Path) -> str:
    env = {**os.environ, "COURSE_OUTPUT_DIR": str(out),
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", _SCRIPT, str(threads)], env=env, check=True,
                          capture_output=True, text=True, timeout=600)
    return hashlib.sha256(Path(done.stdout.strip()).read_bytes()).hexdigest()


@pytest.mark.slow
def test_fresh_processes_with_different_thread_counts_write_identical_bytes(tmp_path):
    one = _pretrain_in_fresh_process(1, tmp_path / "a")
    two = _pretrain_in_fresh_process(2, tmp_path / "b")
    assert one == two


def test_pretraining_restores_the_thread_count():
    before = torch.get_num_threads()
    pretrain.pretrain_digits_cnn(epochs=1)
    assert torch.get_num_threads() == before


def test_stale_checkpoint_is_replaced_and_a_good_one_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path))
    stale = pretrain.SmallCNN(num_classes=5)          # e.g. left by older code or a hand-made run
    checkpoints.save_weights(stale, pretrain.checkpoint_path())
    model = pretrain.load_or_pretrain_digits_cnn()
    assert not torch.equal(model.fc.weight, stale.fc.weight)
    fresh, _ = pretrain.pretrain_digits_cnn()
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), fresh.state_dict().values()))

    def must_not_retrain(*args, **kwargs):
        raise AssertionError("a checkpoint with the right fingerprint must be loaded, not retrained")

    monkeypatch.setattr(pretrain, "pretrain_digits_cnn", must_not_retrain)
    again = pretrain.load_or_pretrain_digits_cnn()
    assert torch.equal(again.fc.weight, model.fc.weight)


def test_unreadable_checkpoint_is_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path))
    pretrain.checkpoint_path().write_bytes(b"not a safetensors file")
    model = pretrain.load_or_pretrain_digits_cnn()
    assert isinstance(model, pretrain.SmallCNN) and not model.training


def test_fingerprint_depends_on_the_seed():
    assert pretrain.recipe_fingerprint(0) != pretrain.recipe_fingerprint(1)
    assert pretrain.recipe_fingerprint(0) == pretrain.recipe_fingerprint(0)
