"""Small core modules: repro, paths, envcheck, pretrain."""
import numpy as np
import pytest
import torch

from course_lib import envcheck, paths, pretrain, repro


def test_seed_everything_reproduces_all_generators():
    def draw():
        import random

        return random.random(), float(np.random.rand()), float(torch.rand(1))

    repro.seed_everything(7)
    first = draw()
    repro.seed_everything(7)
    assert draw() == first
    repro.seed_everything(8)
    assert draw() != first
    with pytest.raises(ValueError, match="non-negative int"):
        repro.seed_everything(-1)
    assert repro.torch_generator(3).initial_seed() == 3


def test_output_dir_follows_env(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path / "out"))
    assert paths.output_dir("a", "b") == tmp_path / "out" / "a" / "b"
    assert (tmp_path / "out" / "a" / "b").is_dir()
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "data"))
    assert paths.data_dir("x") == tmp_path / "data" / "x"


def test_envcheck_reports_everything_offline(capsys):
    checks = envcheck.check_environment()
    by_name = {c.name: c for c in checks}
    assert by_name["efficientnet-lite0 weights"].ok and "MB" in by_name["efficientnet-lite0 weights"].detail
    assert by_name["all-MiniLM-L6-v2 (BERT) weights"].ok
    assert by_name["faces dataset (skimage lfw_subset)"].detail.startswith("200 photos")
    assert envcheck.print_report(checks) is True
    assert "All set" in capsys.readouterr().out
    bad = envcheck.Check("x", False, "missing", "do this")
    assert "→ do this" in str(bad)
    assert envcheck.print_report([bad]) is False
    assert envcheck._version_tuple("2.14.1+cu130") == (2, 14)


def test_envcheck_flags_missing_and_old_packages(monkeypatch):
    assert not envcheck._package("surely-not-a-package-xyz").ok
    monkeypatch.setitem(envcheck.MIN_VERSIONS, "torch", (99, 0))
    assert "older than 99.0" in envcheck._package("torch").detail
    assert not envcheck._asset("thing", lambda: 1 / 0).ok


def test_pretrain_and_load_or_pretrain(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path))
    model = pretrain.load_or_pretrain_digits_cnn()
    assert pretrain.checkpoint_path().is_file() and not model.training
    again = pretrain.load_or_pretrain_digits_cnn()
    x = torch.rand(4, 1, 8, 8)
    with torch.no_grad():
        assert torch.equal(model(x), again(x))
    from course_lib.data import load_digits

    ds = load_digits(pretrain.SOURCE_DIGITS)
    with torch.no_grad():
        acc = float((model(ds.images).argmax(1) == ds.labels).float().mean())
    assert acc > 0.95
    assert model.features(x).shape == (4, 64)


def test_version_floors_come_from_the_package_metadata(monkeypatch):
    import importlib.metadata as md

    monkeypatch.setattr(md, "requires", lambda name: ["torch>=9.1", "pytest>=8; extra == 'test'", "numpy"])
    assert envcheck.min_versions() == {"torch": (9, 1)}


def test_the_transformers_floor_has_the_api_the_course_calls():
    """text.EncoderTop calls create_bidirectional_mask(inputs_embeds=...): transformers 5.2 renamed the
    argument from input_embeds (5.0, 5.1 have the old name), so the floor must be at least 5.2."""
    import inspect

    from transformers.masking_utils import create_bidirectional_mask

    assert "inputs_embeds" in inspect.signature(create_bidirectional_mask).parameters
    assert envcheck.min_versions()["transformers"] >= (5, 2)
