"""The photo reader, the one preprocessing, the folder scan and the kept split (course_lib.photos,
course_lib.splits): every bad input of issue 10's list, built small in tmp_path."""
from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from course_lib import photos, splits
from course_lib.errors import BadImageError, DatasetLayoutError
from course_lib.photos import Preprocess, check_folder, read_photo, scan_folder


def _half_red(size=(40, 20)):
    """Left half red, right half blue: orientation changes are visible in the pixels."""
    a = np.zeros((size[1], size[0], 3), np.uint8)
    a[:, : size[0] // 2] = (255, 0, 0)
    a[:, size[0] // 2:] = (0, 0, 255)
    return Image.fromarray(a)


def _folder(root: Path, counts=None, size=(16, 12)) -> Path:
    counts = counts or {"cat": 10, "dog": 10}
    for cls, n in counts.items():
        (root / cls).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            Image.new("RGB", size, (10 * i % 255, 80, 160)).save(root / cls / f"{i:02d}.png")
    return root


def _snapshot(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------- one file

def test_exif_rotated_jpeg_comes_out_upright(tmp_path):
    upright = _half_red((40, 20))                     # landscape: red left, blue right
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what the camera stored (portrait)
    exif = Image.Exif()
    exif[0x0112] = 6                                  # display: rotate 90° clockwise
    stored.save(tmp_path / "phone.jpg", exif=exif, quality=95)
    im = read_photo(tmp_path / "phone.jpg")
    assert im.size == (40, 20)
    left, right = np.asarray(im)[10, 3], np.asarray(im)[10, 36]
    assert left[0] > 200 and left[2] < 60 and right[2] > 200 and right[0] < 60
    # Without the tag applied the file really is sideways: the test can fail
    with Image.open(tmp_path / "phone.jpg") as raw:
        assert raw.size == (20, 40)


def test_12_megapixel_jpeg_is_downscaled_while_reading(tmp_path):
    Image.new("RGB", (4000, 3000), (200, 100, 50)).save(tmp_path / "big.jpg", quality=80)
    im = read_photo(tmp_path / "big.jpg", min_side=224)
    assert im.size == (500, 375)                      # decoded at 1/8 scale, both sides ≥ 224
    assert read_photo(tmp_path / "big.jpg", min_side=1000).size == (2000, 1500)
    assert Preprocess(224).prepare(tmp_path / "big.jpg").shape == (3, 224, 224)


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    Image.new("CMYK", (20, 10), (0, 255, 255, 0)).save(tmp_path / "print.jpg")   # pure red in CMYK
    im = read_photo(tmp_path / "print.jpg")
    r, g, b = np.asarray(im)[5, 5]
    assert im.mode == "RGB" and r > 200 and g < 60 and b < 60


def test_16_bit_png_is_scaled_not_clipped(tmp_path):
    array = np.full((10, 20), 32768, dtype=np.uint16)             # mid grey in 16 bits
    Image.fromarray(array).save(tmp_path / "scan.png")
    with Image.open(tmp_path / "scan.png") as raw:
        assert raw.mode.startswith("I")
    value = np.asarray(read_photo(tmp_path / "scan.png"))[5, 5]
    assert list(value) == [128, 128, 128]                        # not 255 (clipped) and not 0


def test_animated_gif_gives_its_first_frame(tmp_path):
    frames = [Image.new("RGB", (10, 10), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=100)
    with Image.open(tmp_path / "anim.gif") as raw:
        assert raw.n_frames == 3
    r, g, b = np.asarray(read_photo(tmp_path / "anim.gif"))[5, 5]
    assert r > 200 and g < 60 and b < 60


def test_transparent_and_palette_images(tmp_path):
    Image.new("RGBA", (8, 8), (0, 0, 0, 0)).save(tmp_path / "clear.png")
    Image.new("RGB", (8, 8), (0, 0, 200)).convert("P").save(tmp_path / "pal.gif")
    assert list(np.asarray(read_photo(tmp_path / "clear.png"))[0, 0]) == [255, 255, 255]  # on white
    assert read_photo(tmp_path / "pal.gif").mode == "RGB"


def test_heic_says_how_to_convert(tmp_path):
    (tmp_path / "IMG_0001.HEIC").write_bytes(b"\x00\x00\x00\x18ftypheic")
    with pytest.raises(BadImageError, match="pillow-heif") as info:
        read_photo(tmp_path / "IMG_0001.HEIC", root=tmp_path)
    assert "Most Compatible" in str(info.value) and str(info.value).startswith("IMG_0001.HEIC:")


def test_corrupt_and_missing_files_name_the_file(tmp_path):
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(BadImageError, match=r"^bad.jpg: cannot read it as an image"):
        read_photo(tmp_path / "bad.jpg", root=tmp_path)
    with pytest.raises(BadImageError, match="no such file"):
        read_photo(tmp_path / "gone.jpg")


# --------------------------------------------------------------------------- preprocessing

def test_preprocess_keeps_aspect_and_is_the_same_for_paths_and_images(tmp_path):
    _half_red((60, 20)).save(tmp_path / "wide.png")
    p = Preprocess(16, (0.0,) * 3, (1.0,) * 3)
    x = p(tmp_path / "wide.png")
    assert x.shape == (3, 16, 16)
    # the centre crop of a 3:1 red|blue photo is half red, half blue: not squashed
    assert x[0, :, :6].mean() > 0.9 and x[2, :, 10:].mean() > 0.9
    assert torch.equal(p(tmp_path / "wide.png"), p(Image.open(tmp_path / "wide.png")))
    assert torch.equal(p.prepare(tmp_path / "wide.png"), p.prepare(tmp_path / "wide.png"))


def _old_image_preprocess(p, image):
    """models.ImagePreprocess.__call__ as it was before the two preprocessings were merged."""
    from course_lib.models import _to_float_tensor

    x = _to_float_tensor(image)
    single = x.ndim == 3
    if single:
        x = x[None]
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    h, w = x.shape[-2:]
    scale = p.image_size / min(h, w)
    if (h, w) != (p.image_size, p.image_size):
        size = (max(p.image_size, round(h * scale)), max(p.image_size, round(w * scale)))
        x = torch.nn.functional.interpolate(x, size=size, mode="bilinear", align_corners=False,
                                            antialias=scale < 1)
        top, left = (x.shape[-2] - p.image_size) // 2, (x.shape[-1] - p.image_size) // 2
        x = x[..., top:top + p.image_size, left:left + p.image_size]
    x = (x - torch.tensor(p.mean).view(1, 3, 1, 1)) / torch.tensor(p.std).view(1, 3, 1, 1)
    return x[0] if single else x


def test_one_preprocessing_keeps_the_tensor_behaviour_every_notebook_uses():
    from skimage.data import chelsea

    from course_lib import models

    assert Preprocess is models.ImagePreprocess
    gen = torch.Generator().manual_seed(0)
    for p in (models.image_preprocess("efficientnet_lite0", 32), models.image_preprocess("resnet18", 64)):
        for image in (torch.rand(1, 25, 25, generator=gen), torch.rand(3, 40, 90, generator=gen),
                      torch.rand(4, 3, 100, 70, generator=gen), torch.rand(2, 1, 8, 8, generator=gen),
                      torch.rand(3, 32, 32, generator=gen), np.zeros((10, 10), np.float32)):
            assert torch.equal(p(image), _old_image_preprocess(p, image))
        # 8-bit pixels are resized as 8-bit: within one level of 255 of resizing them as floats
        one_level = max(1.0 / 255.0 / s for s in p.std) + 1e-5
        assert (p(chelsea()) - _old_image_preprocess(p, chelsea())).abs().max() <= one_level


def test_8_bit_pixels_are_resized_as_8_bit_the_same_in_every_container(tmp_path):
    """A photo, its pixels as an array, as planes, as a batch, as PIL or a PNG file: the same
    values; ``prepare`` is exactly the network's input; floats are untouched by this."""
    from skimage.data import chelsea

    rng = np.random.default_rng(1)
    noise = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)    # smaller than the size: enlarged
    grey = rng.integers(0, 256, (50, 40), dtype=np.uint8)
    for array in (chelsea(), noise, grey):
        Image.fromarray(array).save(tmp_path / "pixels.png")
        for p in (Preprocess.for_backbone("efficientnet_lite0", 224), Preprocess.for_backbone("resnet18", 64)):
            x = p(array)
            assert x.shape == (3, p.image_size, p.image_size)
            planes = torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1) if array.ndim == 3
                                                           else array[None]))
            for same in (planes, planes[None], Image.fromarray(array)):
                y = p(same)
                assert torch.equal(y[0] if y.ndim == 4 else y, x)
            # a file: its pixels as read (a big one at 1/2, 1/4 or 1/8 of its size)
            decoded = np.asarray(read_photo(tmp_path / "pixels.png", p.image_size))
            assert torch.equal(p(tmp_path / "pixels.png"), p(decoded))
            u = p.prepare(array)
            assert u.dtype == torch.uint8 and u.is_contiguous() and torch.equal(p.normalise(u), x)
            assert torch.equal(p.resize_crop(array), u.float() / 255.0)
            ref = _old_image_preprocess(p, array)    # as floats: at most one level of 255 apart
            assert (x - ref).abs().max() <= max(1.0 / 255.0 / s for s in p.std) + 1e-5
            flipped = np.flip(array, axis=1)          # a view with a negative stride
            assert torch.equal(p(flipped), p(flipped.copy()))


