"""Export a photo classifier to one folder, load it without unpickling, predict from Python and
from the shell (course_lib.export, course_lib.predict), plus the recipe's device-aware helpers."""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image
from torch import nn

from course_lib import loop, models, recipe
from course_lib.evaluation import accuracy_of
from course_lib.export import ModelFolderError, export_classifier, load_classifier
from course_lib.photos import PhotoSet, Preprocess
from course_lib.predict import main, predict

REPO = Path(__file__).resolve().parents[1]
SIZE = 32


@pytest.fixture(scope="module")
def extractor():
    return models.remove_head(models.load_backbone("efficientnet_lite0").model).eval()


def _photos(tmp_path: Path) -> Path:
    folder = tmp_path / "new"
    folder.mkdir()
    Image.new("RGB", (50, 40), (250, 10, 10)).save(folder / "red.jpg")
    Image.new("RGB", (40, 50), (10, 10, 250)).save(folder / "blue.png")
    return folder


def _trained(tmp_path: Path, extractor) -> tuple[Path, Preprocess, nn.Linear]:
    """A head that tells red from blue photos, trained on features of the real backbone."""
    pre = Preprocess.for_backbone("efficientnet_lite0", SIZE)
    images = torch.stack([pre.prepare(Image.new("RGB", (40, 40), c)) for c in
                          [(255 - i, 5 * i, 0) for i in range(6)] + [(0, 5 * i, 255 - i) for i in range(6)]])
    photos = PhotoSet(images, [0] * 6 + [1] * 6, ["red", "blue"], [f"{i}.png" for i in range(12)], tmp_path, pre)
    x, y = recipe.photo_features(extractor, photos, device="cpu")
    assert x.shape == (12, 1280) and torch.equal(y, photos.labels)
    head = nn.Linear(1280, 2)
    loop.train(head, (x, y), lr=1e-2, cap=30, val=(x, y), device="cpu")
    info = {"val_acc": accuracy_of(head, x, y)}
    assert info["val_acc"] == 1.0
    folder = export_classifier(tmp_path / "model", backbone="efficientnet_lite0", head=head,
                               classes=photos.classes, preprocess=pre, metrics={"val_acc": info["val_acc"]})
    return folder, pre, head


def test_export_load_predict_round_trip(tmp_path, extractor):
    folder, pre, head = _trained(tmp_path, extractor)
    assert sorted(p.name for p in folder.iterdir()) == ["classifier.json", "head.safetensors"]
    config = json.loads((folder / "classifier.json").read_text())
    assert config["classes"] == ["red", "blue"] and config["preprocess"]["image_size"] == SIZE
    clf = load_classifier(folder, device="cpu")
    assert clf.preprocess == pre and clf.metrics == {"val_acc": 1.0}
    assert torch.equal(clf.head.weight, head.weight)
    new = _photos(tmp_path)
    label, p = clf.predict(new / "red.jpg")
    assert label == "red" and 0.5 < p <= 1.0
    assert clf.predict(Image.open(new / "blue.png")).label == "blue"
    assert predict(folder, new / "blue.png")[0] == "blue"
    assert "PhotoClassifier(efficientnet_lite0" in repr(clf)


def test_predicting_in_lanes_gives_what_one_thread_gives(tmp_path, extractor, monkeypatch):
    from course_lib import cpu

    folder, _, _ = _trained(tmp_path, extractor)
    clf = load_classifier(folder, device="cpu")
    files = sorted(_photos(tmp_path).iterdir()) * 5 + [tmp_path / "missing.jpg"]
    with cpu.cpu_threads(1):
        one = list(clf.classify_files(files, batch_size=2, num_workers=0))
    clf.features.train()                                  # a lane never sees train mode
    monkeypatch.setattr(recipe, "network_lanes", lambda workers, device="cpu": 3)
    lanes = list(clf.classify_files(files, batch_size=2, num_workers=1))
    assert [(f, e) for f, _, e in lanes] == [(f, e) for f, _, e in one] and "no such file" in one[-1][2]
    assert all(torch.equal(a, b) for (_, a, _), (_, b, _) in zip(one[:-1], lanes[:-1]))
    assert clf.features.training


