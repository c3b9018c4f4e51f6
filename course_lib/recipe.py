"""The own-photos recipe's compute: features of any number of photos, streamed and cached.

- :func:`split_features` (and :func:`folder_features`) run the photos of a folder through a
  frozen network in batches, decoding in worker processes while the network runs
  (:func:`course_lib.photos.stream_photos`), so memory stays flat however many photos there
  are; the best device is used (GPU if there is one) and the features come back on the CPU.
- :class:`FeatureCache` keeps every feature on disk (safetensors, under
  ``outputs/feature_cache/``), keyed by the file's content, the network's weights and the
  preprocessing: a second run computes only new or changed photos, an interrupted run resumes
  where it stopped, and :func:`clear_feature_cache` empties it.
- :func:`photo_features` does the same for photos already in memory (a
  :class:`~course_lib.photos.PhotoSet`).
- "Beyond the frozen head": :func:`split_last_blocks` cuts EfficientNet-Lite0 into a frozen
  ``front`` and a trainable ``tail`` (its last MBConv block(s), the 1×1 head convolution and the
  pooling); :func:`augment` makes seeded random crops and flips. The comparison of frozen head,
  last block(s) and full fine-tuning on one's own folder, trained by the course's one counted
  loop, is :func:`course_lib.decide.decision_report`.

>>> batch_for(224)          # photos per batch: as many pixels as 8 photos at 224 px
8
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from .checkpoints import save_tensors_atomically
from .cpu import in_lanes, release_freed_memory
from .devices import pick_device, to_device
from .errors import BadImageError
from .models import evaluating

FEATURES_FORMAT = "course_lib.features/2"   # /2: photos known by SHA-256 (/1: BLAKE2b)
FLUSH_EVERY = 256        # features written to disk at least this often (an interrupted run keeps them)
MAX_SHARDS = 16          # more cache files than this are merged into one


def _batches(n: int, batch_size: int):
    for start in range(0, n, batch_size):
        yield slice(start, min(n, start + batch_size))


def batch_for(image_size: int, pixels_of: int = 8 * 224 * 224, most: int = 64) -> int:
    """Photos per batch holding about as many pixels as 8 photos at 224 px (at most ``most``).

    Activation memory grows with the pixels in a batch, so this keeps it constant.

    >>> batch_for(224), batch_for(112), batch_for(64), batch_for(448)
    (8, 32, 64, 2)
    """
    return max(1, min(most, pixels_of // (image_size * image_size)))


@contextlib.contextmanager
def _on(model: nn.Module, device: torch.device):
    """``model`` on ``device`` in eval mode without gradients; its device and mode restored after."""
    first = next(model.parameters(), None)
    home = first.device if first is not None else torch.device("cpu")
    model.to(device)
    try:
        with evaluating(model):
            yield model
    finally:
        model.to(home)


def photo_features(model: nn.Module, photos, *, device: str | torch.device | None = None,
                   batch_size: int | None = None,
                   progress: bool | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Features of photos already in memory (a :class:`~course_lib.photos.PhotoSet`), on CPU.

    The model and each batch move to :func:`~course_lib.devices.pick_device` (CUDA → MPS → CPU,
    ``COURSE_DEVICE`` overrides); evaluation mode and no gradients inside, the model's mode and
    device restored after. A progress bar shows for ≥ 100 photos. By default the batch holds
    as many pixels as 8 photos at 224 px (:func:`batch_for`), so the memory stays the same at
    any size. For a folder of photos on disk use :func:`split_features` (streamed, cached).
    """
    from .photos import _progress

    device = pick_device(device)
    if batch_size is None:
        batch_size = batch_for(photos.preprocess.image_size)
    feats = []
    with _on(model, device):
        batches = list(_batches(len(photos), batch_size))
        show = progress if progress is not None else len(photos) >= 100
        for part in _progress(batches, show, "features", unit="batch"):
            x = photos.preprocess.normalise(to_device(photos.images[part], device))
            feats.append(model(x).flatten(1).float().cpu())
    out = torch.cat(feats) if feats else torch.zeros(0, 0)
    return out, photos.labels.clone()