def _old_pixels(array: np.ndarray) -> torch.Tensor:
    """How a uint8 photo became floats before the one-pass conversion (NumPy, three copies)."""
    array = (array.astype(np.float32) / 255.0).astype(np.float32)
    return torch.from_numpy(array[..., :3].copy()).permute(2, 0, 1)


def test_a_photos_pixels_become_the_same_floats_in_one_pass():
    """The decoding workers' uint8 → float conversion is cheaper, never different."""
    from skimage.data import chelsea

    from course_lib.photos import _to_float_tensor

    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, (384, 512, 4), dtype=np.uint8)
    for array in (chelsea(), rgba[..., :3], rgba, np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, -1)):
        new = _to_float_tensor(array)
        assert new.stride() == _old_pixels(array).stride() and torch.equal(new, _old_pixels(array))
        for size in (224, 64):
            p = Preprocess.for_backbone("efficientnet_lite0", size)
            assert torch.equal(p(new), _old_image_preprocess(p, _old_pixels(array)))
            # photo pixels are resized in channels-last memory (faster): the same values as planes
            planes = torch.from_numpy(np.ascontiguousarray(array[..., :3].transpose(2, 0, 1)))
            assert torch.equal(p(array), p(planes))
    image = Image.fromarray(rgba[..., :3])
    assert torch.equal(_to_float_tensor(image), _old_pixels(np.asarray(image)))