def test_loading_never_unpickles(tmp_path, extractor, monkeypatch):
    folder, _, _ = _trained(tmp_path, extractor)

    def refuse(*args, **kwargs):
        raise AssertionError("pickle.load was called")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    real_torch_load = torch.load

    def only_weights(*args, **kwargs):          # the pip package's pretrained weights: weights only
        assert kwargs.get("weights_only") is True
        return real_torch_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", only_weights)
    load_classifier(folder, device="cpu")


def test_fine_tuned_backbone_is_saved_and_restored(tmp_path, extractor):
    folder, pre, head = _trained(tmp_path, extractor)
    tuned = models.remove_head(models.load_backbone("efficientnet_lite0").model)
    with torch.no_grad():
        tuned._conv_head.weight.mul_(0.5)
    export_classifier(folder, backbone="efficientnet_lite0", head=head, classes=["red", "blue"],
                      preprocess=pre, backbone_model=tuned)
    assert (folder / "backbone.safetensors").is_file()
    clf = load_classifier(folder, device="cpu")
    assert torch.equal(clf.features._conv_head.weight, tuned._conv_head.weight)
    export_classifier(folder, backbone="efficientnet_lite0", head=head, classes=["red", "blue"], preprocess=pre)
    assert not (folder / "backbone.safetensors").exists()             # no stale backbone left
    (folder / "backbone.safetensors").write_bytes(b"")
    config = json.loads((folder / "classifier.json").read_text())
    (folder / "classifier.json").write_text(json.dumps({**config, "fine_tuned_backbone": True}))
    (folder / "backbone.safetensors").unlink()
    with pytest.raises(ModelFolderError, match="backbone.safetensors is missing"):
        load_classifier(folder)


def test_export_refuses_mismatches(tmp_path):
    with pytest.raises(ValueError, match="2 outputs but 3 class names"):
        export_classifier(tmp_path, backbone="efficientnet_lite0", head=nn.Linear(1280, 2),
                          classes=["a", "b", "c"], preprocess=Preprocess(32))
    with pytest.raises(TypeError, match="nn.Linear"):
        export_classifier(tmp_path, backbone="efficientnet_lite0", head=nn.Sequential(),
                          classes=["a"], preprocess=Preprocess(32))


def test_bad_model_folders_say_what_to_do(tmp_path):
    with pytest.raises(ModelFolderError, match="classifier.json is missing"):
        load_classifier(tmp_path)
    (tmp_path / "classifier.json").write_text("{not json")
    with pytest.raises(ModelFolderError, match="not valid JSON"):
        load_classifier(tmp_path)
    (tmp_path / "classifier.json").write_text(json.dumps({"format": "keras"}))
    with pytest.raises(ModelFolderError, match="not written by this course"):
        load_classifier(tmp_path)
    folder = export_classifier(tmp_path / "m", backbone="efficientnet_lite0", head=nn.Linear(1280, 2),
                               classes=["a", "b"], preprocess=Preprocess(32))
    config = json.loads((folder / "classifier.json").read_text())
    (folder / "classifier.json").write_text(json.dumps({**config, "classes": ["a", "b", "c"]}))
    with pytest.raises(ModelFolderError, match="2 outputs but classifier.json lists 3"):
        load_classifier(folder)
    (folder / "head.safetensors").unlink()
    with pytest.raises(ModelFolderError, match="head.safetensors is missing"):
        load_classifier(folder)


