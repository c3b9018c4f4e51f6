"""course_lib.models: real offline backbones, preprocessing, heads, freezing, BatchNorm."""
import numpy as np
import pytest
import torch
from torch import nn

from course_lib import models
from course_lib.errors import (ClassCountMismatchError, HeadNotFoundError, UnknownBackboneError,
                               WeightsNotAvailableError)


@pytest.fixture(scope="module")
def lite0():
    return models.load_backbone("efficientnet_lite0", image_size=64)


def test_efficientnet_lite0_has_real_imagenet_weights(lite0):
    from skimage.data import chelsea

    assert lite0.num_features == 1280 and lite0.head_name == "_fc"
    model = lite0.model.eval()
    x = models.image_preprocess("efficientnet_lite0", 224)(chelsea())
    with torch.no_grad():
        probs = model(x[None]).softmax(1)[0]
    top = models.imagenet_categories()[int(probs.argmax())]
    assert top in {"tabby", "tiger cat", "Egyptian cat"}, top  # skimage's cat photo
    assert float(probs.max()) > 0.25
    random_model = models.load_backbone("efficientnet_lite0", pretrained=False).model.eval()
    with torch.no_grad():
        assert float(random_model(x[None]).softmax(1).max()) < 0.05


def test_preprocess_shapes_and_normalisation():
    p = models.image_preprocess("resnet18", 32)
    out = p(torch.full((1, 20, 30), 0.5))
    assert out.shape == (3, 32, 32)
    expected = (0.5 - torch.tensor([0.485, 0.456, 0.406])) / torch.tensor([0.229, 0.224, 0.225])
    assert torch.allclose(out[:, 0, 0], expected, atol=1e-5)
    batch = p(torch.rand(4, 3, 64, 48))
    assert batch.shape == (4, 3, 32, 32)
    assert p(np.zeros((10, 10, 3), dtype=np.uint8)).shape == (3, 32, 32)
    assert p(np.zeros((10, 10), dtype=np.float32)).shape == (3, 32, 32)
    with pytest.raises(ValueError, match="1 or 3 channels"):
        p(torch.rand(2, 8, 8))
    with pytest.raises(ValueError, match="cannot interpret"):
        p(np.zeros((2, 2, 2, 2)))
    assert "grey->RGB" in repr(p)


def test_unknown_backbone_message():
    with pytest.raises(UnknownBackboneError, match="Unknown backbone 'vgg99'.*efficientnet_lite0, resnet18, minilm"):
        models.load_backbone("vgg99")
    with pytest.raises(UnknownBackboneError, match="Unknown backbone"):
        models.image_preprocess("vgg99")


def test_resnet18_without_cached_weights_fails_at_once_without_downloading(monkeypatch, tmp_path):
    def no_download(*args, **kwargs):
        raise AssertionError("load_backbone tried to download the weights")

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setattr("torchvision.models._api.WeightsEnum.get_state_dict", no_download)
    with pytest.raises(WeightsNotAvailableError, match="data_scripts/fetch_resnet18_weights.py"):
        models.load_backbone("resnet18")
    bb = models.load_backbone("resnet18", pretrained=False, num_classes=3)
    assert bb.model.fc.out_features == 3 and bb.num_features == 512
    assert [n for n, _ in models.layer_groups(bb.model)] == ["stem", "layer1", "layer2", "layer3", "layer4", "fc"]


def test_resnet18_uses_cached_weights_when_present(monkeypatch, tmp_path):
    from torchvision.models import resnet18

    (tmp_path / "checkpoints").mkdir()
    reference = resnet18(weights=None)
    torch.save(reference.state_dict(), tmp_path / "checkpoints" / models.RESNET18_FILE)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setattr("torchvision.models._api.load_state_dict_from_url",
                        lambda url, **kw: torch.load(tmp_path / "checkpoints" / models.RESNET18_FILE,
                                                     weights_only=True), raising=False)
    monkeypatch.setattr("torchvision.models._api.WeightsEnum.get_state_dict",
                        lambda self, *a, **kw: reference.state_dict())
    bb = models.load_backbone("resnet18")
    assert torch.equal(bb.model.conv1.weight, reference.conv1.weight)


def test_replace_head_reports_and_validates(lite0):
    model = models.load_backbone("efficientnet_lite0").model
    report = models.replace_head(model, 2)
    assert str(report) == "Replaced _fc: Linear(1280 -> 1000) with Linear(1280 -> 2)"
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 2)
    for bad in (1, 0, 2.5, True, "3"):
        with pytest.raises(ValueError, match="num_classes must be an integer of at least 2"):
            models.replace_head(model, bad)
    with pytest.raises(HeadNotFoundError, match="Cannot find the last layer.*fc, _fc, classifier, head"):
        models.replace_head(nn.Sequential(nn.Linear(2, 2)), 2)


