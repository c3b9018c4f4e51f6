"""What the model gets wrong (course_lib.interpret): confusion matrix, per-class precision and
recall, worst validation photos, and the cleaner that moves, never deletes."""
from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch
from PIL import Image

from course_lib import interpret, splits
from course_lib.interpret import Cleaner, confusion_matrix, per_class_metrics, worst_mistakes

matplotlib.use("Agg")


def test_confusion_matrix_and_metrics_against_sklearn():
    from sklearn.metrics import confusion_matrix as sk_cm
    from sklearn.metrics import precision_recall_fscore_support

    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 3, 50), rng.integers(0, 3, 50)
    cm = confusion_matrix(y, p, 3)
    assert (cm == sk_cm(y, p, labels=[0, 1, 2])).all()
    precision, recall, _, support = precision_recall_fscore_support(y, p, labels=[0, 1, 2], zero_division=0)
    rows = per_class_metrics(cm, ["a", "b", "c"])
    assert np.allclose([r["precision"] for r in rows], precision)
    assert np.allclose([r["recall"] for r in rows], recall)
    assert [r["support"] for r in rows] == support.tolist()
    with pytest.raises(ValueError, match="must match"):
        confusion_matrix([0, 1], [0], 2)


def test_undefined_ratios_are_nan_not_zero_division():
    rows = per_class_metrics(np.array([[2, 0], [0, 0]]), ["a", "b"])
    assert math.isnan(rows[1]["precision"]) and math.isnan(rows[1]["recall"])
    assert "nan" in interpret.report(np.array([[2, 0], [0, 0]]), ["a", "b"])
    assert "accuracy nan on 0 photos" in interpret.report(np.zeros((2, 2), int), ["a", "b"])


def test_worst_mistakes_order_and_only_wrong():
    probs = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.45, 0.55], [0.6, 0.4]])
    labels = [0, 0, 0, 1]
    worst = worst_mistakes(probs, labels, ["a", "b"], ["p0", "p1", "p2", "p3"], n=4)
    assert [m.path for m in worst] == ["p1", "p3", "p2", "p0"]
    assert worst[0].wrong and worst[0].predicted == "b" and worst[0].probability == pytest.approx(0.8)
    assert worst[0].p_true == pytest.approx(0.2) and not worst[3].wrong
    only = worst_mistakes(probs, labels, ["a", "b"], ["p0", "p1", "p2", "p3"], n=10, only_wrong=True)
    assert [m.path for m in only] == ["p1", "p3", "p2"]


def test_plots_have_labels(capsys):
    cm = np.array([[5, 1], [2, 7]])
    ax = interpret.plot_confusion(cm, ["cat", "dog"])
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    assert [t.get_text() for t in ax.texts] == ["5", "1", "2", "7"]
    images = torch.zeros(2, 3, 8, 8, dtype=torch.uint8)
    worst = worst_mistakes(torch.tensor([[0.3, 0.7], [0.9, 0.1]]), [0, 0], ["cat", "dog"], ["a.jpg", "b.jpg"])
    fig = interpret.plot_worst(worst, images, ncols=4)
    assert "pred dog (0.70)" in fig.axes[0].get_title() and len(fig.axes) == 2
    assert interpret.plot_worst([], images) is None and "Nothing to show" in capsys.readouterr().out
    assert interpret._short("x" * 40).startswith("…") and len(interpret._short("x" * 40)) == 26


def _folder(root: Path, counts) -> Path:
    for cls, n in counts.items():
        (root / cls).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            Image.new("RGB", (8, 8), (i, 0, 0)).save(root / cls / f"{i}.png")
    return root


def _all_bytes(root: Path) -> list[bytes]:
    return sorted(p.read_bytes() for p in root.rglob("*") if p.is_file())


def test_set_aside_moves_and_never_deletes(tmp_path):
    root = _folder(tmp_path / "photos", {"cat": 5, "dog": 5})
    before = _all_bytes(root)
    split = splits.split_folder(root, split_file=tmp_path / "s.json")
    cleaner = Cleaner(root, split)
    rel = split.parts["val"][0][0]
    target = cleaner.set_aside(rel)
    assert target == root / "_set_aside" / rel and target.is_file() and not (root / rel).exists()
    assert _all_bytes(root) == before                                  # every photo still there
    assert rel not in [r for part in split.parts.values() for r, _ in part]
    stored = json.loads((tmp_path / "s.json").read_text())
    assert rel not in [r for part in stored["parts"].values() for r, _ in part]
    with pytest.warns(UserWarning, match="only 4 photo"):
        again = splits.split_folder(root, split_file=tmp_path / "s.json")   # the scan skips _set_aside/
    assert again.parts == split.parts
    Image.new("RGB", (8, 8)).save(root / rel)                           # the same name once more
    split.parts["train"].append((rel, rel.split("/")[0]))
    second = cleaner.set_aside(rel)
    assert second.name.endswith("_1.png") and target.is_file()         # nothing overwritten
    assert cleaner.log[0].startswith("set aside ")
    with pytest.raises(FileNotFoundError, match="already moved"):
        cleaner.set_aside(rel)


