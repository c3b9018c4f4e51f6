import numpy as np
import pytest
import torch

from course_lib import segmentation as S


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


def test_features_head_and_training_learn_a_separable_task():
    from course_lib.models import load_backbone

    model = load_backbone("efficientnet_lite0").model
    assert tuple(S.lite0_feature_maps(model, np.zeros((1, 64, 64)), block=7).shape) == (1, 80, 4, 4)
    with pytest.raises(ValueError, match="between 0 and 15"):
        S.lite0_feature_maps(model, np.zeros((1, 64, 64)), block=16)
    assert S.LITE0_BLOCK_CHANNELS[7] == 80 and S.LITE0_BLOCK_STRIDES[7] == 16
    # left half class 0, right half class 1: the raw-pixel head can learn brightness
    images = np.zeros((4, 32, 32), np.float32); images[..., 16:] = 1.0
    masks = np.zeros((4, 32, 32), np.int64); masks[..., 16:] = 1
    feats = S.raw_patch_features(images, stride=8)
    fit = S.train_pixel_head(feats, masks, steps=60, lr=0.05, n_classes=2)
    assert fit.losses[-1] < fit.losses[0]
    assert S.mean_iou(S.predict_masks(fit.head, feats), masks, 2) > 0.9
    with pytest.raises(ValueError, match="multiple of stride"):
        S.raw_patch_features(np.zeros((1, 30, 30)), stride=8)
    with pytest.raises(ValueError, match="one mask per image"):
        S.train_pixel_head(feats, masks[:2], steps=1)
