"""course_lib.data: offline datasets, splits, and the validating image-folder loader."""
import numpy as np
import pytest
import torch
from PIL import Image

from course_lib import data
from course_lib.errors import BadImageError, DatasetLayoutError


def test_faces_are_the_real_lfw_subset():
    faces = data.load_faces()
    assert len(faces) == 200 and faces.images.shape == (200, 1, 25, 25)
    assert faces.classes == ["non-face", "face"]
    assert torch.bincount(faces.labels).tolist() == [100, 100]
    assert 0.0 <= float(faces.images.min()) and float(faces.images.max()) <= 1.0
    assert float(faces.images.std()) > 0.1  # real photos, not zeros


def test_digits_relabel_and_selection():
    ds = data.load_digits(range(5, 10))
    assert ds.classes == ["5", "6", "7", "8", "9"]
    assert ds.images.shape[1:] == (1, 8, 8) and set(ds.labels.tolist()) == {0, 1, 2, 3, 4}
    full = data.load_digits(relabel=False)
    assert len(full) == 1797 and full.num_classes == 10
    kept = data.load_digits([3, 7], relabel=False)
    assert set(kept.labels.tolist()) == {3, 7}
    with pytest.raises(ValueError, match="distinct values in 0..9"):
        data.load_digits([1, 1])
    with pytest.raises(ValueError, match="distinct values in 0..9"):
        data.load_digits([12])


def test_dataset_transform_subset_and_validation():
    ds = data.ArrayImageDataset(np.zeros((4, 1, 2, 2)), [0, 1, 0, 1], ["a", "b"])
    doubled = ds.with_transform(lambda x: x + 2)
    assert float(doubled[0][0].max()) == 2.0 and doubled.images is ds.images
    sub = ds.subset([1, 3])
    assert sub.labels.tolist() == [1, 1] and "a: 0, b: 2" in repr(sub)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        data.ArrayImageDataset(np.zeros((4, 2, 2)), [0, 1, 0, 1], ["a", "b"])
    with pytest.raises(ValueError, match="must match"):
        data.ArrayImageDataset(np.zeros((4, 1, 2, 2)), [0, 1], ["a", "b"])
    with pytest.raises(ValueError, match="labels must lie in 0..1"):
        data.ArrayImageDataset(np.zeros((2, 1, 2, 2)), [0, 2], ["a", "b"])


def test_stratified_split_is_deterministic_disjoint_and_stratified():
    y = np.r_[np.zeros(30), np.ones(10)].astype(int)
    tr1, te1 = data.stratified_split(y, test_size=0.3, seed=3)
    tr2, te2 = data.stratified_split(y, test_size=0.3, seed=3)
    assert np.array_equal(tr1, tr2) and np.array_equal(te1, te2)
    assert not set(tr1) & set(te1) and len(tr1) + len(te1) == 40
    assert np.bincount(y[te1]).tolist() == [9, 3]
    _, te3 = data.stratified_split(y, test_size=0.3, seed=4)
    assert not np.array_equal(te1, te3)
    with pytest.raises(ValueError, match="test_size"):
        data.stratified_split(y, test_size=1.5)
    with pytest.raises(ValueError, match="too few to split"):
        data.stratified_split([0, 0, 0, 1], test_size=0.5)


def test_k_per_class():
    y = np.repeat([0, 1, 2], 10)
    idx = data.k_per_class(y, 3, seed=0)
    assert np.bincount(y[idx]).tolist() == [3, 3, 3]
    pool = np.arange(0, 30, 2)
    assert set(data.k_per_class(y, 2, seed=1, pool=pool)) <= set(pool)
    assert np.array_equal(data.k_per_class(y, 3, seed=5), data.k_per_class(y, 3, seed=5))
    with pytest.raises(ValueError, match="fewer than k=11"):
        data.k_per_class(y, 11)
    with pytest.raises(ValueError, match="at least 1"):
        data.k_per_class(y, 0)


def test_make_loader_defaults_to_no_workers_and_seeded_shuffle():
    ds = data.load_digits([0, 1])
    a = data.make_loader(ds, 8, shuffle=True, seed=1)
    b = data.make_loader(ds, 8, shuffle=True, seed=1)
    assert a.num_workers == 0
    assert torch.equal(next(iter(a))[1], next(iter(b))[1])


# --------------------------------------------------------------------------- image folders