def test_relabel_moves_between_class_folders_and_keeps_the_part(tmp_path):
    root = _folder(tmp_path / "photos", {"cat": 5, "dog": 5})
    split = splits.split_folder(root, split_file=tmp_path / "s.json")
    cleaner = Cleaner(root, split)
    rel = split.parts["test"][0][0]
    assert rel.startswith("cat/")
    target = cleaner.relabel(rel, "dog")
    assert target.parent == root / "dog" and target.is_file() and not (root / rel).exists()
    assert split.parts["test"][0] != (rel, "cat")
    assert (target.relative_to(root).as_posix(), "dog") in split.parts["test"]
    with pytest.raises(ValueError, match="already in class 'dog'; nothing to move"):
        cleaner.relabel(target.relative_to(root).as_posix(), "dog")
    assert cleaner.moved == {rel: target.relative_to(root).as_posix()} and len(cleaner.log) == 1
    with pytest.raises(ValueError, match="not one of the classes"):
        cleaner.relabel("cat/1.png", "bird")


def test_relabel_in_a_train_val_test_layout_stays_in_its_part(tmp_path):
    root = tmp_path / "data"
    _folder(root / "train", {"ants": 5, "bees": 5})
    _folder(root / "val", {"ants": 2, "bees": 2})
    _folder(root / "test", {"ants": 2, "bees": 2})
    target = Cleaner(root).relabel("val/ants/0.png", "bees")
    assert target == root / "val" / "bees" / "0_1.png"                  # 0.png taken: numbered
    assert (root / "val" / "bees" / "0.png").is_file()


def test_cleaner_widget_and_fallback(tmp_path):
    root = _folder(tmp_path / "photos", {"cat": 5, "dog": 5})
    split = splits.split_folder(root, split_file=tmp_path / "s.json", val=0.0, test=0.0)
    cleaner = Cleaner(root, split)
    probs = torch.tensor([[0.2, 0.8], [0.3, 0.7], [0.9, 0.1]])
    paths = ["cat/0.png", "cat/1.png", "cat/2.png"]
    worst = worst_mistakes(probs, [0, 0, 0], ["cat", "dog"], paths, n=3)
    text = interpret.cleaner_fallback(cleaner, worst)
    assert "cleaner.set_aside('cat/0.png')" in text and "cleaner.relabel('cat/0.png', 'dog')" in text
    assert (root / "cat" / "0.png").is_file()                            # the fallback moves nothing
    images = torch.zeros(3, 3, 8, 8, dtype=torch.uint8)
    box = interpret.cleaner_widget(cleaner, worst, images, ["cat", "dog"])
    grid = box.children[0]
    dropdowns = [row.children[2] for row in grid.children]
    assert dropdowns[0].options[:2] == ("keep", "set aside") and all(d.value == "keep" for d in dropdowns)
    box.apply()                                                          # all "keep": nothing moves
    assert cleaner.log == []
    dropdowns[0].value = "set aside"
    dropdowns[1].value = "relabel: dog"
    box.apply()
    assert (root / "_set_aside" / "cat" / "0.png").is_file() and (root / "dog" / "1_1.png").is_file()
    assert (root / "cat" / "2.png").is_file() and len(cleaner.log) == 2
    assert dropdowns[0].disabled and "Moved 2 photo(s)" in box.children[1].children[1].value
    box.apply()                                                          # pressed again: no double move
    assert len(cleaner.log) == 2 and "Nothing new to move" in box.children[1].children[1].value


