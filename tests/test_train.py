"""One-command training (course_lib.train): the convex head tuned on validation, the whole recipe
with its model card, and the shell commands' one-line errors (run as real subprocesses)."""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from course_lib import export, logistic, predict, train

REPO = Path(__file__).resolve().parents[1]
COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 220)}


def _folder(root: Path, n: int = 10) -> Path:
    rng = np.random.default_rng(0)
    for name, colour in COLOURS.items():
        (root / name).mkdir(parents=True)
        for i in range(n):
            pixels = np.clip(np.array(colour) + rng.normal(0, 40, (24, 32, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i:02d}.jpg")
    return root


def _run(module: str, *args, env_extra: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=timeout)


def _one_line_error(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])


# --------------------------------------------------------------------------- the head

def test_fit_head_picks_C_on_validation_and_matches_scikit_learn():
    from sklearn.linear_model import LogisticRegression

    gen = torch.Generator().manual_seed(0)
    for k in (2, 3):
        y = torch.arange(90) % k
        x = torch.randn(90, 6, generator=gen) + 1.5 * torch.nn.functional.one_hot(y, 6).float()
        head, info = train.fit_head(x[:60] * 5, y[:60], (x[60:] * 5, y[60:]))
        best = max(info["grid"], key=lambda r: (r["val_accuracy"], -r["val_loss"], -r["C"]))
        assert info["C"] == best["C"] and info["val_accuracy"] == best["val_accuracy"]
        assert info["converged"] and len(info["grid"]) == len(train.HEAD_GRID) and head.out_features == k
        reference = LogisticRegression(C=info["C"], max_iter=5000, tol=1e-8).fit(
            ((x[:60] * 5).double().numpy() - info["centre"]) / info["scale"], y[:60].numpy())
        with torch.no_grad():
            ours = head(x[60:] * 5).softmax(1).double().numpy()
        expected = reference.predict_proba(((x[60:] * 5).double().numpy() - info["centre"]) / info["scale"])
        assert np.allclose(ours, expected, atol=1e-3)


def test_single_precision_first_then_the_double_precision_test_gives_the_same_head():
    """Each C is solved in float32 (twice as fast), then checked and finished in float64."""
    gen = torch.Generator().manual_seed(2)
    y = (torch.arange(300) % 4).numpy()
    x = (torch.randn(300, 40, generator=gen) + 2 * torch.nn.functional.one_hot(torch.from_numpy(y), 40)).double().numpy()
    x = (x - x.mean(0)) / x.std()
    grid = train.HEAD_GRID
    fast = train._fit_chain(x, y, grid, None, np.zeros(40), 1.0, single=x.astype(np.float32))
    plain = train._fit_chain(x, y, grid, None, np.zeros(40), 1.0)
    for (C, a, a_ok, a_steps), (_, b, b_ok, _) in zip(fast, plain):
        assert a_ok and b_ok and a.coef.dtype == np.float64 and a_steps >= 1
        assert np.allclose(logistic.probabilities(x, a.coef, a.intercept),
                           logistic.probabilities(x, b.coef, b.intercept), atol=1e-4), C


def test_fit_head_without_validation_and_with_a_missing_class():
    x, y = torch.randn(20, 3), torch.arange(20) % 2
    head, info = train.fit_head(x, y)
    assert info["C"] == 1.0 and info["val_accuracy"] is None and len(info["grid"]) == 1
    with pytest.raises(ValueError, match=r"Classes \[2\] have no training example"):
        train.fit_head(x, y, num_classes=3)


def test_fit_head_reuses_kept_solutions_only_where_they_still_hold(tmp_path):
    gen = torch.Generator().manual_seed(1)
    y = torch.arange(240) % 3
    x = torch.randn(240, 20, generator=gen) + torch.nn.functional.one_hot(y, 20).float()
    first_head, first = train.fit_head(x[:150], y[:150], (x[150:], y[150:]))
    assert sorted(first["solutions"]) == sorted(train.HEAD_GRID)
    kept = train.save_solutions(tmp_path / "starts.safetensors", first["solutions"])
    # the same photos again (a re-run): every kept solution passes the test, 0 Newton steps
    again_head, again = train.fit_head(x[:150], y[:150], (x[150:], y[150:]), start=train.load_solutions(kept))
    assert again["converged"] and all(r["iterations"] == 0 for r in again["grid"])
    with torch.no_grad():
        assert torch.allclose(again_head(x), first_head(x), atol=1e-5)
    # 2 % more photos: the kept solutions no longer hold; the head is the one a fresh fit gives
    more_x, more_y = torch.cat([x[:150], x[:3] + 0.05]), torch.cat([y[:150], y[:3]])
    fresh_head, fresh = train.fit_head(more_x, more_y, (x[150:], y[150:]))
    warm_head, warm = train.fit_head(more_x, more_y, (x[150:], y[150:]), start=train.load_solutions(kept))
    assert warm["C"] == fresh["C"] and warm["converged"]
    assert [r["iterations"] for r in warm["grid"]] == [r["iterations"] for r in fresh["grid"]]
    assert torch.equal(warm_head.weight, fresh_head.weight) and torch.equal(warm_head.bias, fresh_head.bias)
    (tmp_path / "broken.safetensors").write_bytes(b"not safetensors")
    assert train.load_solutions(tmp_path / "broken.safetensors") is None
    assert train.load_solutions(tmp_path / "missing.safetensors") is None
    two = train.fit_head(x[:150], (y[:150] > 0).long(), start=first["solutions"])[1]   # other classes
    assert two["converged"]


@pytest.mark.parametrize("classes", [2, 3])
def test_max_gradient_is_the_gradient_scikit_learn_tests(classes):
    """The test a kept solution must pass is scikit-learn's own: the same gradient, and it holds
    at scikit-learn's solution."""
    from sklearn._loss.loss import HalfBinomialLoss, HalfMultinomialLoss
    from sklearn.linear_model import LogisticRegression
    from sklearn.linear_model._linear_loss import LinearModelLoss

    rng = np.random.default_rng(classes)
    x, y = rng.normal(size=(80, 5)), np.arange(80) % classes
    C = 0.7
    w, b = rng.normal(size=(1 if classes == 2 else classes, 5)), rng.normal(size=1 if classes == 2 else classes)
    loss = LinearModelLoss(HalfBinomialLoss() if classes == 2 else HalfMultinomialLoss(n_classes=classes),
                           fit_intercept=True)
    if classes == 2:
        coef, target = np.r_[w[0], b], y.astype(np.float64)
    else:
        coef, target = np.hstack([w, b[:, None]]), y.astype(np.float64)
    grad = loss.gradient(coef, x, target, l2_reg_strength=1.0 / (C * len(y)))
    assert train.max_gradient(x, y, C, w, b) == pytest.approx(np.abs(grad).max(), rel=1e-9)
    clf = LogisticRegression(C=C, solver="newton-cg", tol=train.TOL, max_iter=1000).fit(x, y)
    assert train.max_gradient(x, y, C, clf.coef_, clf.intercept_) <= train.TOL


# --------------------------------------------------------------------------- the whole recipe

def test_the_command_imports_neither_scikit_learn_nor_scipy(tmp_path):
    """Importing scikit-learn (and the SciPy it loads) took 0.8 s of a second run's 2 s: the
    command's head is fitted by course_lib.logistic, so a run must not load them."""
    folder = _folder(tmp_path / "colours", n=5)
    code = ("import sys; from course_lib import train; "
            f"train.train_folder({str(folder)!r}, {str(tmp_path / 'model')!r}, image_size=32, progress=False, "
            "say=lambda line: None); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'scipy'}))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           "COURSE_OUTPUT_DIR": str(tmp_path / "outputs")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"
    assert (tmp_path / "model" / "head.safetensors").is_file()


def test_train_folder_writes_a_model_and_its_card(tmp_path, monkeypatch):
    folder = _folder(tmp_path / "colours")
    lines: list[str] = []
    card = train.train_folder(folder, tmp_path / "model", image_size=32, say=lines.append, progress=False)
    model = tmp_path / "model"
    assert sorted(p.name for p in model.iterdir()) == ["README.md", "classifier.json", "head.safetensors",
                                                        "model_card.json", "split.json"]
    assert [line[:5] for line in lines if line.startswith("[")] == [f"[{i}/6]" for i in range(1, 7)]
    stored = json.loads((model / "model_card.json").read_text())
    assert stored["format"] == export.CARD_FORMAT and stored["classes"] == ["blue", "green", "red"]
    assert stored["counts"] == {c: {"train": 6, "val": 2, "test": 2} for c in stored["classes"]}
    test = stored["metrics"]["test"]
    assert test["total"] == 6 and 0 <= test["interval95"][0] <= test["accuracy"] <= test["interval95"][1] <= 1
    assert np.array(stored["confusion_test"]).sum() == 6 and stored["metrics"]["val"]["total"] == 6
    assert stored["preprocess"]["image_size"] == 32 and stored["backbone"]["name"] == "efficientnet_lite0"
    assert len(stored["backbone"]["weights_fingerprint"]) == 32 and stored["head"]["converged"]
    assert {"python", "torch", "numpy", "course_lib"} <= set(stored["versions"])
    assert stored["date"].endswith("UTC") and stored["split"]["file"] == "split.json"
    split = json.loads((model / "split.json").read_text())
    assert sum(len(v) for v in split["parts"].values()) == 30 and split == json.loads(
        Path(stored["split"]["kept_at"]).read_text())
    readme = (model / "README.md").read_text()
    for heading in ("# Model card: colours", "## How well it does", "## The photos", "## How it was made",
                    "## Software", "## Use it"):
        assert heading in readme
    assert f"{test['correct']} of 6" in readme and "| red | 6 | 2 | 2 |" in readme
    assert card["metrics"] == stored["metrics"]
    again: list[str] = []
    from course_lib import photos, splits

    listed = []
    scan_folder = photos.scan_folder
    for module in (photos, splits):
        monkeypatch.setattr(module, "scan_folder", lambda root: listed.append(root) or scan_folder(root))
    train.train_folder(folder, model, image_size=32, say=again.append, progress=False)
    assert "0 computed, 30 from the cache" in "\n".join(again)           # the second run reads nothing
    assert len(listed) == 1                                              # ...and lists the folder once
    starts = list(Path(os.environ["COURSE_OUTPUT_DIR"]).rglob("head_starts/*.safetensors"))
    assert len(starts) == 1 and train.load_solutions(starts[0])         # ...and its head starts from the last
    clf = export.load_classifier(model)
    assert clf.predict(folder / "red" / "00.jpg").label in clf.classes


def test_train_folder_refuses_to_overwrite_or_nest_before_doing_anything(tmp_path):
    from course_lib.errors import DatasetLayoutError

    folder = _folder(tmp_path / "colours", n=3)
    other = tmp_path / "my_notes"
    other.mkdir()
    (other / "thesis.txt").write_text("keep me")
    with pytest.raises(DatasetLayoutError, match="already holds other files"):
        train.train_folder(folder, other, image_size=32)
    assert [p.name for p in other.iterdir()] == ["thesis.txt"]
    with pytest.raises(DatasetLayoutError, match="inside the photo folder"):
        train.train_folder(folder, folder / "model", image_size=32)
    assert not (folder / "model").exists()


# --------------------------------------------------------------------------- the shell commands

@pytest.mark.slow
def test_train_command_help_does_nothing_and_errors_are_one_line(tmp_path):
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    env = {"COURSE_OUTPUT_DIR": str(outputs)}
    helped = _run("course_lib.train", "--help", env_extra=env)
    assert helped.returncode == 0 and "FOLDER" in helped.stdout.upper() and "MODEL_DIR" in helped.stdout
    assert list(outputs.iterdir()) == []                                  # --help acted on nothing
    _one_line_error(_run("course_lib.train", tmp_path / "nowhere", tmp_path / "m", env_extra=env),
                    "nowhere is not a folder")
    single = tmp_path / "single"
    (single / "cats").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(single / "cats" / "a.png")
    _one_line_error(_run("course_lib.train", single, tmp_path / "m", env_extra=env), "single class folder")
    folder = _folder(tmp_path / "colours", n=5)
    (folder / "red" / "broken.jpg").write_bytes(b"not a photo")
    _one_line_error(_run("course_lib.train", folder, tmp_path / "m", "--size", "32", env_extra=env),
                    "red/broken.jpg", "--skip-bad")
    assert not (tmp_path / "m").exists()                                  # nothing written
    done = _run("course_lib.train", folder, tmp_path / "m", "--size", "32", "--skip-bad", "--quiet",
                env_extra=env)
    assert done.returncode == 0, done.stderr
    assert "[6/6] export" in done.stdout and "warning: Skipped 1 unreadable photo" in done.stderr
    assert json.loads((tmp_path / "m" / "model_card.json").read_text())["skipped"] == ["red/broken.jpg"]


def _model_folder(tmp_path: Path) -> Path:
    from torch import nn

    from course_lib.photos import Preprocess

    return export.export_classifier(tmp_path / "model", backbone="efficientnet_lite0", head=nn.Linear(1280, 3),
                                    classes=["a", "b", "c"], preprocess=Preprocess(32))


def test_damaged_and_hostile_model_folders_are_refused_in_one_line(tmp_path, capsys):
    photo = tmp_path / "p.png"
    Image.new("RGB", (40, 30)).save(photo)
    folder = _model_folder(tmp_path)
    config = json.loads((folder / "classifier.json").read_text())
    cases = {
        "pickle": lambda: (folder / "head.safetensors").write_bytes(pickle.dumps({"weight": torch.zeros(3, 1280)})),
        "truncated": lambda: (folder / "head.safetensors").write_bytes(
            (tmp_path / "good.safetensors").read_bytes()[:100]),
        "classes": lambda: (folder / "classifier.json").write_text(json.dumps({**config, "classes": ["a", "b"]})),
        "duplicate": lambda: (folder / "classifier.json").write_text(json.dumps({**config, "classes": ["a", "a", "b"]})),
        "backbone": lambda: (folder / "classifier.json").write_text(json.dumps({**config, "backbone": "os.system"})),
        "size": lambda: (folder / "classifier.json").write_text(
            json.dumps({**config, "preprocess": {**config["preprocess"], "image_size": "huge"}})),
        "json": lambda: (folder / "classifier.json").write_text("[1, 2"),
        "missing": lambda: (folder / "head.safetensors").unlink(),
    }
    expected = {"pickle": "is not a safetensors file", "truncated": "is not a safetensors file",
                "classes": "3 outputs but classifier.json lists 2", "duplicate": "at least two different class",
                "backbone": "unknown backbone 'os.system'", "size": "image_size must be an integer",
                "json": "is not valid JSON", "missing": "head.safetensors is missing"}
    (tmp_path / "good.safetensors").write_bytes((folder / "head.safetensors").read_bytes())
    for name, damage in cases.items():
        _model_folder(tmp_path)
        damage()
        with pytest.raises(export.ModelFolderError, match=expected[name]):
            export.load_classifier(folder)
        assert predict.main([str(folder), str(photo)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and expected[name] in err[0], (name, err)


@pytest.mark.slow
def test_predict_command_refuses_a_pickled_head_in_one_line_and_runs_nothing(tmp_path):
    photo = tmp_path / "p.png"
    Image.new("RGB", (40, 30)).save(photo)
    folder = _model_folder(tmp_path)
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    (folder / "head.safetensors").write_bytes(pickle.dumps(Payload()))
    _one_line_error(_run("course_lib.predict", folder, photo), "not a safetensors file")
    assert not marker.exists()
    _model_folder(tmp_path)
    config = json.loads((folder / "classifier.json").read_text())
    (folder / "classifier.json").write_text(json.dumps({**config, "classes": ["a", "b", "c", "d"]}))
    _one_line_error(_run("course_lib.predict", folder, photo), "3 outputs but classifier.json lists 4")


def test_predict_top_k_and_csv(tmp_path, capsys):
    from torch import nn

    from course_lib.photos import Preprocess

    head = nn.Linear(1280, 3)
    folder = export.export_classifier(tmp_path / "m", backbone="efficientnet_lite0", head=head,
                                      classes=["a", "b", "c"], preprocess=Preprocess(32))
    photos_dir = tmp_path / "new"
    photos_dir.mkdir()
    for i in range(3):
        Image.new("RGB", (40, 30), (80 * i, 40, 200)).save(photos_dir / f"{i}.png")
    (photos_dir / "bad.jpg").write_bytes(b"xx")
    out_csv = tmp_path / "pred.csv"
    assert predict.main([str(folder), str(photos_dir), "--top", "2", "--csv", str(out_csv), "--quiet"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and len(lines[0].split("\t")) == 5            # file, 2 × (label, probability)
    assert lines[-1].startswith(str(photos_dir / "bad.jpg")) and "\terror: " in lines[-1]
    import csv

    rows = list(csv.reader(out_csv.open()))
    assert rows[0] == ["file", "label_1", "probability_1", "label_2", "probability_2", "error"]
    assert len(rows) == 5 and rows[1][1] in "abc" and float(rows[1][2]) >= float(rows[1][4])
    assert rows[4][-1] and rows[4][1] == ""
    clf = export.load_classifier(folder)
    probs = clf.probabilities([photos_dir / "0.png"])[0]
    assert rows[1][1] == clf.classes[int(probs.argmax())] and abs(float(rows[1][2]) - float(probs.max())) < 1e-3
    assert predict.main([str(folder), str(photos_dir), "--top", "9", "--quiet"]) == 1      # K > classes: all
    assert len(capsys.readouterr().out.splitlines()[0].split("\t")) == 7
    assert predict.main([str(folder), str(photos_dir), "--top", "0"]) == 2
    assert predict.main([str(folder), str(photos_dir), "--csv", str(tmp_path / "no" / "x.csv")]) == 2
    assert "its folder does not exist" in capsys.readouterr().err


def test_a_split_layout_without_test_photos_says_so(tmp_path):
    folder = tmp_path / "given"
    _folder(folder / "train", n=6)
    _folder(folder / "val", n=2)
    lines: list[str] = []
    card = train.train_folder(folder, tmp_path / "model", image_size=32, say=lines.append, progress=False)
    assert set(card["metrics"]) == {"val"} and card["confusion_test"] is None
    assert any("no test photos" in line for line in lines)
    readme = (tmp_path / "model" / "README.md").read_text()
    assert "validation (chose the head)" in readme and "test (used once" not in readme
    def no_nan(constant):
        raise AssertionError(f"{constant} in model_card.json: not valid JSON")

    json.loads((tmp_path / "model" / "model_card.json").read_text(), parse_constant=no_nan)