def test_a_photo_goes_through_the_same_tensor_operations(tmp_path):
    """A file is decoded (EXIF, draft) to an RGB array, then preprocessed like any array."""
    exif = Image.Exif()
    exif[0x0112] = 6
    _half_red((300, 200)).transpose(Image.Transpose.ROTATE_90).save(tmp_path / "side.jpg", exif=exif)
    p = Preprocess.for_backbone("efficientnet_lite0", 64)
    decoded = np.asarray(read_photo(tmp_path / "side.jpg", min_side=64))
    assert decoded.shape == (100, 150, 3)                               # upright, 1/2 scale (draft)
    assert torch.equal(p(tmp_path / "side.jpg"), p(decoded))
    assert torch.equal(p(tmp_path / "side.jpg"), p.normalise(p.resize_crop(tmp_path / "side.jpg")))
    big = Image.new("RGB", (1200, 900), (200, 30, 30))
    big.save(tmp_path / "big.png")
    assert read_photo(tmp_path / "big.png", min_side=224).size == (300, 225)   # reduced, ≥ 224 kept
    assert read_photo(tmp_path / "big.png").size == (1200, 900)


def test_preprocess_round_trips_through_json():
    p = Preprocess.for_backbone("efficientnet_lite0", 96)
    q = Preprocess.from_dict(json.loads(p.to_json()))
    assert q == p and q.mean == (0.5, 0.5, 0.5)
    with pytest.raises(ValueError, match="newer course_lib"):
        Preprocess.from_dict({**p.to_dict(), "colour_jitter": 0.1})
    with pytest.raises(ValueError, match="at least 8"):
        Preprocess(4)
    with pytest.raises(ValueError, match="3 values"):
        Preprocess(16, (0.5,), (0.5,))
    assert p.prepare(np.zeros((4, 4))).dtype == torch.uint8                   # any input can be shown
    for bad in ({"image_size": "224"}, {"image_size": 96, "mean": "0.5"}, ["image_size", 96], {},
                {**p.to_dict(), "resize": "squash"}):
        with pytest.raises(ValueError):
            Preprocess.from_dict(bad)                                  # hostile JSON: a clear error
    with pytest.raises(KeyError, match="No image preprocessing"):
        Preprocess.for_backbone("minilm")