def _save(path, mode="RGB", size=(10, 12), colour=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode == "P":
        im = Image.new("RGB", size, (200, 30, 30)).convert("P", palette=Image.Palette.ADAPTIVE)
    else:
        im = Image.new(mode, size, colour if colour is not None else (0 if mode in ("L",) else (10, 20, 30, 128)[:len(mode)]))
    im.save(path)


@pytest.fixture
def folder(tmp_path):
    _save(tmp_path / "cats" / "a.png", "RGB")
    _save(tmp_path / "cats" / "b.png", "L")
    _save(tmp_path / "dogs" / "c.png", "RGBA")
    _save(tmp_path / "dogs" / "d.png", "P")
    return tmp_path


def test_image_folder_loads_mixed_modes_as_rgb(folder):
    ds = data.load_image_folder(folder, image_size=16)
    assert ds.classes == ["cats", "dogs"] and ds.images.shape == (4, 3, 16, 16)
    assert ds.labels.tolist() == [0, 0, 1, 1]
    # RGBA is composited on white, not black: (10, 20, 30) at alpha 128 -> light colour
    assert float(ds.images[2].mean()) > 0.4
    assert sorted(p.name for p in folder.rglob("*")) == ["a.png", "b.png", "c.png", "cats", "d.png", "dogs"]


def test_image_folder_corrupt_file(folder):
    (folder / "cats" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(BadImageError, match=r"broken\.jpg.*corrupt, truncated or not an image.*on_bad='skip'"):
        data.load_image_folder(folder)
    with pytest.warns(UserWarning, match="broken.jpg"):
        ds = data.load_image_folder(folder, on_bad="skip")
    assert len(ds) == 4


def test_image_folder_non_image_file(folder):
    (folder / "dogs" / "notes.txt").write_text("hello")
    with pytest.raises(BadImageError, match=r"notes\.txt: not an image file"):
        data.load_image_folder(folder)
    with pytest.warns(UserWarning, match="notes.txt"):
        assert len(data.load_image_folder(folder, on_bad="skip")) == 4


def test_image_folder_layout_errors(tmp_path):
    with pytest.raises(DatasetLayoutError, match="is not a folder"):
        data.load_image_folder(tmp_path / "missing")
    _save(tmp_path / "loose.png")
    with pytest.raises(DatasetLayoutError, match="no class sub-folders.*move them into class folders"):
        data.load_image_folder(tmp_path)
    _save(tmp_path / "only" / "x.png")
    with pytest.raises(DatasetLayoutError, match="single class folder.*at least two classes"):
        data.load_image_folder(tmp_path)
    (tmp_path / "loose.png").unlink()
    (tmp_path / "empty").mkdir()
    with pytest.warns(UserWarning, match="empty/: no images"), \
            pytest.raises(DatasetLayoutError, match="only 1 class folder has photos"):
        data.load_image_folder(tmp_path)
    with pytest.raises(ValueError, match="on_bad"):
        data.load_image_folder(tmp_path, on_bad="ignore")


def test_image_folder_class_with_only_bad_files(folder):
    (folder / "birds").mkdir()
    (folder / "birds" / "x.png").write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="x.png"), \
            pytest.raises(DatasetLayoutError, match="no readable photos in class folder.*birds"):
        data.load_image_folder(folder, on_bad="skip")


def test_image_folder_warns_about_stray_images(folder):
    _save(folder / "stray.png")
    with pytest.warns(UserWarning, match="stray.png"):
        assert len(data.load_image_folder(folder)) == 4


def test_image_folder_is_the_photos_loader_exif_upright_and_cropped(tmp_path):
    """data.load_image_folder delegates to the photos loader: EXIF orientation, crop not squash."""
    from PIL import Image

    for c in ("wide", "tall"):
        (tmp_path / c).mkdir()
    wide = Image.new("RGB", (60, 20), (255, 0, 0))
    wide.paste((0, 0, 255), (30, 0, 60, 20))          # left half red, right half blue
    wide.save(tmp_path / "wide" / "a.png")
    exif = Image.Exif()
    exif[0x0112] = 6                                   # stored sideways: "rotate 90° clockwise"
    wide.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "tall" / "b.jpg", exif=exif, quality=95)
    ds = data.load_image_folder(tmp_path, image_size=16)
    for image in ds.images:     # both: red on the left, blue on the right (upright, not squashed)
        assert float(image[0, :, :6].mean()) > 0.8 and float(image[2, :, 10:].mean()) > 0.8
        assert float(image[2, :, :6].mean()) < 0.2 and float(image[0, :, 10:].mean()) < 0.2
