"""Token classification (named-entity recognition) by transfer with all-MiniLM-L6-v2.

The recipe is the article's, one label per *token* instead of one per sentence: keep the
pretrained encoder, put a new ``Linear(384, n_tags)`` on every token vector, train the new layer
alone (encoder frozen) or everything (fine-tuned). Labels are BIO tags on words
(``B-PERSON`` begins a person's name, ``I-PERSON`` continues it, ``O`` is outside any entity);
the tokenizer splits words into word pieces, so the word labels must be *aligned* to tokens.

>>> s = parse_line("[Amara Okafor|PERSON] moved to [Lisbon|PLACE].")
>>> list(zip(s.words, s.tags))  # doctest: +NORMALIZE_WHITESPACE
[('Amara', 'B-PERSON'), ('Okafor', 'I-PERSON'), ('moved', 'O'), ('to', 'O'),
 ('Lisbon', 'B-PLACE'), ('.', 'O')]
>>> align_labels([None, 0, 0, 1, None], [1, 0])
[-100, 1, -100, 0, -100]
>>> entity_f1([["B-PLACE", "O"]], [["B-PLACE", "O"]])["f1"]
1.0
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .models import evaluating
from .paths import REPO_DIR

NER_DIR = REPO_DIR / "data" / "ner"
TYPES = ("PERSON", "PLACE", "ORG")
TAGS = ("O",) + tuple(f"{p}-{t}" for t in TYPES for p in ("B", "I"))
TAG_TO_ID = {t: i for i, t in enumerate(TAGS)}
IGNORE = -100  # PyTorch's cross_entropy skips targets equal to this (its ignore_index)

_ENTITY = re.compile(r"\[([^\[\]|]+)\|([A-Z]+)\]")
_WORD = re.compile(r"\w+(?:['’.-]\w+)*|[^\w\s]")


@dataclass
class NerSentence:
    """A sentence as words, with one BIO tag per word."""

    words: list[str]
    tags: list[str]

    @property
    def text(self) -> str:
        return " ".join(self.words)


def split_words(text: str) -> list[str]:
    """Words and punctuation marks, the units the tags are given for.

    >>> split_words("St Mary's Hospital, in Cork.")
    ['St', "Mary's", 'Hospital', ',', 'in', 'Cork', '.']
    """
    return _WORD.findall(text)


def parse_line(line: str, where: str = "line") -> NerSentence:
    """Turn ``"[Ada Lovelace|PERSON] lived in [London|PLACE]."`` into words and BIO tags."""
    words: list[str] = []
    tags: list[str] = []
    pos = 0
    for match in _ENTITY.finditer(line):
        words += split_words(line[pos:match.start()])
        tags += ["O"] * (len(words) - len(tags))
        entity, kind = split_words(match.group(1)), match.group(2)
        if kind not in TYPES:
            raise ValueError(f"{where}: unknown entity type {kind!r} in {match.group(0)!r}; "
                             f"use one of {', '.join(TYPES)}.")
        if not entity:
            raise ValueError(f"{where}: empty entity {match.group(0)!r}.")
        words += entity
        tags += [f"B-{kind}"] + [f"I-{kind}"] * (len(entity) - 1)
        pos = match.end()
    rest = line[pos:]
    if "[" in rest or "]" in rest or any("[" in w or "]" in w for w in words):
        raise ValueError(f"{where}: unbalanced or malformed brackets in {line!r}; write entities as "
                         "[words|TYPE].")
    words += split_words(rest)
    tags += ["O"] * (len(words) - len(tags))
    if not words:
        raise ValueError(f"{where}: the sentence is empty.")
    return NerSentence(words, tags)


def load_ner(part: str = "train", folder: Path | str | None = None) -> list[NerSentence]:
    """The course's NER sentences: ``part="train"`` or ``"test"`` (see ``data/README.md``).

    >>> len(load_ner("train")), len(load_ner("test"))
    (250, 89)
    """
    if part not in ("train", "test"):
        raise ValueError(f"part must be 'train' or 'test', got {part!r}.")
    path = Path(folder or NER_DIR) / f"{part}.txt"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; it ships with the course in data/ner/. "
                                "Restore it with `git checkout data/ner`.")
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip() and not line.startswith("#"):
            out.append(parse_line(line.strip(), where=f"{path.name}:{n}"))
    return out


def entity_spans(tags: Sequence[str]) -> set[tuple[int, int, str]]:
    """The entities in a BIO tag sequence as ``(start, end, type)`` word spans (end exclusive).

    An ``I-X`` that does not continue an ``X`` entity starts a new one (as conlleval does).

    >>> sorted(entity_spans(["B-PERSON", "I-PERSON", "O", "I-PLACE", "B-ORG", "I-PLACE"]))
    [(0, 2, 'PERSON'), (3, 4, 'PLACE'), (4, 5, 'ORG'), (5, 6, 'PLACE')]
    """
    spans, start, kind = set(), None, None
    for i, tag in enumerate(list(tags) + ["O"]):
        prefix, _, t = tag.partition("-")
        if start is not None and not (prefix == "I" and t == kind):
            spans.add((start, i, kind))
            start, kind = None, None
        if prefix == "B" or (prefix == "I" and start is None):
            start, kind = i, t
    return spans


def entity_f1(true_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]],
              types: Sequence[str] | None = None) -> dict[str, float]:
    """Entity-level precision, recall and F1 with exact span match: a predicted entity counts
    only if its first word, last word and type all equal a true entity's.

    >>> entity_f1([["B-PERSON", "I-PERSON", "O"]], [["B-PERSON", "O", "O"]])
    {'precision': 0.0, 'recall': 0.0, 'f1': 0.0, 'true': 1, 'predicted': 1, 'correct': 0}
    """
    if len(true_tags) != len(pred_tags):
        raise ValueError(f"{len(true_tags)} true tag sequences but {len(pred_tags)} predicted ones.")
    n_true = n_pred = n_ok = 0
    for i, (t, p) in enumerate(zip(true_tags, pred_tags)):
        if len(t) != len(p):
            raise ValueError(f"sentence {i}: {len(t)} true tags but {len(p)} predicted; one tag per word.")
        ts, ps = entity_spans(t), entity_spans(p)
        if types is not None:
            ts = {s for s in ts if s[2] in types}
            ps = {s for s in ps if s[2] in types}
        n_true, n_pred, n_ok = n_true + len(ts), n_pred + len(ps), n_ok + len(ts & ps)
    precision = n_ok / n_pred if n_pred else 0.0
    recall = n_ok / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1,
            "true": n_true, "predicted": n_pred, "correct": n_ok}


# --------------------------------------------------------------------------- word pieces

def align_labels(word_ids: Sequence[int | None], word_labels: Sequence[int]) -> list[int]:
    """One label per token: the word's label on the first word piece of each word, ``-100``
    (ignored by the loss) on its continuation pieces and on special tokens (``word_id`` None).

    ``word_ids`` is what a fast tokenizer's ``encoding.word_ids(i)`` returns.

    >>> align_labels([None, 0, 1, 1, 1, 2, None], [0, 3, 0])
    [-100, 0, 3, -100, -100, 0, -100]
    """
    out, previous = [], None
    for w in word_ids:
        if w is None:
            out.append(IGNORE)
        elif w != previous:
            if not 0 <= w < len(word_labels):
                raise ValueError(f"word id {w} but only {len(word_labels)} word labels.")
            out.append(int(word_labels[w]))
        else:
            out.append(IGNORE)
        previous = w
    return out


@dataclass
class Encoded:
    """Tokenized sentences: the tokenizer's tensors, aligned labels, and each token's word id."""

    inputs: dict[str, torch.Tensor]
    labels: torch.Tensor  # (N, T), -100 where ignored
    word_ids: list[list[int | None]]

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, idx) -> "Encoded":
        idx = torch.as_tensor(np.asarray(idx), dtype=torch.long)
        return Encoded({k: v[idx] for k, v in self.inputs.items()}, self.labels[idx],
                       [self.word_ids[i] for i in idx.tolist()])


def encode(tokenizer, sentences: Sequence[NerSentence]) -> Encoded:
    """Tokenize pre-split words (``is_split_into_words=True``), pad, and align the BIO labels.

    >>> from course_lib.models import load_backbone
    >>> tok = load_backbone("minilm").preprocess
    >>> enc = encode(tok, [parse_line("[Okafor|PERSON] smiled.")])
    >>> tok.convert_ids_to_tokens(enc.inputs["input_ids"][0]), enc.labels[0].tolist()
    (['[CLS]', 'ok', '##af', '##or', 'smiled', '.', '[SEP]'], [-100, 1, -100, -100, 0, 0, -100])
    """
    batch = tokenizer([s.words for s in sentences], is_split_into_words=True, padding=True,
                      truncation=True, max_length=64, return_tensors="pt")
    word_ids = [batch.word_ids(i) for i in range(len(sentences))]
    labels = [align_labels(w, [TAG_TO_ID[t] for t in s.tags]) for w, s in zip(word_ids, sentences)]
    return Encoded(dict(batch), torch.tensor(labels), word_ids)


def word_tags(token_scores: torch.Tensor, word_ids: Sequence[int | None], n_words: int) -> list[str]:
    """Each word's tag: the highest-scoring tag of its first word piece."""
    best = token_scores.argmax(-1).tolist()
    tags, seen = ["O"] * n_words, set()
    for pos, w in enumerate(word_ids):
        if w is not None and w not in seen:
            tags[w] = TAGS[best[pos]]
            seen.add(w)
    return tags