# --------------------------------------------------------------------------- the feature cache

def weights_fingerprint(model: nn.Module) -> str:
    """A digest of a model's class and of every weight and buffer (32 hex digits).

    Two models with the same fingerprint compute the same features; change one weight (a
    fine-tuned backbone) and the fingerprint changes.

    >>> a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    >>> weights_fingerprint(a) == weights_fingerprint(a), weights_fingerprint(a) == weights_fingerprint(b)
    (True, False)
    """
    digest = hashlib.blake2b(digest_size=16)
    digest.update(type(model).__qualname__.encode())
    for name, tensor in sorted(model.state_dict().items()):
        tensor = tensor.detach().to("cpu").contiguous()
        digest.update(f"|{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


class FeatureCache:
    """Features on disk for one network (its weights) and one preprocessing, keyed by file content.

    Files are ``<folder>/<time>-<id>.safetensors``, each holding ``digests`` (the files'
    :func:`~course_lib.photos.content_digest`, as bytes) and ``features``; each is written to a
    temporary name and renamed into place, so a crash never leaves half a file. A changed photo
    has another digest and is computed again; the stale feature is never served.

    >>> import tempfile
    >>> cache = FeatureCache(Path(tempfile.mkdtemp()) / "c")
    >>> cache.add(["00" * 16, "11" * 16], torch.ones(2, 3)); cache.flush()
    >>> sorted(cache.lookup(["11" * 16, "22" * 16, None])), len(cache)
    ([0], 2)
    """

    def __init__(self, folder: str | Path, *, flush_every: int = FLUSH_EVERY):
        self.folder, self.flush_every = Path(folder), int(flush_every)
        self._index: dict[str, tuple[Path, int]] | None = None
        self._pending: list[tuple[str, torch.Tensor]] = []

    @classmethod
    def for_model(cls, model: nn.Module, preprocess, root: str | Path | None = None,
                  **kwargs) -> "FeatureCache":
        """The cache of ``model`` (by :func:`weights_fingerprint`) and ``preprocess``, under
        ``root`` (default ``outputs/feature_cache/``)."""
        from .paths import output_dir

        fingerprint = weights_fingerprint(model)
        key = hashlib.blake2b(f"{FEATURES_FORMAT}|{fingerprint}|{preprocess.to_json()}".encode(),
                              digest_size=8).hexdigest()
        cache = cls((Path(root) if root is not None else output_dir("feature_cache")) / key, **kwargs)
        cache.folder.mkdir(parents=True, exist_ok=True)
        about = cache.folder / "about.json"
        if not about.is_file():
            text = json.dumps({"format": FEATURES_FORMAT, "model": type(model).__qualname__,
                               "weights": fingerprint, "preprocess": preprocess.to_dict()}, indent=1)
            tmp = about.with_name(f".about.{uuid.uuid4().hex[:8]}.part")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, about)
        return cache

    def _shards(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.glob("*.safetensors") if not p.name.startswith("."))

    def _load_index(self) -> dict[str, tuple[Path, int]]:
        if self._index is None:
            from safetensors import safe_open

            index: dict[str, tuple[Path, int]] = {}
            for shard in self._shards():
                try:
                    with safe_open(str(shard), framework="pt") as f:
                        digests = f.get_tensor("digests")
                except Exception as exc:  # unreadable: never served, replaced when recomputed
                    warnings.warn(f"Ignoring the unreadable cache file {shard.name} ({exc}).", stacklevel=3)
                    continue
                for row, d in enumerate(digests.numpy()):
                    index[bytes(d).hex()] = (shard, row)
            self._index = index
        return self._index

    def __len__(self) -> int:
        index = self._load_index()
        return len(index) + sum(d not in index for d, _ in self._pending)

    def lookup(self, digests: Sequence[str | None]) -> dict[int, torch.Tensor]:
        """``{position: feature}`` for the ``digests`` that are cached (``None`` never is)."""
        from safetensors import safe_open

        index = self._load_index()
        pending = dict(self._pending)
        found: dict[int, torch.Tensor] = {}
        by_shard: dict[Path, list[tuple[int, int]]] = {}
        for i, d in enumerate(digests):
            if d is None:
                continue
            if d in pending:
                found[i] = pending[d]
            elif d in index:
                shard, row = index[d]
                by_shard.setdefault(shard, []).append((i, row))
        for shard, wanted in by_shard.items():
            try:
                with safe_open(str(shard), framework="pt") as f:
                    features = f.get_tensor("features")
            except Exception:  # removed meanwhile (another run merged the files): recompute
                continue
            rows = features[torch.tensor([row for _, row in wanted])].clone()
            for (i, _), feature in zip(wanted, rows):
                found[i] = feature
        return found

    def add(self, digests: Sequence[str], features: torch.Tensor) -> None:
        """Remember ``features[j]`` for ``digests[j]``; written to disk every ``flush_every``."""
        if len(digests) != len(features):
            raise ValueError(f"{len(digests)} digests but {len(features)} features.")
        self._pending += [(d, f) for d, f in zip(digests, features.detach().float().cpu())]
        if len(self._pending) >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        """Write what was added since the last flush to a new cache file."""
        if not self._pending:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        digests = torch.tensor([list(bytes.fromhex(d)) for d, _ in self._pending], dtype=torch.uint8)
        features = torch.stack([f for _, f in self._pending]).contiguous()
        shard = self.folder / f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.safetensors"
        save_tensors_atomically({"digests": digests, "features": features}, shard, {"format": FEATURES_FORMAT})
        if self._index is not None:
            self._index.update({d: (shard, row) for row, (d, _) in enumerate(self._pending)})
        self._pending = []
        release_freed_memory()

    def compact(self, max_files: int = MAX_SHARDS) -> None:
        """Merge the cache files into one when there are more than ``max_files``."""
        self.flush()
        shards = self._shards()
        if len(shards) <= max_files:
            return
        everything = self.lookup(list(self._load_index()))
        digests = list(self._load_index())
        keep = [i for i in range(len(digests)) if i in everything]
        if keep:
            merged = self.folder / f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.safetensors"
            save_tensors_atomically({"digests": torch.tensor([list(bytes.fromhex(digests[i])) for i in keep],
                                                  dtype=torch.uint8),
                          "features": torch.stack([everything[i] for i in keep]).contiguous()},
                         merged, {"format": FEATURES_FORMAT})
        for shard in shards:
            shard.unlink(missing_ok=True)
        self._index = None

    def clear(self) -> None:
        """Delete this cache's files."""
        self._pending, self._index = [], None
        shutil.rmtree(self.folder, ignore_errors=True)

    def __repr__(self) -> str:
        return f"FeatureCache({self.folder}, {len(self)} features)"


