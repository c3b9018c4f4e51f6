"""Text data and helpers for transfer with a BERT-style encoder (notebook 09).

Fine-tuning on a CPU is made cheap by running the frozen bottom of the encoder once: the
hidden states entering layer ``first_layer`` are cached (:func:`cache_states`) and only the
layers above, the pooling and the head run at every step (:class:`EncoderTop`).

>>> ds = load_text_dataset()
>>> len(ds), ds.classes
(320, ['cooking', 'finance', 'science', 'sport'])
"""
from __future__ import annotations

import csv
import copy
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


# --------------------------------------------------------------------------- fair comparisons (notebook 09)

def tfidf_accuracy(texts: list[str], labels, split: dict, C: float = 10.0) -> float:
    """TF-IDF + logistic regression, with the vocabulary and IDF fitted on the training texts only.

    Fitting the vectorizer on every text (test included) would leak the test vocabulary into
    the features; here the test part is only transformed.

    >>> ds = load_text_dataset(); y = ds.labels
    >>> split = {"train": np.r_[0:10, 80:90, 160:170, 240:250], "test": np.r_[40:80, 120:160]}
    >>> 0 <= tfidf_accuracy(ds.texts, y, split) <= 1
    True
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    y = np.asarray(labels)
    train, test = np.asarray(split["train"]), np.asarray(split["test"])
    vectorizer = TfidfVectorizer().fit([texts[i] for i in train])
    clf = LogisticRegression(C=C, max_iter=5000)
    clf.fit(vectorizer.transform([texts[i] for i in train]), y[train])
    return float(clf.score(vectorizer.transform([texts[i] for i in test]), y[test]))


def logistic_head(embeddings, labels, train, C: float = 10.0):
    """A logistic regression on raw (unscaled) embeddings of the ``train`` rows, as an ``nn.Linear``.

    Used to start a classifier head from what a frozen-feature probe learned (LP-FT: linear
    probe, then fine-tune), instead of from random weights.

    >>> E = torch.randn(40, 6); y = (E[:, 0] > 0).long()
    >>> head = logistic_head(E, y, np.arange(40)); head
    Linear(in_features=6, out_features=2, bias=True)
    >>> float((head(E).argmax(1) == y).float().mean()) > 0.9
    True
    """
    from sklearn.linear_model import LogisticRegression

    X = E = embeddings.numpy() if torch.is_tensor(embeddings) else np.asarray(embeddings)
    y = np.asarray(labels)
    train = np.asarray(train)
    clf = LogisticRegression(C=C, max_iter=5000).fit(X[train], y[train])
    coef, intercept = clf.coef_, clf.intercept_
    if coef.shape[0] == 1:                                   # binary: sklearn stores one row
        coef, intercept = np.r_[-coef / 2, coef / 2], np.r_[-intercept / 2, intercept / 2]
    head = torch.nn.Linear(E.shape[1], coef.shape[0])
    with torch.no_grad():
        head.weight.copy_(torch.as_tensor(coef, dtype=torch.float32))
        head.bias.copy_(torch.as_tensor(intercept, dtype=torch.float32))
    return head


@dataclass
class TextCache:
    """One pass of the encoder over every text, kept for reuse.

    ``hidden`` (N, T, H) holds the token vectors entering layer ``first_layer`` (what
    :class:`EncoderTop` starts from); ``mean`` and ``cls`` (N, H) are the final sentence vectors
    by mean pooling and by the ``[CLS]`` token.
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    hidden: torch.Tensor
    mean: torch.Tensor
    cls: torch.Tensor
    first_layer: int