def test_command_line_prints_one_line_per_photo(tmp_path, extractor, capsys):
    folder, _, _ = _trained(tmp_path, extractor)
    new = _photos(tmp_path)
    (new / ".DS_Store").write_bytes(b"x")
    (new / "broken.jpg").write_bytes(b"xx")
    (new / "IMG_2.HEIC").write_bytes(b"xx")
    code = main([str(folder), str(new / "red.jpg"), str(new)])
    lines = capsys.readouterr().out.splitlines()
    assert code == 1 and len(lines) == 5                              # red twice, blue, broken, heic
    assert lines[0].split("\t")[:2] == [str(new / "red.jpg"), "red"]
    assert any(line.endswith("\terror: " + line.split("error: ")[-1]) and "broken.jpg" in line for line in lines)
    assert any("IMG_2.HEIC\terror:" in line and "pillow-heif" in line for line in lines)
    assert main([str(folder), str(new / "blue.png")]) == 0
    assert main([str(tmp_path / "nope"), str(new)]) == 2
    assert "nope is not a folder" in capsys.readouterr().err
    assert main([str(new), str(new)]) == 2
    assert "classifier.json is missing" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main([str(folder), str(empty)]) == 1


@pytest.mark.slow
def test_command_line_in_a_fresh_process(tmp_path, extractor):
    folder, _, _ = _trained(tmp_path, extractor)
    new = _photos(tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "course_lib.predict", str(folder), str(new)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    out = sorted(line.split("\t")[1] for line in proc.stdout.splitlines())
    assert out == ["blue", "red"]


# --------------------------------------------------------------------------- recipe helpers

def test_front_and_tail_give_the_backbone_features(extractor):
    x = torch.rand(2, 3, SIZE, SIZE)
    front, tail = recipe.split_last_blocks(extractor, 1)
    with models.evaluating(extractor), torch.no_grad():
        assert torch.allclose(tail(front(x)), extractor(x), atol=1e-5)
    with pytest.raises(ValueError, match="n_blocks"):
        recipe.split_last_blocks(extractor, 0)
    with pytest.raises(ValueError, match="EfficientNet-Lite"):
        recipe.split_last_blocks(nn.Linear(2, 2))


def test_augmented_views_are_seeded_and_differ(tmp_path):
    pre = Preprocess.for_backbone("efficientnet_lite0", SIZE)
    images = torch.randint(0, 255, (4, 3, SIZE, SIZE), dtype=torch.uint8)
    views = [recipe.augment(images, SIZE, seed=s) for s in (0, 1, 0)]
    assert views[0].shape == images.shape and not torch.allclose(views[0], views[1])
    assert torch.equal(views[0], views[2])                          # seeded augmentation


def test_features_move_to_the_picked_device_and_back(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    pre = Preprocess(8, (0.0,) * 3, (1.0,) * 3)
    photos = PhotoSet(torch.full((3, 3, 8, 8), 255, dtype=torch.uint8), [0, 1, 0], ["a", "b"], list("xyz"),
                      tmp_path, pre)
    model = nn.Sequential(nn.Flatten(), nn.Linear(192, 4)).train()
    x, y = recipe.photo_features(model, photos)
    assert x.shape == (3, 4) and x.device.type == "cpu" and model.training      # mode restored
    with pytest.raises(RuntimeError, match="does not have"):
        recipe.photo_features(model, photos, device="cuda:7" if not torch.cuda.is_available() else "mps:9")


def test_join_photo_sets(tmp_path):
    pre = Preprocess.for_backbone("efficientnet_lite0", SIZE)
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 255, (16, 3, SIZE, SIZE), dtype=torch.uint8, generator=gen)
    labels = [0] * 8 + [1] * 8
    pool = PhotoSet(images[::2], labels[::2], ["a", "b"], [str(i) for i in range(8)], tmp_path, pre)
    test = PhotoSet(images[1::2], labels[1::2], ["a", "b"], [str(i) for i in range(8)], tmp_path, pre)
    from course_lib.photos import join
    both = join(pool, test)
    assert len(both) == 16 and both.paths[8] == "0"
    with pytest.raises(ValueError, match="same classes"):
        join(pool, PhotoSet(images[:1], [0], ["x", "y"], ["q"], tmp_path, pre))
