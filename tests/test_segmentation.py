import numpy as np
import pytest
import torch

from course_lib import segmentation as S
from course_lib.compare import Budget, RunResult, run_paired


def test_mosaics_disjoint_parts_and_all_classes():
    tr, mtr = S.make_mosaics(3, size=64, part="train", seed=0)
    te, mte = S.make_mosaics(3, size=64, part="test", seed=0)
    assert tr.shape == te.shape == (3, 64, 64) and mtr.dtype == np.int64
    assert set(np.unique(mtr)) == {0, 1, 2}
    assert not np.array_equal(tr, te)           # same seed, different halves
    # every training pixel comes from the top half of its photo
    photos = S.texture_photos()
    for c, name in enumerate(S.TEXTURES):
        values = set(np.round(photos[name][:256].ravel(), 6))
        assert set(np.round(tr[mtr == c], 6)) <= values
    with pytest.raises(ValueError, match="top or bottom"):
        S.make_mosaics(1, part="val")
    with pytest.raises(ValueError, match="at most 256"):
        S.make_mosaics(1, size=300)


def test_iou():
    pred, truth = np.array([0, 0, 1, 2]), np.array([0, 1, 1, 1])
    iou = S.iou_per_class(pred, truth, 3)
    assert iou[0] == 0.5 and iou[1] == pytest.approx(1 / 3) and iou[2] == 0.0
    assert np.isnan(S.iou_per_class(pred, truth, 4)[3])
    assert S.mean_iou(pred, truth, 4) == pytest.approx(np.mean([0.5, 1 / 3, 0.0]))
    with pytest.raises(ValueError, match="same number of pixels"):
        S.iou_per_class(pred, truth[:2], 3)


def test_lite0_features_use_the_one_preprocessing():
    from course_lib.models import load_backbone

    model = load_backbone("efficientnet_lite0").model.eval()
    images = np.random.default_rng(0).random((2, 64, 64)).astype(np.float32)
    maps = S.lite0_feature_maps(model, images, block=7)
    assert tuple(maps.shape) == (2, 80, 4, 4)
    x = torch.as_tensor(images)[:, None].expand(-1, 3, -1, -1) * 2 - 1     # Lite0: mean 0.5, std 0.5
    with torch.no_grad():
        first = model._blocks[0](model._swish(model._bn0(model._conv_stem(x))), drop_connect_rate=None)
    assert torch.allclose(S.lite0_feature_maps(model, images, block=0), first, atol=1e-5)
    with pytest.raises(ValueError, match="between 0 and 15"):
        S.lite0_feature_maps(model, images, block=16)
    with pytest.raises(ValueError, match="square grey"):
        S.lite0_feature_maps(model, np.zeros((1, 3, 64, 64)), block=1)


def test_texture_statistics_measure_brightness_contrast_and_roughness():
    flat = np.full((1, 16, 16), 0.3, np.float32)
    assert S.texture_statistics(flat, patch=16)[0, :, 0, 0].tolist() == pytest.approx([0.3, 0.0, 0.0, 0.0], abs=1e-6)
    rows = np.tile([[0.0], [1.0]], (1, 8, 16)).astype(np.float32)          # horizontal stripes
    mean, var, dx, dy = S.texture_statistics(rows, patch=16)[0, :, 0, 0].tolist()
    assert (mean, var, dx) == pytest.approx((0.5, 0.25, 0.0)) and dy > 0.9
    with pytest.raises(ValueError, match="multiple of patch"):
        S.texture_statistics(np.zeros((1, 30, 30)), patch=16)


def _halves(n=4, size=32):
    images = np.zeros((n, size, size), np.float32)
    images[..., size // 2:] = np.random.default_rng(0).random((n, size, size // 2))   # rough right half
    masks = np.zeros((n, size, size), np.int64)
    masks[..., size // 2:] = 1
    return images, masks


def test_the_convex_head_is_a_pixel_head_and_learns_a_texture_boundary():
    images, masks = _halves()
    features = S.texture_statistics(images, patch=8)
    head, fit = S.fit_pixel_head(features, masks, features, masks, Budget(1, (1e-3, 1e-2, 1e-1), scale=1),
                                 every=4)
    assert fit.converged and fit.C in (0.1, 3.16, 100.0)
    assert S.mean_iou(S.predict(head, features), masks, 2) > 0.9
    # the head built from the fit predicts what the fit predicts, at every sampled pixel
    X, _ = S.pixel_rows(features, masks, every=4)
    sampled = S.predict(head, features)[:, 2::4, 2::4].reshape(-1)
    assert np.array_equal(sampled, fit.predict(X))
    with pytest.raises(ValueError, match="one mask per image"):
        S.pixel_rows(features, masks[:2])
    with pytest.raises(ValueError, match="must divide"):
        S.pixel_rows(features, masks, every=5)


def test_segmentation_arms_pass_the_audit():
    images, masks = _halves(6)
    features = S.texture_statistics(images, patch=8)

    def arm(seed, budget):
        head, _ = S.fit_pixel_head(features[:3], masks[:3], features[3:5], masks[3:5], budget, every=8)
        return RunResult(S.mean_iou(S.predict(head, features[5:]), masks[5:], 2))

    results = run_paired({"a": arm, "b": arm}, [0, 1], Budget(1, (1e-3, 1e-2, 1e-1), c_grid=(0.1, 1.0, 10.0)))
    assert results["a"][0].steps == 0 and results["a"][0].cs == (0.1, 1.0, 10.0)
