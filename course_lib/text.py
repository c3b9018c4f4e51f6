"""Text data and helpers for transfer with a BERT-style encoder (notebook 09).

Fine-tuning on a CPU is made cheap by running the frozen bottom of the encoder once: the
hidden states entering layer ``first_layer`` are cached (:func:`cache_states`) and only the
layers above, the pooling and the head run at every step (:class:`EncoderTop`).

The arms of notebook 09's comparisons (each ``(seed, budget) -> RunResult``, for
:func:`course_lib.compare.run_paired`): :func:`tfidf_arm` (no pretraining) and
:func:`finetune_arm` (the encoder's top layers fine-tuned through :func:`course_lib.loop.tune`);
the frozen-feature arms are :func:`course_lib.compare.convex_arm` on :class:`TextCache` vectors.

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
    from .evaluation import evaluating

    loader = make_text_loader(texts, np.zeros(len(texts)), tokenizer, batch_size, max_length)
    out = []
    with evaluating(model):
        for inputs, _ in loader:
            out.append(model.embed(inputs["input_ids"], inputs["attention_mask"], inputs.get("token_type_ids")))
    return torch.cat(out)


# --------------------------------------------------------------------------- cached encoder passes

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

    def inputs(self, rows) -> dict[str, torch.Tensor]:
        """What :class:`EncoderTop` takes for ``rows``: ``top(**cache.inputs(rows))``."""
        rows = torch.as_tensor(np.asarray(rows), dtype=torch.long)
        return {"hidden": self.hidden[rows], "attention_mask": self.attention_mask[rows]}


def cache_states(model, tokenizer, texts: list[str], first_layer: int = 4, max_length: int = 32,
                 batch_size: int = 64) -> TextCache:
    """Tokenise once and run the encoder once (eval mode, no gradients) over ``texts``.

    ``first_layer`` = 0 keeps the token embeddings' output (every transformer layer can then
    be fine-tuned); 6 keeps the last layer's output (none can).

    >>> from course_lib.models import load_backbone
    >>> bb = load_backbone("minilm")
    >>> c = cache_states(bb.model, bb.preprocess, ["the cat sat", "stocks fell sharply"])
    >>> c.hidden.shape[0], c.hidden.shape[2], c.mean.shape, c.first_layer
    (2, 384, torch.Size([2, 384]), 4)
    """
    from .evaluation import evaluating

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
    """A copy of ``model``'s encoder layers from ``first_layer`` on, mean pooling and a ``head``.

    Fed the hidden states of :func:`cache_states`: ``top(**cache.inputs(rows))``. The layers
    are *copied* (training the top never changes ``model``); ``head`` is an ``nn.Module`` (used
    as given) or a number of classes (a new ``nn.Linear``). Padding beyond a batch's longest
    sentence is cut off before the layers run: it changes nothing but the time.
    :meth:`copy_into` puts the trained layers and head into a whole model, to save it.
    """

    def __init__(self, model, first_layer: int = 4, head: torch.nn.Module | int = 2):
        super().__init__()
        n_layers = len(model.encoder.encoder.layer)
        if not 0 <= first_layer < n_layers:
            raise ValueError(f"first_layer must be between 0 (fine-tune every layer) and {n_layers - 1} "
                             f"(the last layer only), got {first_layer}.")
        self.config = model.encoder.config
        self.layers = copy.deepcopy(model.encoder.encoder.layer[first_layer:])
        self.classifier = (torch.nn.Linear(self.config.hidden_size, head) if isinstance(head, int) else head)
        self.first_layer = first_layer

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        from transformers.masking_utils import create_bidirectional_mask

        longest = max(1, int(attention_mask.sum(1).max()))    # padding sits on the right
        hidden, attention_mask = hidden[:, :longest], attention_mask[:, :longest]
        mask = create_bidirectional_mask(config=self.config, inputs_embeds=hidden,
                                         attention_mask=attention_mask)
        for layer in self.layers:
            hidden = layer(hidden, mask)
        return self.classifier(mean_pool(hidden, attention_mask))

    def copy_into(self, classifier) -> None:
        """Write these layers and a copy of the head into ``classifier``, a
        :class:`course_lib.models.TextClassifier` holding the same encoder (it changes in place)."""
        layers = classifier.encoder.encoder.layer[self.first_layer:]
        if len(layers) != len(self.layers):
            raise ValueError(f"The classifier's encoder has {len(layers) + self.first_layer} layers; this top "
                             f"holds layers {self.first_layer}–{self.first_layer + len(self.layers) - 1}.")
        layers.load_state_dict(self.layers.state_dict())
        classifier.classifier = copy.deepcopy(self.classifier)


def top_loss(top: torch.nn.Module, batch) -> torch.Tensor:
    """The training loss of :class:`EncoderTop` for :func:`course_lib.loop.train`: cross-entropy on a
    batch ``(hidden, attention_mask, labels)``."""
    hidden, attention_mask, labels = batch
    return torch.nn.functional.cross_entropy(top(hidden, attention_mask), labels)


# --------------------------------------------------------------------------- the arms of notebook 09

class UnitNormLinear(torch.nn.Linear):
    """A linear layer applied to its input rescaled to unit length: ``W x / ‖x‖ + b``.

    The logistic regression of ``loop.fit_convex(..., scale="l2")`` (the course's frozen-feature
    head) as a layer; its weights are those of an ``nn.Linear`` (the same ``state_dict`` keys).

    >>> head = UnitNormLinear(3, 2)
    >>> x = torch.tensor([[3.0, 0.0, 4.0]])
    >>> torch.allclose(head(x), head(x / 5)), torch.allclose(head(x), head(10 * x))
    (True, True)
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(torch.nn.functional.normalize(x, dim=-1))


