"""Small core modules: repro, paths, exercises feedback, envcheck, pretrain, plots, import cost."""
import subprocess
import sys

import numpy as np
import pytest
import torch

from course_lib import envcheck, exercises, paths, pretrain, repro


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


def test_feedback_and_learner_code_guard():
    fb = exercises.Feedback.incorrect("Rows sum to 1.37.", "Divide by the sum.")
    assert not fb and fb.status == "incorrect" and "Hint: Divide by the sum." in str(fb)
    assert "Divide by the sum." in fb._repr_html_() and "❌" in repr(fb)
    assert exercises.Feedback.correct().ok
    assert exercises.Feedback.unanswered().status == "unanswered"
    assert exercises.is_unanswered(None) and exercises.is_unanswered(NotImplemented)
    assert not exercises.is_unanswered(0)

    def todo(x):
        ...

    def not_impl(x):
        raise NotImplementedError

    def crash(x):
        return x["missing"]

    assert exercises.call_learner_code(todo, 1)[1].status == "unanswered"
    assert exercises.call_learner_code(not_impl, 1)[1].status == "unanswered"
    result, fb = exercises.call_learner_code(crash, {})
    assert result is None and "KeyError" in fb.message and 'x["missing"]' in fb.message
    assert exercises.call_learner_code(3)[1].message.startswith("Expected a function")


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


def test_plots_have_labels():
    import matplotlib

    matplotlib.use("Agg")
    from course_lib import data, plots

    fig = plots.show_images(data.load_faces(), n=4, ncols=2, title="faces")
    assert fig._suptitle.get_text() == "faces"
    rows = [{"name": n, "k": k, "seed": s, "accuracy": 0.5 + 0.1 * (n == "a")}
            for n in "ab" for k in (1, 2) for s in (0, 1)]
    ax = plots.plot_label_efficiency(rows, chance=0.5)
    assert ax.get_xlabel().startswith("labelled examples") and ax.get_ylabel() == "test accuracy"
    assert len(ax.get_legend().get_texts()) == 3


def test_import_is_cheap():
    """`import course_lib` does no heavy work (no torch import) and takes well under 2 s."""
    code = ("import time, sys; t = time.perf_counter(); import course_lib; "
            "print(time.perf_counter() - t, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert float(out[0]) < 2.0 and out[1] == "False"
    import course_lib

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        course_lib.nope  # noqa: B018
    assert course_lib.repro is repro