def test_remove_head():
    model = nn.Module()
    model.fc = nn.Linear(4, 3)
    models.remove_head(model)
    assert isinstance(model.fc, nn.Identity)


def test_minilm_text_classifier_offline():
    bb = models.load_backbone("minilm", num_classes=3)
    assert bb.num_features == 384 and bb.head_name == "classifier"
    batch = bb.preprocess(["transfer learning works", "a second, longer sentence here"],
                          return_tensors="pt", padding=True)
    bb.model.eval()
    with torch.no_grad():
        logits = bb.model(**batch)
        emb = bb.model.embed(batch["input_ids"], batch["attention_mask"])
    assert logits.shape == (2, 3) and emb.shape == (2, 384)
    # mean pooling ignores padding: the short sentence alone gives the same embedding
    alone = bb.preprocess(["transfer learning works"], return_tensors="pt")
    with torch.no_grad():
        emb_alone = bb.model.embed(alone["input_ids"], alone["attention_mask"])
    assert torch.allclose(emb[0], emb_alone[0], atol=1e-4)
    with torch.no_grad():
        bb.model.encoder.embeddings.word_embeddings.weight.zero_()
    bb.model.encoder.load_state_dict(models.minilm_state_dict())       # back to the pretrained weights
    with torch.no_grad():
        assert torch.allclose(bb.model.embed(alone["input_ids"], alone["attention_mask"])[0], emb_alone[0], atol=1e-5)
    names = [n for n, _ in models.layer_groups(bb.model)]
    assert names[0] == "embeddings" and names[-1] == "classifier" and len(names) == 8
    with pytest.raises(ValueError, match="pooling"):
        models.TextClassifier(bb.model.encoder, pooling="max")
    cls = models.TextClassifier(bb.model.encoder, num_classes=None, pooling="cls")
    assert isinstance(cls.classifier, nn.Identity)
    assert str(models.replace_head(cls, 4)) == "Replaced classifier: Identity with Linear(384 -> 4)"
    assert cls.classifier.in_features == 384


def test_freezing_by_depth_and_counts():
    model = models.load_backbone("efficientnet_lite0", pretrained=False).model
    models.replace_head(model, 2)
    groups = models.layer_groups(model)
    assert len(groups) == 19 and groups[0][0] == "stem" and groups[-1][0] == "_fc"
    assert models.freeze_all_but_last(model, 1) == ["_fc"]
    assert models.count_parameters(model)["trainable"] == 1280 * 2 + 2
    names = models.freeze_all_but_last(model, 3)
    assert names == ["block15", "conv_head", "_fc"]
    counts = models.count_parameters(model)
    assert counts["frozen"] + counts["trainable"] == counts["total"] and counts["trainable"] > 2562
    models.freeze_all_but_last(model, len(groups))
    assert models.count_parameters(model)["frozen"] == 0
    with pytest.raises(ValueError, match="n_groups must be between 0 and 19"):
        models.freeze_all_but_last(model, 20)
    models.freeze(model)
    assert models.count_parameters(model)["trainable"] == 0
    models.unfreeze(model)
    assert models.count_parameters(model)["frozen"] == 0


def test_layer_groups_fallback_uses_children_with_parameters():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2))
    assert [n for n, _ in models.layer_groups(seq)] == ["0", "2"]


def test_eval_frozen_modules_switches_only_frozen_parts():
    model = models.load_backbone("efficientnet_lite0", pretrained=False).model
    models.freeze_all_but_last(model, 2)
    model.train()
    switched = models.eval_frozen_modules(model)
    assert "_conv_stem" in switched and "_blocks" in switched
    assert not model._bn0.training and not model._blocks[3].training
    assert model._bn1.training and model._fc.training


def test_text_classifier_pools_with_the_course_mean_pool(monkeypatch):
    """Mean pooling has one home, course_lib.text.mean_pool; the classifier uses it."""
    calls = []
    monkeypatch.setattr(models, "mean_pool", lambda hidden, mask: calls.append(mask) or hidden[:, 0])

    class Encoder(nn.Module):
        config = type("Config", (), {"hidden_size": 3})

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            return type("Out", (), {"last_hidden_state": torch.ones(len(input_ids), 2, 3)})

    out = models.TextClassifier(Encoder(), num_classes=2)(torch.zeros(4, 2), torch.ones(4, 2))
    assert out.shape == (4, 2) and len(calls) == 1


def test_backbone_repr(lite0):
    assert "efficientnet_lite0" in repr(lite0) and "M parameters" in repr(lite0)