# --------------------------------------------------------------------------- folders

def test_hidden_files_are_skipped_silently(tmp_path):
    root = _folder(tmp_path / "photos", {"cat": 5, "dog": 5})
    (root / ".DS_Store").write_bytes(b"\x00\x01")
    (root / "cat" / ".DS_Store").write_bytes(b"\x00\x01")
    (root / "cat" / "Thumbs.db").write_bytes(b"\x00\x01")
    (root / "dog" / "._00.png").write_bytes(b"\x00\x05\x16\x07")   # macOS resource fork
    (root / ".git").mkdir()
    scan = scan_folder(root)
    assert scan.problems == [] and scan.hidden_skipped == 3 and scan.count() == 10
    assert check_folder(root) == []


def test_non_ascii_class_and_file_names(tmp_path):
    root = tmp_path / "我的照片"
    _folder(root, {"蜜蜂": 6, "ants": 6})
    Image.new("RGB", (8, 8)).save(root / "蜜蜂" / "café_ü.jpg")
    split = splits.split_folder(root, split_file=tmp_path / "split.json")
    assert split.classes == ["ants", "蜜蜂"] and split.counts()["蜜蜂"]["train"] >= 4
    text = (tmp_path / "split.json").read_text(encoding="utf-8")
    assert "蜜蜂/café_ü.jpg" in text                                  # readable, not \u escapes
    sets = splits.load_split(split, Preprocess(16), progress=False)
    assert sum(len(s) for s in sets.values()) == 13
    assert "蜜蜂/café_ü.jpg" in sum((s.paths for s in sets.values()), [])