def cache_states(model, tokenizer, texts: list[str], first_layer: int = 4, max_length: int = 32,
                 batch_size: int = 64) -> TextCache:
    """Tokenise once and run the encoder once (eval mode, no gradients) over ``texts``.

    >>> from course_lib.models import load_backbone
    >>> bb = load_backbone("minilm")
    >>> c = cache_states(bb.model, bb.preprocess, ["the cat sat", "stocks fell sharply"])
    >>> c.hidden.shape[0], c.hidden.shape[2], c.mean.shape, c.first_layer
    (2, 384, torch.Size([2, 384]), 4)
    """
    from .models import evaluating

    n_layers = len(model.encoder.encoder.layer)
    if not 0 <= first_layer <= n_layers:
        raise ValueError(f"first_layer must be between 0 (fine-tune every layer) and {n_layers} "
                         f"(fine-tune none), got {first_layer}.")
    encoded = tokenizer(list(texts), padding=True, truncation=True, max_length=max_length,
                        return_tensors="pt")
    ids, mask = encoded["input_ids"], encoded["attention_mask"]
    hidden, last = [], []
    with evaluating(model):
        for i in range(0, len(ids), batch_size):
            out = model.encoder(input_ids=ids[i:i + batch_size],
                                attention_mask=mask[i:i + batch_size], output_hidden_states=True)
            hidden.append(out.hidden_states[first_layer])
            last.append(out.last_hidden_state)
    last_hidden = torch.cat(last)
    return TextCache(ids, mask, torch.cat(hidden), mean_pool(last_hidden, mask),
                     last_hidden[:, 0].clone(), first_layer)


class EncoderTop(torch.nn.Module):
    """The layers of ``model``'s encoder from ``first_layer`` on, mean pooling and a head.

    It *shares* those layers with ``model`` (training it changes ``model``), and it is fed the
    hidden states of :func:`cache_states`: ``top(cache.hidden[i], cache.attention_mask[i])``.
    :meth:`reset` puts back the pretrained weights it was built with and installs a new head.
    """

    def __init__(self, model, first_layer: int = 4, num_classes: int = 2):
        super().__init__()
        self.config = model.encoder.config
        self.layers = model.encoder.encoder.layer[first_layer:]
        self.classifier = torch.nn.Linear(self.config.hidden_size, num_classes)
        self.first_layer = first_layer
        self._pretrained = copy.deepcopy(self.layers.state_dict())

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        from transformers.masking_utils import create_bidirectional_mask

        mask = create_bidirectional_mask(config=self.config, inputs_embeds=hidden,
                                         attention_mask=attention_mask)
        for layer in self.layers:
            hidden = layer(hidden, mask)
        return self.classifier(mean_pool(hidden, attention_mask))

    def reset(self, head: torch.nn.Linear) -> "EncoderTop":
        """Pretrained layers again, ``head`` as the classifier (every parameter trainable)."""
        self.layers.load_state_dict(self._pretrained)
        self.classifier = head
        self.requires_grad_(True)
        return self