# --------------------------------------------------------------------------- the model

class TokenTagger(nn.Module):
    """A BERT-style encoder and a new ``Linear(hidden, n_tags)`` applied to every token vector.

    >>> from course_lib.models import load_backbone
    >>> tagger = TokenTagger(load_backbone("minilm").model.encoder)
    >>> tagger.classifier
    Linear(in_features=384, out_features=7, bias=True)
    """

    def __init__(self, encoder: nn.Module, n_tags: int = len(TAGS)):
        super().__init__()
        self.encoder = encoder
        self.classifier = nn.Linear(int(encoder.config.hidden_size), n_tags)

    def token_vectors(self, input_ids, attention_mask, token_type_ids=None) -> torch.Tensor:
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                            token_type_ids=token_type_ids).last_hidden_state

    def forward(self, input_ids, attention_mask, token_type_ids=None) -> torch.Tensor:
        return self.classifier(self.token_vectors(input_ids, attention_mask, token_type_ids))


def token_vectors(tagger: TokenTagger, enc: Encoded, batch_size: int = 64) -> torch.Tensor:
    """The frozen encoder's token vectors for every sentence, (N, T, hidden): compute once, cache."""
    out = []
    with evaluating(tagger):
        for s in range(0, len(enc), batch_size):
            out.append(tagger.token_vectors(**{k: v[s:s + batch_size] for k, v in enc.inputs.items()}))
    return torch.cat(out)