def test_symlinked_files_are_followed(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(elsewhere / "real.png")
    root = _folder(tmp_path / "photos", {"cat": 5, "dog": 5})
    os.symlink(elsewhere / "real.png", root / "cat" / "linked.png")
    os.symlink(tmp_path / "nowhere.png", root / "dog" / "broken.png")
    scan = scan_folder(root)
    assert ("cat/linked.png", "cat") in scan.files["all"]
    assert scan.problems == ["dog/broken.png: a broken link (its target is gone). Remove the link."]


def test_problems_are_listed_one_per_line_relative_to_the_folder(tmp_path):
    root = _folder(tmp_path / "photos", {"cat": 5, "dog": 5})
    (root / "dog" / "notes.txt").write_text("todo")
    (root / "dog" / "broken.jpg").write_bytes(b"xx")
    (root / "cat" / "IMG_1.heic").write_bytes(b"xx")
    (root / "birds").mkdir()
    Image.new("RGB", (8, 8)).save(root / "stray.jpg")
    before = _snapshot(root)
    problems = check_folder(root)
    assert [p.split(":")[0] for p in problems] == [
        "1 image(s) directly in the folder, not in a class folder, are ignored", "birds/", "cat/IMG_1.heic",
        "dog/notes.txt", "dog/broken.jpg"]
    assert all(str(tmp_path) not in p for p in problems)
    assert _snapshot(root) == before                                   # nothing modified


@pytest.mark.parametrize("make, match", [
    (lambda r: None, "is not a folder"),
    (lambda r: r.mkdir(), "no class sub-folders"),
    (lambda r: _folder(r, {"cat": 3}), "single class folder"),
])
def test_layout_errors(tmp_path, make, match):
    root = tmp_path / "photos"
    make(root)
    with pytest.raises(DatasetLayoutError, match=match):
        scan_folder(root)
    assert match.split()[0] in check_folder(root)[0] or "not a folder" in check_folder(root)[0]


def test_images_at_the_top_without_class_folders(tmp_path):
    root = tmp_path / "photos"
    root.mkdir()
    Image.new("RGB", (8, 8)).save(root / "a.jpg")
    with pytest.raises(DatasetLayoutError, match="Found 1 image"):
        scan_folder(root)


def test_load_photos_error_or_skip(tmp_path):
    root = _folder(tmp_path / "photos", {"cat": 5, "dog": 5})
    (root / "dog" / "zz_broken.png").write_bytes(b"xx")
    split = splits.split_folder(root, split_file=tmp_path / "s.json", val=0.0, test=0.0)
    with pytest.raises(BadImageError, match="zz_broken.png"):
        splits.load_split(split, Preprocess(16), progress=False)
    with pytest.warns(UserWarning, match=r"Skipped 1 unreadable file\(s\): dog/zz_broken.png"):
        sets = splits.load_split(split, Preprocess(16), on_bad="skip", progress=False)
    assert len(sets["train"]) == 10 and sets["train"].images.dtype == torch.float32
    assert len(sets["val"]) == 0 and sets["val"].images.shape == (0, 3, 16, 16)
    x, y = sets["train"][0]
    assert x.dtype == torch.float32 and x.shape == (3, 16, 16) and int(y) == 0
    assert "cat: 5, dog: 5" in repr(sets["train"]) and len(sets["train"].subset([0, 9])) == 2
    with pytest.raises(ValueError, match="on_bad"):
        photos.load_photos(root, [], ["cat"], Preprocess(16), on_bad="ignore")


def test_ten_thousand_files_show_a_progress_bar(tmp_path, monkeypatch, capsys):
    root = tmp_path / "photos"
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
        for i in range(5000):
            (root / cls / f"{i:05d}.jpg").touch()                    # listing must not read them
    scan = scan_folder(root)
    assert scan.count() == 10_000
    tiny = torch.zeros(3, 8, 8)
    monkeypatch.setattr(Preprocess, "resize_crop", lambda self, photo, root=None: tiny)
    entries = scan.files["all"]
    sets = photos.load_photos(root, entries, ["a", "b"], Preprocess(8))
    assert len(sets) == 10_000
    err = capsys.readouterr().err
    assert "reading photos" in err and "0/10000" in err and "photo/s" in err
    photos.load_photos(root, entries[:10], ["a", "b"], Preprocess(8))  # few files: no bar
    assert "reading photos" not in capsys.readouterr().err


def test_list_photos_expands_folders(tmp_path):
    root = _folder(tmp_path / "photos", {"cat": 2, "dog": 1})
    (root / "cat" / ".DS_Store").write_bytes(b"x")
    (root / "cat" / "notes.txt").write_text("x")
    found = photos.list_photos([root, tmp_path / "given.txt"])
    assert [p.name for p in found] == ["00.png", "01.png", "00.png", "given.txt"]


# --------------------------------------------------------------------------- splits

def test_split_is_stratified_seeded_and_kept(tmp_path):
    root = _folder(tmp_path / "photos", {"cat": 20, "dog": 10})
    before = _snapshot(root)
    file = tmp_path / "split.json"
    s = splits.split_folder(root, split_file=file)
    assert s.counts() == {"cat": {"train": 12, "val": 4, "test": 4}, "dog": {"train": 6, "val": 2, "test": 2}}
    parts = [set(r for r, _ in s.parts[p]) for p in splits.PARTS]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    again = splits.split_folder(root, split_file=file)
    assert again.parts == s.parts and "Reused" in again.notes[0]
    other = splits.split_folder(root, split_file=tmp_path / "other.json", seed=1)
    assert other.parts != s.parts                                        # the seed matters
    with pytest.raises(DatasetLayoutError, match="resplit=True"):
        splits.split_folder(root, split_file=file, seed=1)
    assert splits.split_folder(root, split_file=file, seed=1, resplit=True).parts == other.parts
    assert _snapshot(root) == before                                     # the folder is untouched
    assert "total" in s.table() and "FolderSplit('photos'" in repr(s)


def test_rerun_after_adding_and_removing_photos(tmp_path):
    root = _folder(tmp_path / "photos", {"cat": 10, "dog": 10})
    file = tmp_path / "split.json"
    s = splits.split_folder(root, split_file=file)
    Image.new("RGB", (8, 8)).save(root / "cat" / "new.png")
    gone = s.parts["val"][0][0]
    (root / gone).unlink()
    again = splits.split_folder(root, split_file=file)
    assert ("cat/new.png", "cat") in again.parts["train"]
    assert again.parts["test"] == s.parts["test"] and len(again.parts["val"]) == len(s.parts["val"]) - 1
    assert any("went to train" in n for n in again.notes) and any("no longer" in n for n in again.notes)


def test_default_split_file_lives_in_outputs_not_in_the_folder(tmp_path):
    root = _folder(tmp_path / "photos", {"cat": 5, "dog": 5})
    s = splits.split_folder(root)
    assert s.file.parent.name == "splits" and root not in s.file.parents
    assert s.file.name.startswith("photos-")
    (s.file).write_text(json.dumps({"format": "other"}))
    with pytest.raises(DatasetLayoutError, match="not a split file"):
        splits.split_folder(root)


def test_class_with_fewer_than_5_photos_warns(tmp_path):
    root = _folder(tmp_path / "photos", {"cat": 10, "dog": 3})
    with pytest.warns(UserWarning, match="'dog' has only 3 photo.*too few to split"):
        s = splits.split_folder(root, split_file=tmp_path / "s.json")
    assert s.counts()["dog"] == {"train": 1, "val": 1, "test": 1}
    for n, expected in ((1, (0, 0)), (2, (1, 0)), (4, (1, 1)), (5, (1, 1)), (100, (20, 20))):
        assert splits._counts_for(n, 0.2, 0.2) == expected
    with pytest.raises(ValueError, match="fractions"):
        splits.split_folder(root, val=0.5, test=0.5)


def test_existing_train_val_test_layout_is_respected(tmp_path):
    root = tmp_path / "hymenoptera"
    _folder(root / "train", {"ants": 6, "bees": 6})
    _folder(root / "val", {"ants": 3, "bees": 3})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = splits.split_folder(root, split_file=tmp_path / "s.json")
    assert s.layout == "split" and s.counts()["ants"] == {"train": 6, "val": 3, "test": 0}
    assert s.parts["val"][0][0].startswith("val/ants/")
    assert any("No test/ folder" in n for n in s.notes)
    _folder(root / "test", {"wasps": 2})
    with pytest.raises(DatasetLayoutError, match="none in train/"):
        splits.split_folder(root, split_file=tmp_path / "s.json")


def test_split_move_updates_the_saved_file(tmp_path):
    root = _folder(tmp_path / "photos", {"cat": 5, "dog": 5})
    s = splits.split_folder(root, split_file=tmp_path / "s.json")
    rel = s.parts["val"][0][0]
    s.move(rel, "dog/moved.png", "dog")
    stored = json.loads((tmp_path / "s.json").read_text())
    assert ["dog/moved.png", "dog"] in stored["parts"]["val"]
    with pytest.raises(KeyError, match="not in this split"):
        s.move("nope.png", None)


def test_a_model_saved_before_8_bit_resizing_still_loads():
    """Exported models keep their preprocessing as JSON: the older resize descriptions are read
    as today's (8-bit photos then differ by at most one level of 255), anything else is refused."""
    from course_lib.photos import _OLD_RESIZES, RESIZE

    p = Preprocess.for_backbone("resnet18", 96)
    assert p.to_dict()["resize"] == RESIZE and "8-bit" in RESIZE
    for old in _OLD_RESIZES:
        assert Preprocess.from_dict({**p.to_dict(), "resize": old}) == p
    with pytest.raises(ValueError, match="Unknown resize method"):
        Preprocess.from_dict({**p.to_dict(), "resize": "squash to a square"})
