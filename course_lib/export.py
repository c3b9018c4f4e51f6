"""Save a trained photo classifier in one folder, and load it back without unpickling anything.

The folder holds everything a prediction needs, in formats that cannot run code:

- ``classifier.json``: the backbone's name, the class names, the preprocessing
  (:class:`course_lib.photos.Preprocess` as JSON) and any metrics you want to remember;
- ``head.safetensors``: the new head's weights;
- ``backbone.safetensors`` (only if the backbone was fine-tuned): its weights; otherwise the
  pretrained weights come from the pip package, as at training time.

>>> import tempfile; from torch import nn
>>> from course_lib.photos import Preprocess
>>> folder = export_classifier(Path(tempfile.mkdtemp()) / "m", backbone="efficientnet_lite0",
...                            head=nn.Linear(1280, 2), classes=["cat", "dog"], preprocess=Preprocess(96))
>>> sorted(p.name for p in folder.iterdir())
['classifier.json', 'head.safetensors']
>>> clf = load_classifier(folder); clf.classes, clf.preprocess.image_size
(['cat', 'dog'], 96)
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, NamedTuple, Sequence

import torch
from torch import nn

from .devices import pick_device
from .errors import CourseError
from .models import evaluating
from .photos import Preprocess

FORMAT = "course_lib.photo_classifier/1"
CONFIG, HEAD, BACKBONE = "classifier.json", "head.safetensors", "backbone.safetensors"


class ModelFolderError(CourseError, ValueError):
    """A model folder is missing, incomplete or not one this course wrote."""


class Prediction(NamedTuple):
    """A class name and the probability the model gives it; unpacks as ``label, p = ...``."""

    label: str
    probability: float


def export_classifier(folder: str | Path, *, backbone: str, head: nn.Linear, classes: Sequence[str],
                      preprocess: Preprocess, backbone_model: nn.Module | None = None,
                      metrics: dict | None = None) -> Path:
    """Write the classifier to ``folder`` (created; files there with the same names are replaced).

    Pass ``backbone_model`` only if you fine-tuned the backbone (its weights are then saved too).
    """
    from safetensors.torch import save_file

    if not isinstance(head, nn.Linear):
        raise TypeError(f"head must be the nn.Linear trained on the features, got {type(head).__name__}.")
    if head.out_features != len(classes):
        raise ValueError(f"The head has {head.out_features} outputs but {len(classes)} class names were "
                         "given; pass the classes the head was trained with, in the same order.")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_file({"weight": head.weight.detach().cpu().contiguous(),
               "bias": head.bias.detach().cpu().contiguous()}, str(folder / HEAD))
    if backbone_model is not None:
        state = {k: v.detach().cpu().contiguous() for k, v in backbone_model.state_dict().items()}
        save_file(state, str(folder / BACKBONE))
    elif (folder / BACKBONE).exists():
        (folder / BACKBONE).unlink()  # a stale fine-tuned backbone from an earlier export
    config = {"format": FORMAT, "backbone": backbone, "num_features": head.in_features,
              "classes": list(classes), "preprocess": preprocess.to_dict(),
              "fine_tuned_backbone": backbone_model is not None, "metrics": metrics or {}}
    (folder / CONFIG).write_text(json.dumps(config, ensure_ascii=False, indent=1), encoding="utf-8")
    return folder


@dataclass
class PhotoClassifier:
    """A loaded classifier: ``predict("photo.jpg")`` → ``Prediction(label, probability)``."""

    backbone_name: str
    features: nn.Module
    head: nn.Linear
    classes: list[str]
    preprocess: Preprocess
    device: torch.device
    metrics: dict

    def probabilities(self, photos: Iterable) -> torch.Tensor:
        """Class probabilities ``(N, classes)`` for file paths or PIL images."""
        x = torch.stack([self.preprocess(p) for p in photos]).to(self.device)
        with evaluating(self.features), evaluating(self.head):
            return self.head(self.features(x).flatten(1)).softmax(1).cpu()

    def predict(self, photo) -> Prediction:
        """The most probable class of one photo (a path or a PIL image), with its probability."""
        p = self.probabilities([photo])[0]
        i = int(p.argmax())
        return Prediction(self.classes[i], float(p[i]))

    def __repr__(self) -> str:
        return (f"PhotoClassifier({self.backbone_name}, classes={self.classes}, "
                f"{self.preprocess.image_size} px, device={self.device})")


def load_classifier(folder: str | Path, device: str | torch.device | None = None) -> PhotoClassifier:
    """Load what :func:`export_classifier` wrote (JSON + safetensors only: nothing is unpickled)."""
    from safetensors.torch import load_file

    from .models import load_backbone, remove_head

    folder = Path(folder).expanduser()
    config_file = folder / CONFIG
    if not config_file.is_file():
        raise ModelFolderError(f"{folder} is not an exported model: {CONFIG} is missing. Export one with "
                               "course_lib.export.export_classifier(...), then pass that folder.")
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelFolderError(f"{config_file} is not valid JSON ({exc}); export the model again.") from None
    if config.get("format") != FORMAT:
        raise ModelFolderError(f"{config_file} has format {config.get('format')!r}, expected {FORMAT!r}: it "
                               "was not written by this course's export_classifier.")
    if not (folder / HEAD).is_file():
        raise ModelFolderError(f"{folder / HEAD} is missing; export the model again.")
    device = pick_device(device)
    backbone = load_backbone(config["backbone"])
    if config.get("fine_tuned_backbone"):
        if not (folder / BACKBONE).is_file():
            raise ModelFolderError(f"{folder / BACKBONE} is missing (the model's backbone was fine-tuned); "
                                   "export the model again.")
        remove_head(backbone.model)
        backbone.model.load_state_dict(load_file(str(folder / BACKBONE)))
        features = backbone.model
    else:
        features = remove_head(backbone.model)
    weights = load_file(str(folder / HEAD))
    head = nn.Linear(weights["weight"].shape[1], weights["weight"].shape[0])
    head.load_state_dict(weights)
    classes = list(config["classes"])
    if head.out_features != len(classes):
        raise ModelFolderError(f"{folder}: the head has {head.out_features} outputs but {CONFIG} lists "
                               f"{len(classes)} classes; export the model again.")
    features.to(device).eval()
    head.to(device).eval()
    return PhotoClassifier(config["backbone"], features, head, classes,
                           Preprocess.from_dict(config["preprocess"]), device, config.get("metrics", {}))