def _batches(n: int, batch_size: int, steps: int, seed: int):
    gen = torch.Generator().manual_seed(seed)
    order: list[int] = []
    for _ in range(steps):
        if len(order) < batch_size:
            order += torch.randperm(n, generator=gen).tolist()
        yield torch.tensor(order[:batch_size])
        order = order[batch_size:]


def train_head_on_vectors(vectors: torch.Tensor, labels: torch.Tensor, *, steps: int, lr: float,
                          batch_size: int = 16, seed: int = 0) -> nn.Linear:
    """Frozen encoder: train a new ``Linear(hidden, n_tags)`` on cached token vectors (Adam,
    exactly ``steps`` steps of ``batch_size`` sentences, reshuffled each epoch with ``seed``).

    >>> head = train_head_on_vectors(torch.randn(4, 5, 8), torch.zeros(4, 5, dtype=torch.long),
    ...                              steps=2, lr=0.01)
    >>> head
    Linear(in_features=8, out_features=7, bias=True)
    """
    torch.manual_seed(seed)
    head = nn.Linear(vectors.shape[-1], len(TAGS))
    opt = torch.optim.Adam(head.parameters(), lr=lr)
    for idx in _batches(len(vectors), batch_size, steps, seed):
        loss = F.cross_entropy(head(vectors[idx]).flatten(0, 1), labels[idx].flatten(), ignore_index=IGNORE)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return head


def fine_tune(tagger: TokenTagger, enc: Encoded, *, steps: int, lr: float, head_lr: float | None = None,
              batch_size: int = 16, seed: int = 0) -> TokenTagger:
    """Fine-tune everything (encoder and new head) with Adam for exactly ``steps`` steps.

    ``head_lr`` (default ``lr``) is the new layer's rate: it starts from random weights, the
    encoder from pretrained ones, so it is common to give it a larger step.
    """
    torch.manual_seed(seed)
    tagger.classifier.reset_parameters()
    for p in tagger.parameters():
        p.requires_grad_(True)
    opt = torch.optim.Adam([{"params": tagger.encoder.parameters(), "lr": lr},
                            {"params": tagger.classifier.parameters(), "lr": head_lr or lr}])
    tagger.train()
    for idx in _batches(len(enc), batch_size, steps, seed):
        inputs = {k: v[idx] for k, v in enc.inputs.items()}
        longest = int(inputs["attention_mask"].sum(1).max())  # drop all-padding columns
        inputs = {k: v[:, :longest] for k, v in inputs.items()}
        scores = tagger(**inputs)
        loss = F.cross_entropy(scores.flatten(0, 1), enc.labels[idx][:, :longest].flatten(),
                               ignore_index=IGNORE)
        opt.zero_grad()
        loss.backward()
        opt.step()
    tagger.eval()
    return tagger


def predict_tags(token_scores: torch.Tensor, enc: Encoded, sentences: Sequence[NerSentence]) -> list[list[str]]:
    """Word-level tags for every sentence from per-token scores (N, T, n_tags)."""
    return [word_tags(token_scores[i], enc.word_ids[i], len(s.words)) for i, s in enumerate(sentences)]


def tagger_scores(tagger: TokenTagger, enc: Encoded, batch_size: int = 64) -> torch.Tensor:
    """Per-token tag scores of a whole :class:`Encoded` set, in evaluation mode."""
    out = []
    with evaluating(tagger):
        for s in range(0, len(enc), batch_size):
            out.append(tagger(**{k: v[s:s + batch_size] for k, v in enc.inputs.items()}))
    return torch.cat(out)