def linear_head(fit) -> torch.nn.Linear:
    """The logistic regression of a :class:`course_lib.loop.ConvexFit` as a layer giving the same
    predictions: the start of LP-FT (linear probe, then fine-tune).

    A fit on unit-length rows (``scale="l2"``, the default) gives a :class:`UnitNormLinear`; a fit
    on the features as given (``scale=None``) a plain ``nn.Linear``.

    >>> from course_lib.loop import Budget, fit_convex
    >>> E = torch.randn(60, 6); y = (E[:, 0] > 0).long()
    >>> fit = fit_convex(E[:40], y[:40], E[40:], y[40:], Budget(1, (1, 2, 3), scale=1))
    >>> head = linear_head(fit); head
    UnitNormLinear(in_features=6, out_features=2, bias=True)
    >>> bool((head(E).argmax(1).numpy() == fit.predict(E)).all())
    True
    """
    from sklearn.preprocessing import Normalizer

    steps = [step for _, step in getattr(fit.classifier, "steps", [("model", fit.classifier)])]
    scalers = steps[:-1]
    if len(scalers) > 1 or (scalers and not (isinstance(scalers[0], Normalizer) and scalers[0].norm == "l2")):
        raise ValueError("linear_head turns a logistic regression on unit-length rows (fit_convex's default, "
                         "scale='l2') or on the features as given (scale=None) into a layer; a per-feature "
                         f"rescaling ({type(scalers[0]).__name__}) is not one.")
    clf = steps[-1]
    coef, intercept = clf.coef_, clf.intercept_
    if coef.shape[0] == 1:                                   # binary: scikit-learn stores one row
        coef, intercept = np.r_[-coef / 2, coef / 2], np.r_[-intercept / 2, intercept / 2]
    kind = UnitNormLinear if scalers else torch.nn.Linear
    head = kind(coef.shape[1], coef.shape[0])
    with torch.no_grad():
        head.weight.copy_(torch.as_tensor(coef, dtype=torch.float32))
        head.bias.copy_(torch.as_tensor(intercept, dtype=torch.float32))
    return head


def _trial(trials, seed: int) -> dict:
    t = trials(seed) if callable(trials) else trials[seed]
    if not len(t["val"]):
        raise ValueError("This arm picks its settings on validation: carve a validation split "
                         "(compare.trials_by_seed(..., val_per_class=...)).")
    return t