def test_cleaner_never_offers_a_photo_its_own_class_and_counts_only_real_moves(tmp_path):
    root = _folder(tmp_path / "photos", {"eight": 5, "nine": 5, "three": 5})
    split = splits.split_folder(root, split_file=tmp_path / "s.json", val=0.0, test=0.0)
    cleaner = Cleaner(root, split)
    classes = ["eight", "nine", "three"]
    probs = torch.tensor([[0.1, 0.2, 0.7], [0.6, 0.3, 0.1], [0.2, 0.5, 0.3]])
    worst = worst_mistakes(probs, [0, 1, 2], classes, ["eight/0.png", "nine/0.png", "three/0.png"], n=3)
    images = torch.rand(3, 3, 8, 8)                                      # float images show too
    box = interpret.cleaner_widget(cleaner, worst, images, classes)
    for m, row in zip(worst, box.children[0].children):
        own = m.path.split("/")[0]
        assert f"relabel: {own}" not in row.children[2].options         # never its own class
        assert len(row.children[2].options) == 2 + len(classes) - 1
    dropdowns = [row.children[2] for row in box.children[0].children]
    dropdowns[0].value = "set aside"
    (root / worst[1].path).unlink()                                     # gone meanwhile: not counted
    dropdowns[1].value = "set aside"
    box.apply()
    status = box.children[1].children[1].value
    assert "Moved 1 photo(s)" in status and "Not moved: " + worst[1].path in status
    assert len(cleaner.log) == 1 and not dropdowns[1].disabled


def test_fallback_lines_reflect_what_moved(tmp_path):
    root = _folder(tmp_path / "photos", {"cat": 5, "dog": 5})
    cleaner = Cleaner(root)
    worst = worst_mistakes(torch.tensor([[0.2, 0.8], [0.4, 0.6]]), [0, 0], ["cat", "dog"],
                           ["cat/0.png", "cat/1.png"], n=2)
    before = interpret.cleaner_fallback(cleaner, worst)
    assert "nothing has been moved yet" in before and "cat/0.png" in before
    cleaner.set_aside("cat/0.png")
    after = interpret.cleaner_fallback(cleaner, worst)
    assert "nothing has been moved" not in after and "Moved so far: 1 photo(s)" in after
    assert "'cat/0.png'" not in after and "'cat/1.png'" in after
    cleaner.relabel("cat/1.png", "dog")
    assert "every photo shown has been moved" in interpret.cleaner_fallback(cleaner, worst)


def test_show_cleaner_refreshes_the_printed_lines_after_apply(tmp_path, monkeypatch):
    import IPython.display

    shown = []

    class Handle:
        def update(self, obj):
            shown.append(("update", str(obj.data)))

    def display(obj, display_id=False):
        shown.append(("display", getattr(obj, "data", obj)))
        return Handle() if display_id else None

    monkeypatch.setattr(IPython.display, "display", display)
    root = _folder(tmp_path / "photos", {"cat": 5, "dog": 5})
    cleaner = Cleaner(root)
    worst = worst_mistakes(torch.tensor([[0.2, 0.8]]), [0], ["cat", "dog"], ["cat/0.png"], n=1)
    box = interpret.show_cleaner(cleaner, worst, torch.rand(1, 3, 8, 8), ["cat", "dog"])
    assert "nothing has been moved yet" in shown[1][1]
    box.children[0].children[0].children[2].value = "relabel: dog"
    box.apply()
    assert shown[-1][0] == "update" and "Moved so far: 1 photo(s)" in shown[-1][1]


@pytest.mark.slow
def test_notebook_10_runs_again_after_cleaning_and_says_how_to_restore(repo_dir, tmp_path):
    """Clean the demo folder as a learner would, then run notebook 10 again from the top."""
    import sys

    import nbformat
    from nbclient import NotebookClient

    from course_lib.paths import output_dir

    sys.path.insert(0, str(repo_dir / "data_scripts"))
    import build_demo_folder

    folder = build_demo_folder.build(output_dir() / "demo_digits")
    split = splits.split_folder(folder, val=0.2, test=0.2, seed=0)
    cleaner = Cleaner(folder, split)
    (first, first_class), (second, _) = split.parts["val"][0], split.parts["val"][-1]
    cleaner.set_aside(first)
    cleaner.relabel(second, first_class)
    assert build_demo_folder.changes(folder)

    nb = nbformat.read(repo_dir / "notebooks" / "10_your_own_data.ipynb", as_version=4)
    for cell in nb.cells:                                     # skip the optional, slow section 7
        cell.source = cell.source.replace("BEYOND = True", "BEYOND = False")
    NotebookClient(nb, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(repo_dir / "notebooks")}}).execute()
    printed = "".join(o.get("text", "") for o in nb.cells[2].outputs)
    assert "has been cleaned (2 photo(s) moved)" in printed and "build_demo_folder.restore(folder)" in printed

    build_demo_folder.restore(folder)
    assert build_demo_folder.changes(folder) == []
    again = splits.split_folder(folder, val=0.2, test=0.2, seed=0)
    assert again.counts() == {c: {"train": 30, "val": 10, "test": 10} for c in ("eight", "five", "nine", "three")}