def budgeted_fit(forward, parameter_groups: list[dict], labels, split: dict, budget, *, modules=(),
                 seed: int = 0, batch_size: int = 16, eval_every: int = 5, warmup: float = 0.1,
                 max_grad_norm: float = 1.0):
    """Train for exactly ``budget.steps`` AdamW steps; keep the weights with the best validation accuracy.

    ``forward(indices)`` returns logits for those rows; ``parameter_groups`` are AdamW groups
    (each with its own ``lr``); ``modules`` are put in train mode for steps and eval mode for
    validation. Each step takes ``batch_size`` training rows drawn at random (a generator seeded
    with ``seed``), clips the gradient norm to ``max_grad_norm``, and moves the learning rate:
    a linear warm-up over the first ``warmup`` fraction of the steps, then a linear decay to 0.
    Validation (the ``"val"`` indices) runs every ``eval_every`` steps and once before the
    first step, so the starting point can win (a tie keeps the earlier weights).
    Returns a :class:`course_lib.compare.RunResult` scored on ``"test"`` (lr = the largest group lr).
    Notebook 09 writes this loop out in full once.

    >>> from course_lib.compare import Budget
    >>> _ = torch.manual_seed(0)
    >>> X = torch.randn(60, 3); y = (X[:, 0] > 0).long(); head = torch.nn.Linear(3, 2)
    >>> split = {"train": np.arange(40), "val": np.arange(40, 50), "test": np.arange(50, 60)}
    >>> r = budgeted_fit(lambda i: head(X[i]), [{"params": head.parameters(), "lr": 0.1}], y, split,
    ...                  Budget(20), modules=[head])
    >>> r.steps, r.score > 0.7
    (20, True)
    """
    from .compare import RunResult
    from .repro import seed_everything

    y = torch.as_tensor(np.asarray(labels)).long()
    train, val, test = (np.asarray(split[p]) for p in ("train", "val", "test"))
    if len(val) == 0:
        raise ValueError("budgeted_fit selects weights on validation: carve a validation part "
                         "(compare.few_shot_trials(..., val_per_class=...)).")
    groups = [dict(g, params=list(g["params"])) for g in parameter_groups]
    peak_lr = max(float(g["lr"]) for g in groups)      # the schedule changes g["lr"] as it runs
    tracked = [p for g in groups for p in g["params"]]
    steps = int(budget.steps)
    seed_everything(seed)
    optimizer = torch.optim.AdamW(groups, weight_decay=0.01)
    warm = max(1, round(warmup * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warm, (steps - s) / max(1, steps - warm)))

    def accuracy(idx) -> float:
        for m in modules:
            m.eval()
        with torch.no_grad():
            return (forward(idx).argmax(1) == y[idx]).float().mean().item()

    best_val, best = accuracy(val), [p.detach().clone() for p in tracked]
    generator = torch.Generator().manual_seed(seed)
    for step in range(steps):
        for m in modules:
            m.train()
        batch = train[torch.randperm(len(train), generator=generator)[:batch_size].numpy()]
        loss = torch.nn.functional.cross_entropy(forward(batch), y[batch])
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(tracked, max_norm=max_grad_norm)
        optimizer.step()
        schedule.step()
        if (step + 1) % eval_every == 0 and (v := accuracy(val)) > best_val:
            best_val, best = v, [p.detach().clone() for p in tracked]
    with torch.no_grad():
        for p, b in zip(tracked, best):
            p.copy_(b)
    score = accuracy(test)
    return RunResult(score=score, steps=steps, lr_grid=budget.lr_grid, lr=peak_lr,
                     extra={"val": best_val})


def head_only_run(embeddings, labels, split: dict, budget, *, head_lr: float = 1e-3, seed: int = 0):
    """The frozen arm: a logistic-regression head on frozen embeddings, then ``budget`` AdamW steps
    on the head alone (same schedule and validation rule as :func:`finetune_run`)."""
    E = torch.as_tensor(np.asarray(embeddings))
    head = logistic_head(E, labels, split["train"])
    result = budgeted_fit(lambda i: head(E[i]), [{"params": head.parameters(), "lr": head_lr}],
                          labels, split, budget, modules=[head], seed=seed)
    result.extra["trainable"] = sum(p.numel() for p in head.parameters())
    return result


def finetune_run(top: EncoderTop, cache: TextCache, labels, split: dict, budget, *,
                 encoder_lr: float = 5e-5, head_lr: float = 1e-3, seed: int = 0):
    """The fine-tuned arm, LP-FT style: the top layers reset to their pretrained weights, the head
    started from the frozen arm's logistic regression (on ``cache.mean``), then ``budget`` AdamW
    steps on those layers (``encoder_lr``) and the head (``head_lr``).

    The layers below ``top.first_layer`` stay frozen: their output is read from ``cache``.
    """
    if cache.first_layer != top.first_layer:
        raise ValueError(f"The cache holds the input of layer {cache.first_layer} but the top "
                         f"starts at layer {top.first_layer}; build both with the same first_layer.")
    top.reset(logistic_head(cache.mean, labels, split["train"]))
    result = budgeted_fit(lambda i: top(cache.hidden[i], cache.attention_mask[i]),
                          [{"params": top.layers.parameters(), "lr": encoder_lr},
                           {"params": top.classifier.parameters(), "lr": head_lr}],
                          labels, split, budget, modules=[top], seed=seed)
    result.extra["trainable"] = sum(p.numel() for p in top.parameters() if p.requires_grad)
    return result
