"""Save a trained photo classifier in one folder, and load it back without unpickling anything.

The folder holds everything a prediction needs, in formats that cannot run code:

- ``classifier.json``: the backbone's name, the class names, the preprocessing
  (:class:`course_lib.models.ImagePreprocess` as JSON) and any metrics you want to remember;
- ``head.safetensors``: the new head's weights;
- ``backbone.safetensors`` (only if the backbone was fine-tuned): its weights; otherwise the
  pretrained weights come from the pip package, as at training time;
- ``README.md`` and ``model_card.json`` (written by :func:`write_model_card`, for example by
  ``python -m course_lib.train``): what the model is, what it was trained on, how well it does.

Loading checks every file and says in one line what is wrong with a folder that is incomplete,
damaged, hostile (a pickle named ``.safetensors``) or inconsistent (a head for 3 classes and
4 class names): :class:`ModelFolderError`.

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
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, NamedTuple, Sequence

import torch
from torch import nn

from .devices import pick_device
from .errors import ModelFolderError  # noqa: F401  (its home is errors; re-exported)
from .models import NORMALISATION, ImagePreprocess, evaluating

FORMAT = "course_lib.photo_classifier/1"
CARD_FORMAT = "course_lib.model_card/1"
CONFIG, HEAD, BACKBONE = "classifier.json", "head.safetensors", "backbone.safetensors"
CARD_JSON, CARD_MD = "model_card.json", "README.md"


class Prediction(NamedTuple):
    """A class name and the probability the model gives it; unpacks as ``label, p = ...``."""

    label: str
    probability: float


def _write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file (never half a file)."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_json(path: Path, data) -> None:
    """``data`` as indented UTF-8 JSON (non-ASCII names kept readable), written atomically."""
    _write_text(Path(path), json.dumps(data, ensure_ascii=False, indent=1))


def export_classifier(folder: str | Path, *, backbone: str, head: nn.Linear, classes: Sequence[str],
                      preprocess: ImagePreprocess, backbone_model: nn.Module | None = None,
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
    write_json(folder / CONFIG, config)
    return folder


def is_model_folder(folder: str | Path) -> bool:
    """True if ``folder`` holds a ``classifier.json`` this course wrote (its format line).

    >>> import tempfile; is_model_folder(tempfile.mkdtemp())
    False
    """
    try:
        config = json.loads((Path(folder) / CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and config.get("format") == FORMAT


# --------------------------------------------------------------------------- the model card

def write_model_card(folder: str | Path, card: dict) -> tuple[Path, Path]:
    """Write ``card`` as ``model_card.json`` and as a readable ``README.md`` in ``folder``.

    ``card`` is what ``python -m course_lib.train`` measured (see :func:`model_card_markdown`
    for the keys it shows). Both files are written through temporary files.
    """
    folder = Path(folder)
    card = {"format": CARD_FORMAT, **card}
    write_json(folder / CARD_JSON, card)
    _write_text(folder / CARD_MD, model_card_markdown(card))
    return folder / CARD_MD, folder / CARD_JSON


def _interval(m: dict) -> str:
    low, high = m["interval95"]
    return f"{m['accuracy']:.3f} ({m['correct']} of {m['total']}; 95 % interval {low:.2f} to {high:.2f})"


def model_card_markdown(card: dict) -> str:
    """The model card as Markdown: what, on which photos, how well, how it was made.

    >>> card = {"name": "pets", "date": "2026-01-01", "classes": ["cat", "dog"],
    ...         "counts": {"cat": {"train": 6, "val": 2, "test": 2}, "dog": {"train": 6, "val": 2, "test": 2}},
    ...         "metrics": {"test": {"accuracy": 1.0, "correct": 4, "total": 4, "interval95": [0.51, 1.0]}}}
    >>> print(model_card_markdown(card).splitlines()[0])
    # Model card: pets
    """
    classes = card.get("classes", [])
    lines = [f"# Model card: {card.get('name', 'photo classifier')}", "",
             f"A photo classifier for {len(classes)} classes ({', '.join(classes)}), "
             f"trained {card.get('date', '')} by `course_lib.train` (Transfer Learning in Practice).", ""]
    metrics = card.get("metrics", {})
    if metrics:
        lines += ["## How well it does", "", "| photos | accuracy |", "|---|---|"]
        for part in ("test", "val"):
            if part in metrics:
                name = {"test": "test (used once, at the end)", "val": "validation (chose the head)"}[part]
                lines.append(f"| {name} | {_interval(metrics[part])} |")
        lines.append("")
        if card.get("confusion_test"):
            cm = card["confusion_test"]
            lines += ["Confusion matrix on the test photos (rows: true class, columns: predicted):", "",
                      "| true \\ predicted | " + " | ".join(classes) + " |",
                      "|---|" + "---:|" * len(classes)]
            lines += [f"| {c} | " + " | ".join(str(v) for v in row) + " |" for c, row in zip(classes, cm)]
            lines.append("")
    counts = card.get("counts", {})
    if counts:
        lines += ["## The photos", "", "| class | train | val | test |", "|---|---:|---:|---:|"]
        lines += [f"| {c} | {n['train']} | {n['val']} | {n['test']} |" for c, n in counts.items()]
        lines.append("")
        split = card.get("split", {})
        if split:
            lines.append(f"Folder `{split.get('folder', '')}`; the split (seed {split.get('seed')}, "
                         f"validation {split.get('val')}, test {split.get('test')}) is kept in "
                         f"`{split.get('file', 'split.json')}` next to this card.")
        if card.get("skipped"):
            lines.append(f"Left out, unreadable: {', '.join(card['skipped'])}.")
        lines.append("")
    how = []
    if "backbone" in card:
        b = card["backbone"]
        how.append(f"- Backbone: `{b.get('name')}`, frozen (pretrained weights, fingerprint "
                   f"`{b.get('weights_fingerprint', '?')}`), {b.get('num_features')} features per photo.")
    if "preprocess" in card:
        p = card["preprocess"]
        how.append(f"- Preprocessing: {p.get('resize')}, {p.get('image_size')} px; normalised with mean "
                   f"{p.get('mean')} and std {p.get('std')}; EXIF orientation applied.")
    if "head" in card:
        h = card["head"]
        how.append(f"- Head: {h.get('kind')}; {h.get('chosen')}.")
    if how:
        lines += ["## How it was made", ""] + how + [""]
    if card.get("versions"):
        lines += ["## Software", "", ", ".join(f"{k} {v}" for k, v in card["versions"].items()), ""]
    lines += ["## Use it", "", "```", "python -m course_lib.predict THIS_FOLDER photo.jpg [more photos or folders]",
              "```", "", "Limits: it knows only these classes, and only photos like the training photos "
              "(the same kind of camera, light and framing); check it on photos from where you will use it.", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- loading

@dataclass
class PhotoClassifier:
    """A loaded classifier: ``predict("photo.jpg")`` → ``Prediction(label, probability)``."""

    backbone_name: str
    features: nn.Module
    head: nn.Linear
    classes: list[str]
    preprocess: ImagePreprocess
    device: torch.device
    metrics: dict

    def _scores(self, x: torch.Tensor) -> torch.Tensor:
        with evaluating(self.features), evaluating(self.head):
            return self.head(self.features(x.to(self.device)).flatten(1)).softmax(1).cpu()

    def probabilities(self, photos: Iterable, batch_size: int | None = None) -> torch.Tensor:
        """Class probabilities ``(N, classes)`` for file paths or PIL images, in batches."""
        from .recipe import batch_for

        photos = list(photos)
        size = batch_size or batch_for(self.preprocess.image_size)
        out = [self._scores(torch.stack([self.preprocess(p) for p in photos[i:i + size]]))
               for i in range(0, len(photos), size)]
        return torch.cat(out) if out else torch.zeros(0, len(self.classes))

    def predict(self, photo) -> Prediction:
        """The most probable class of one photo (a path or a PIL image), with its probability."""
        p = self.probabilities([photo])[0]
        i = int(p.argmax())
        return Prediction(self.classes[i], float(p[i]))

    def classify_files(self, files: Sequence[str | Path], *, batch_size: int | None = None,
                       num_workers: int | None = None,
                       progress: bool | None = None) -> Iterator[tuple[Path, torch.Tensor | None, str]]:
        """``(file, probabilities, "")`` for each file in order, or ``(file, None, reason)`` for a
        file that cannot be read; streamed in batches (decoding in worker processes for many
        files, a progress bar for ≥ 100)."""
        from .recipe import through_network

        files = [Path(f) for f in files]

        def scores(batch):   # in a lane's thread; eval mode is set once, below, for every lane
            return self._scores(self.preprocess.normalise(batch.images)) if batch.images is not None else None

        results = through_network(scores, files, self.preprocess, device=self.device, batch_size=batch_size,
                                  num_workers=num_workers, progress=progress, desc="predicting")
        try:
            with evaluating(self.features), evaluating(self.head):
                for batch, probs in results:
                    row = {j: k for k, j in enumerate(batch.ok)}
                    for i, error in zip(batch.indices, batch.errors):
                        yield files[i], (probs[row[i]] if not error else None), error
        finally:
            results.close()

    def __repr__(self) -> str:
        return (f"PhotoClassifier({self.backbone_name}, classes={self.classes}, "
                f"{self.preprocess.image_size} px, device={self.device})")


def _read_config(folder: Path) -> dict:
    config_file = folder / CONFIG
    if not folder.is_dir():
        raise ModelFolderError(f"{folder} is not a folder. Pass the folder export_classifier (or "
                               "python -m course_lib.train) wrote.")
    if not config_file.is_file():
        raise ModelFolderError(f"{folder} is not an exported model: {CONFIG} is missing. Export one with "
                               "course_lib.export.export_classifier(...), then pass that folder.")
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise ModelFolderError(f"{config_file} is not valid JSON ({exc}); export the model again.") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        found = config.get("format") if isinstance(config, dict) else type(config).__name__
        raise ModelFolderError(f"{config_file} has format {found!r}, expected {FORMAT!r}: it "
                               "was not written by this course's export_classifier.")
    name = config.get("backbone")
    if name not in NORMALISATION:
        raise ModelFolderError(f"{config_file}: unknown backbone {name!r} (this course knows "
                               f"{', '.join(NORMALISATION)}); export the model again.")
    classes = config.get("classes")
    if (not isinstance(classes, list) or len(classes) < 2 or not all(isinstance(c, str) and c for c in classes)
            or len(set(classes)) != len(classes)):
        raise ModelFolderError(f"{config_file}: 'classes' must list at least two different class names; "
                               "export the model again.")
    if not isinstance(config.get("metrics", {}), dict):
        raise ModelFolderError(f"{config_file}: 'metrics' must be a JSON object; export the model again.")
    return config


def _load_tensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except FileNotFoundError:
        raise ModelFolderError(f"{path} is missing; export the model again.") from None
    except Exception as exc:  # SafetensorError, a pickle or a truncated file: never executed
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelFolderError(f"{path} is not a safetensors file ({reason}); nothing in it was run. "
                               "Export the model again.") from None


def _check_head(weights: dict, path: Path, num_features: int, classes: list[str]) -> nn.Linear:
    weight, bias = weights.get("weight"), weights.get("bias")
    if set(weights) != {"weight", "bias"} or weight is None or bias is None:
        raise ModelFolderError(f"{path} must hold exactly 'weight' and 'bias', found {sorted(weights)}; "
                               "export the model again.")
    if (weight.ndim != 2 or bias.ndim != 1 or not weight.is_floating_point() or not bias.is_floating_point()
            or bias.shape[0] != weight.shape[0]):
        raise ModelFolderError(f"{path}: a linear head needs a float weight (classes, features) and bias "
                               f"(classes,), found {tuple(weight.shape)} and {tuple(bias.shape)}; export the "
                               "model again.")
    if weight.shape[1] != num_features:
        raise ModelFolderError(f"{path}: the head takes {weight.shape[1]} features but the backbone gives "
                               f"{num_features}; export the model again.")
    if weight.shape[0] != len(classes):
        raise ModelFolderError(f"{path.parent}: the head has {weight.shape[0]} outputs but {CONFIG} lists "
                               f"{len(classes)} classes; export the model again.")
    if not (torch.isfinite(weight).all() and torch.isfinite(bias).all()):
        raise ModelFolderError(f"{path}: the head's weights are not all finite numbers; train and export again.")
    head = nn.Linear(weight.shape[1], weight.shape[0])
    head.load_state_dict({"weight": weight.float(), "bias": bias.float()})
    return head


def load_classifier(folder: str | Path, device: str | torch.device | None = None) -> PhotoClassifier:
    """Load what :func:`export_classifier` wrote (JSON + safetensors only: nothing is unpickled).

    Anything wrong with the folder raises :class:`ModelFolderError` with a one-line message.
    """
    from .models import load_backbone, remove_head

    folder = Path(folder).expanduser()
    config = _read_config(folder)
    try:
        preprocess = ImagePreprocess.from_dict(config.get("preprocess"))
    except (ValueError, TypeError) as exc:
        raise ModelFolderError(f"{folder / CONFIG}: bad preprocessing ({exc})") from None
    classes = list(config["classes"])
    weights = _load_tensors(folder / HEAD)
    tuned = None
    if config.get("fine_tuned_backbone"):
        if not (folder / BACKBONE).is_file():
            raise ModelFolderError(f"{folder / BACKBONE} is missing (the model's backbone was fine-tuned); "
                                   "export the model again.")
        tuned = _load_tensors(folder / BACKBONE)
    device = pick_device(device)
    backbone = load_backbone(config["backbone"])
    head = _check_head(weights, folder / HEAD, backbone.num_features, classes)
    features = remove_head(backbone.model)
    if tuned is not None:
        try:
            features.load_state_dict(tuned)
        except RuntimeError as exc:
            first = str(exc).splitlines()[0]
            raise ModelFolderError(f"{folder / BACKBONE} does not fit the {config['backbone']} backbone "
                                   f"({first}); export the model again.") from None
    features.to(device).eval()
    head.to(device).eval()
    return PhotoClassifier(config["backbone"], features, head, classes, preprocess, device,
                           config.get("metrics", {}))