def tfidf_arm(texts: list[str], labels, trials):
    """An arm without pretraining: TF-IDF features and a logistic regression, ``C`` picked on the
    trial's validation texts from ``budget.c_grid`` and solved to convergence
    (:func:`course_lib.loop.fit_convex`).

    The vocabulary and the IDF weights are fitted on the trial's *training* texts only: fitting
    them on every text would let the test sentences' words into the features.

    >>> from course_lib.compare import Budget, trials_by_seed
    >>> ds = load_text_dataset()
    >>> arm = tfidf_arm(ds.texts, ds.labels, trials_by_seed(ds.labels, 8, [0], val_per_class=10))
    >>> r = arm(0, Budget(1, (1e-3, 1e-2, 1e-1), scale=1)); 0.25 < r.score <= 1, r.extra["C"] > 0
    (True, True)
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    from .compare import RunResult
    from .loop import fit_convex

    y = np.asarray(labels)

    def arm(seed: int, budget) -> RunResult:
        t = _trial(trials, seed)
        vectorizer = TfidfVectorizer().fit([texts[i] for i in t["train"]])

        def features(rows):
            return vectorizer.transform([texts[i] for i in rows]).toarray()

        fit = fit_convex(features(t["train"]), y[t["train"]], features(t["val"]), y[t["val"]], budget)
        return RunResult(score=fit.score(features(t["test"]), y[t["test"]]),
                         extra={"C": fit.C, "converged": fit.converged, "val": fit.val_score,
                                "vocabulary": len(vectorizer.vocabulary_)})
    return arm


def finetune_arm(model, cache: TextCache, labels, trials, *, body_factor: float = 0.02,
                 batch_size: int = 8, patience: int | None = None):
    """An arm: LP-FT on the encoder's layers from ``cache.first_layer`` on.

    1. **Linear probe**: a logistic regression on the frozen mean-pooled vectors (unit length),
       ``C`` picked on the trial's validation rows (:func:`course_lib.loop.fit_convex`, solved to
       convergence) — exactly the frozen arm ``compare.convex_arm(cache.mean, labels, trials)``;
       as a layer, :class:`UnitNormLinear`.
    2. **Fine-tune**: from there, :func:`course_lib.loop.tune` trains a fresh :class:`EncoderTop`
       (pretrained layers, the probe as its head) at every rate of ``budget.lr_grid``: the head
       at the grid's rate and the encoder layers at ``rate × body_factor``
       (:func:`course_lib.loop.head_and_body`), AdamW (weight decay 0.01), a linear warm-up over
       10 % of ``budget.cap`` then a linear decay, gradient clipping at norm 1, batches of
       ``batch_size``; validated every cap / 20 steps (accuracy, ties broken by the lower loss),
       the best step kept. The starting point is not a candidate: the arm always returns
       fine-tuned weights, never the probe it started from.

    The result's ``extra`` holds the probe's validation and test accuracy (``start_val``,
    ``start_test``), the kept run's validation score, rate and best step, and the number of
    trainable parameters.
    """
    from .compare import RunResult
    from .evaluation import accuracy_of
    from .loop import fit_convex, head_and_body, tune

    y = torch.as_tensor(np.asarray(labels), dtype=torch.long)

    def groups(top, lr):
        return head_and_body(top.classifier, body_factor)(top, lr)

    def arm(seed: int, budget) -> RunResult:
        t = _trial(trials, seed)
        train, val, test = (torch.as_tensor(np.asarray(t[p]), dtype=torch.long) for p in ("train", "val", "test"))
        probe = fit_convex(cache.mean[train], y[train], cache.mean[val], y[val], budget)
        head = linear_head(probe)
        data = (cache.hidden[train], cache.attention_mask[train], y[train])
        tuned = tune(lambda: EncoderTop(model, cache.first_layer, copy.deepcopy(head)), data, budget,
                     val=(cache.inputs(val), y[val]), seed=seed, loss=top_loss, param_groups=groups,
                     optimizer="adamw", weight_decay=0.01, schedule="warmup-linear", clip=1.0,
                     batch_size=batch_size, patience=patience, label="fine-tuned")
        score = accuracy_of(tuned.model, cache.inputs(test), y[test])
        return RunResult(score=score, lr=tuned.lr, extra={
            "start_val": probe.val_score, "start_test": probe.score(cache.mean[test], y[test]),
            "val": accuracy_of(tuned.model, cache.inputs(val), y[val]),
            "best_step": tuned.run.best_step, "C": probe.C,
            "trainable": sum(p.numel() for p in tuned.model.parameters() if p.requires_grad)})
    return arm