def clear_feature_cache(root: str | Path | None = None) -> int:
    """Delete every cached feature (default: ``outputs/feature_cache/``); return the files removed.

    >>> import tempfile
    >>> clear_feature_cache(Path(tempfile.mkdtemp()) / "nothing_here")
    0
    """
    from .paths import output_dir

    folder = Path(root) if root is not None else output_dir("feature_cache")
    n = sum(1 for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0
    shutil.rmtree(folder, ignore_errors=True)
    return n


# --------------------------------------------------------------------------- features of a folder

@dataclass
class Features:
    """The features of a part of a photo folder, with their labels and files.

    ``x`` (N, D) and ``y`` (N,) on the CPU; ``paths`` relative to ``root``; ``images`` reads
    what the model saw of a photo when indexed (for plots and the cleaner); ``computed`` and
    ``from_cache`` count where each feature came from; ``skipped`` names unreadable files.
    """

    x: torch.Tensor
    y: torch.Tensor
    paths: list[str]
    classes: list[str]
    root: Path
    preprocess: object
    computed: int = 0
    from_cache: int = 0
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.y)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def images(self):
        """``images[i]``: photo ``i`` as the model saw it (``uint8`` (3, S, S)), read on demand."""
        from .photos import FolderCrops

        return FolderCrops(self.root, self.paths, self.preprocess)

    def counts(self) -> dict[str, int]:
        n = torch.bincount(self.y, minlength=self.num_classes).tolist()
        return dict(zip(self.classes, n))

    def __repr__(self) -> str:
        dim = self.x.shape[1] if self.x.ndim == 2 else 0
        return (f"Features({len(self)} photos × {dim}; {self.computed} computed, "
                f"{self.from_cache} from the cache)")


