"""Text data and helpers for transfer with a BERT-style encoder (notebook 09).

>>> ds = load_text_dataset()
>>> len(ds), ds.classes
(320, ['cooking', 'finance', 'science', 'sport'])
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from .paths import REPO_DIR, data_dir

TOPICS_CSV = REPO_DIR / "data" / "text" / "topics.csv"


@dataclass
class TextDataset:
    """Texts with integer labels indexing ``classes``."""

    texts: list[str]
    labels: np.ndarray
    classes: list[str]

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices) -> "TextDataset":
        idx = np.asarray(indices)
        return TextDataset([self.texts[i] for i in idx], self.labels[idx], self.classes)

    def __repr__(self) -> str:
        counts = np.bincount(self.labels, minlength=len(self.classes))
        return f"TextDataset({len(self)} texts; " + ", ".join(f"{c}: {n}" for c, n in zip(self.classes, counts)) + ")"


def _from_rows(rows: list[tuple[str, str]], source: Path) -> TextDataset:
    texts = [t.strip() for t, _ in rows]
    empty = [i for i, t in enumerate(texts) if not t]
    if empty:
        raise ValueError(f"{source}: row {empty[0] + 2} has an empty text. Remove it or fill it in.")
    seen: dict[str, int] = {}
    for i, t in enumerate(texts):
        if t.lower() in seen:
            raise ValueError(f"{source}: rows {seen[t.lower()] + 2} and {i + 2} hold the same text "
                             f"({t[:40]!r}…); duplicates leak between train and test splits.")
        seen[t.lower()] = i
    classes = sorted({label for _, label in rows})
    if len(classes) < 2:
        raise ValueError(f"{source}: only one label ({classes}); a classifier needs at least two.")
    lookup = {c: i for i, c in enumerate(classes)}
    return TextDataset(texts, np.array([lookup[label] for _, label in rows]), classes)


def load_text_dataset(path: str | Path | None = None) -> TextDataset:
    """The course's offline topic set (``data/text/topics.csv``) or another ``text,label`` CSV."""
    path = Path(path) if path is not None else TOPICS_CSV
    if not path.is_file():
        raise FileNotFoundError(f"No text dataset at {path}. The course's set ships in data/text/; "
                                "check that the repository is complete.")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or not {"text", "label"} <= set(reader.fieldnames):
            raise ValueError(f"{path} must have a header with the columns 'text' and 'label'; "
                             f"found {reader.fieldnames}.")
        rows = [(r["text"] or "", (r["label"] or "").strip()) for r in reader]
    return _from_rows(rows, path)


def load_sst2(root: str | Path | None = None, split: str = "train") -> TextDataset:
    """SST-2 (movie-review sentiment) fetched by ``data_scripts/fetch_sst2.py``; labels negative/positive."""
    root = Path(root) if root is not None else data_dir("sst2")
    path = root / f"{split}.tsv"
    if not path.is_file():
        raise FileNotFoundError(f"SST-2 is not in {root}. When online, run "
                                "`python data_scripts/fetch_sst2.py`; offline, use load_text_dataset().")
    rows = []
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        col_text, col_label = header.index("sentence"), header.index("label")
        for line in f:
            parts = line.rstrip("\n").split("\t")
            rows.append((parts[col_text], {"0": "negative", "1": "positive"}[parts[col_label]]))
    unique = {}
    for text, label in rows:  # SST-2 contains a few exact duplicates; keep the first
        unique.setdefault(text.strip().lower(), (text, label))
    return _from_rows(list(unique.values()), path)


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average the token vectors ``hidden`` (B, T, H) over real tokens (mask 1), ignoring padding."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


class _Encoded(torch.utils.data.Dataset):
    def __init__(self, encoded: dict[str, torch.Tensor], labels):
        self.encoded, self.labels = encoded, torch.as_tensor(np.asarray(labels), dtype=torch.long)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        return {k: v[i] for k, v in self.encoded.items()}, self.labels[i]


def make_text_loader(texts: list[str], labels, tokenizer, batch_size: int = 16, max_length: int = 32,
                     shuffle: bool = False, seed: int = 0) -> DataLoader:
    """Tokenise once (padded to the longest text, at most ``max_length`` tokens) and batch.

    Batches are ``(inputs, labels)`` with ``inputs`` a dict for ``model(**inputs)``.
    """
    from .data import make_loader

    encoded = tokenizer(list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    return make_loader(_Encoded(dict(encoded), labels), batch_size=batch_size, shuffle=shuffle, seed=seed)


def embed_texts(model, tokenizer, texts: list[str], batch_size: int = 64, max_length: int = 32) -> torch.Tensor:
    """Sentence embeddings from a :class:`course_lib.models.TextClassifier` (eval mode, no gradients)."""
    from .models import evaluating

    loader = make_text_loader(texts, np.zeros(len(texts)), tokenizer, batch_size, max_length)
    out = []
    with evaluating(model):
        for inputs, _ in loader:
            out.append(model.embed(inputs["input_ids"], inputs["attention_mask"], inputs.get("token_type_ids")))
    return torch.cat(out)