MAX_LANES = 8   # batches through the network at once on the CPU (each holds its activations)


def network_lanes(num_workers: int, device: str | torch.device = "cpu") -> int:
    """How many batches go through the network at once while ``num_workers`` processes decode photos.

    On the CPU with decoding workers: one lane per core torch may use (at most ``MAX_LANES``),
    each on one thread (:func:`course_lib.cpu.in_lanes`), sharing the cores with the workers.
    One batch on every core instead stalls whenever a worker takes a core for a moment
    (``benchmarks/own_photos.py`` times both). ``1`` (one batch at a time, with torch's
    threads) without workers or on a GPU.

    >>> network_lanes(0), network_lanes(1, "cuda")
    (1, 1)
    """
    from .photos import usable_cores

    if num_workers <= 0 or torch.device(device).type != "cpu":
        return 1
    return max(1, min(torch.get_num_threads(), usable_cores(), MAX_LANES))


def lane_batch(image_size: int, lanes: int) -> int:
    """Photos per batch in each of ``lanes`` lanes: :func:`batch_for` shared between them.

    The lanes together hold the pixels of one batch, so memory does not grow with the lanes
    (and a photo's features do not depend on the batch it is in).

    >>> lane_batch(224, 1), lane_batch(224, 2), lane_batch(224, 64)
    (8, 4, 1)
    """
    return max(1, batch_for(image_size) // max(1, lanes))


def through_network(fn, files: Sequence[Path], preprocess, *, device, batch_size: int | None = None,
                    num_workers: int | None = None, progress: bool | None = None, desc: str = "features",
                    root: Path | None = None):
    """``(batch, fn(batch))`` for the photo batches of ``files``, in order: decoding in worker
    processes (:func:`course_lib.photos.stream_photos`), ``fn`` (the network) in lanes beside
    them (:func:`network_lanes`, :func:`lane_batch`). ``fn`` runs in a lane's thread: it turns
    gradients off itself. Stopping early (an error, an interrupt) stops the workers and lanes.
    """
    from . import photos

    if num_workers is None:
        num_workers = photos.default_workers(len(files), device)
    lanes = network_lanes(num_workers, device)
    stream = photos.stream_photos(files, preprocess, num_workers=num_workers, device=device, progress=progress,
                                  batch_size=batch_size or lane_batch(preprocess.image_size, lanes),
                                  desc=desc, root=root)
    results = in_lanes(fn, stream, lanes)
    try:
        yield from results
    finally:
        results.close()
        stream.close()


def _extract(model: nn.Module, files: list[Path], preprocess, *, cache: FeatureCache | None,
             device, batch_size: int | None, num_workers: int | None, progress: bool | None,
             root: Path) -> tuple[list, dict[int, str], set[int]]:
    """Features of ``files`` (cached ones looked up, the rest streamed); rows, errors, computed."""
    from . import photos

    rows: list[torch.Tensor | None] = [None] * len(files)
    if cache is not None and len(cache):
        for i, feature in cache.lookup(photos.hash_files(files, progress=progress)).items():
            rows[i] = feature
    todo = [i for i, row in enumerate(rows) if row is None]
    errors: dict[int, str] = {}
    if not todo:
        return rows, errors, set()
    device = pick_device(device)

    def forward(batch):   # in a lane's thread: gradient mode is per thread
        if batch.images is None:
            return None
        with torch.no_grad():
            return model(preprocess.normalise(to_device(batch.images, device))).flatten(1).float().cpu()

    results = through_network(forward, [files[i] for i in todo], preprocess, device=device, root=root,
                              batch_size=batch_size, num_workers=num_workers, progress=progress)
    try:
        with _on(model, device):
            for batch, out in results:
                for j, error in zip(batch.indices, batch.errors):
                    if error:
                        errors[todo[j]] = error
                if out is None:
                    continue
                ok = batch.ok
                for k, j in enumerate(ok):
                    rows[todo[j]] = out[k]
                if cache is not None:
                    position = {j: n for n, j in enumerate(batch.indices)}
                    cache.add([batch.digests[position[j]] for j in ok], out)
    finally:
        results.close()
        if cache is not None:
            cache.flush()  # an interrupted run keeps every feature computed so far
    if cache is not None:
        cache.compact()
    return rows, errors, {i for i in todo if rows[i] is not None}


def split_features(model: nn.Module, split, preprocess, *, cache: bool | FeatureCache = True,
                   on_bad: str = "error", device: str | torch.device | None = None,
                   batch_size: int | None = None, num_workers: int | None = None,
                   progress: bool | None = None) -> dict[str, Features]:
    """Features of every photo of a kept split: ``{"train": Features, "val": ..., "test": ...}``.

    The photos are streamed (:func:`course_lib.photos.stream_photos`: batches, decoding in
    worker processes, a progress bar for many photos); memory holds the features, never the
    images. Beside decoding workers on the CPU, the network takes a batch per core
    (:func:`network_lanes`, each of :func:`lane_batch` photos unless ``batch_size`` is given).
    With ``cache=True`` (or a :class:`FeatureCache`) features are kept on disk: photos seen
    before with the same network and preprocessing are not read again.
    Unreadable photos never stop the pass: with ``on_bad="error"`` they are all named in one
    :class:`~course_lib.errors.BadImageError` at the end (the other features are cached, so
    fixing them and running again is quick); with ``on_bad="skip"`` they are left out with a
    warning.
    """
    from .splits import PARTS

    entries = [(part, rel, cls) for part in PARTS for rel, cls in split.parts[part]]
    return _features(model, split.root, entries, split.classes, preprocess, cache=cache, on_bad=on_bad,
                     device=device, batch_size=batch_size, num_workers=num_workers, progress=progress,
                     parts=PARTS)


def folder_features(model: nn.Module, root: str | Path, entries: Sequence[tuple[str, str]],
                    classes: Sequence[str], preprocess, *, cache: bool | FeatureCache = True,
                    on_bad: str = "error", device: str | torch.device | None = None,
                    batch_size: int | None = None, num_workers: int | None = None,
                    progress: bool | None = None) -> Features:
    """Features of ``(relative path, class)`` entries under ``root`` (see :func:`split_features`)."""
    return _features(model, Path(root), [("all", rel, cls) for rel, cls in entries], classes, preprocess,
                     cache=cache, on_bad=on_bad, device=device, batch_size=batch_size,
                     num_workers=num_workers, progress=progress, parts=("all",))["all"]


def _features(model, root, entries, classes, preprocess, *, cache, on_bad, device, batch_size,
              num_workers, progress, parts) -> dict[str, Features]:
    if on_bad not in ("error", "skip"):
        raise ValueError(f"on_bad must be 'error' or 'skip', got {on_bad!r}.")
    root = Path(root)
    if cache is True:
        store = FeatureCache.for_model(model, preprocess)
    else:
        store = cache if isinstance(cache, FeatureCache) else None   # (an empty cache is falsy)
    files = [root / rel for _, rel, _ in entries]
    rows, errors, computed = _extract(model, files, preprocess, cache=store, device=device,
                                      batch_size=batch_size, num_workers=num_workers,
                                      progress=progress, root=root)
    if errors and on_bad == "error":
        raise BadImageError(f"{len(errors)} photo(s) cannot be read (the features of the others are "
                            "kept in the cache, so the next run reads only what changed):\n  "
                            + "\n  ".join(errors[i] for i in sorted(errors))
                            + "\nReplace them or move them out of the folder, or pass on_bad='skip'.")
    if errors:
        warnings.warn(f"Skipped {len(errors)} unreadable photo(s): "
                      + ", ".join(errors[i].split(": ")[0] for i in sorted(errors)), stacklevel=3)
    index = {c: i for i, c in enumerate(classes)}
    out = {}
    for part in parts:
        mine = [i for i, (p, _, _) in enumerate(entries) if p == part]
        kept = [i for i in mine if rows[i] is not None]
        dim = next((rows[i].shape[0] for i in range(len(rows)) if rows[i] is not None), 0)
        x = torch.stack([rows[i] for i in kept]) if kept else torch.zeros(0, dim)
        y = torch.tensor([index[entries[i][2]] for i in kept], dtype=torch.long)
        out[part] = Features(x, y, [entries[i][1] for i in kept], list(classes), root, preprocess,
                             computed=sum(i in computed for i in kept),
                             from_cache=sum(i not in computed for i in kept),
                             skipped=[entries[i][1] for i in mine if rows[i] is None])
    return out


# --------------------------------------------------------------------------- beyond the frozen head

class _Front(nn.Module):
    """EfficientNet stem and its first blocks (frozen)."""

    def __init__(self, model: nn.Module, n_front: int):
        super().__init__()
        self.stem = nn.Sequential(model._conv_stem, model._bn0, model._swish)
        self.blocks = nn.ModuleList(model._blocks[:n_front])
        self.rate, self.total = model._global_params.drop_connect_rate, len(model._blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for i, block in enumerate(self.blocks):
            x = block(x, drop_connect_rate=self.rate * i / self.total if self.rate else None)
        return x


class _Tail(nn.Module):
    """EfficientNet's last blocks, head convolution and average pooling: pooled features."""

    def __init__(self, model: nn.Module, n_front: int):
        super().__init__()
        self.blocks = nn.ModuleList(model._blocks[n_front:])
        self.conv_head, self.bn1, self.act = model._conv_head, model._bn1, model._swish
        self.offset, self.rate, self.total = n_front, model._global_params.drop_connect_rate, len(model._blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for j, block in enumerate(self.blocks):
            i = self.offset + j
            x = block(x, drop_connect_rate=self.rate * i / self.total if self.rate else None)
        return self.act(self.bn1(self.conv_head(x))).mean((2, 3))


def split_last_blocks(model: nn.Module, n_blocks: int = 1) -> tuple[nn.Module, nn.Module]:
    """Cut an EfficientNet-Lite into ``(front, tail)``: ``tail(front(x))`` are its pooled features.

    The two share the model's layers (no copy). Only EfficientNet-style models (``_blocks``,
    ``_conv_head``) are supported.

    >>> from course_lib.models import load_backbone
    >>> front, tail = split_last_blocks(load_backbone("efficientnet_lite0").model, 1)
    >>> len(front.blocks), len(tail.blocks)
    (15, 1)
    """
    if not (hasattr(model, "_blocks") and hasattr(model, "_conv_head")):
        raise ValueError(f"split_last_blocks works on EfficientNet-Lite (load_backbone('efficientnet_lite0')); "
                         f"got {type(model).__name__}. For other models use models.freeze_all_but_last.")
    if not 1 <= n_blocks <= len(model._blocks):
        raise ValueError(f"n_blocks must be between 1 and {len(model._blocks)}, got {n_blocks}.")
    n_front = len(model._blocks) - n_blocks
    return _Front(model, n_front), _Tail(model, n_front)


def augment(images: torch.Tensor, size: int, seed: int, *, scale: tuple[float, float] = (0.5, 1.0)) -> torch.Tensor:
    """One augmented view of each ``uint8`` image: random resized crop to ``size`` and random flip.

    >>> augment(torch.zeros(2, 3, 40, 40, dtype=torch.uint8), 32, seed=0).shape
    torch.Size([2, 3, 32, 32])
    """
    from torchvision.transforms import v2

    crop = v2.Compose([v2.RandomResizedCrop(size, scale=scale, antialias=True), v2.RandomHorizontalFlip()])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return torch.stack([crop(im) for im in images])
