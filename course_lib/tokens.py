"""Token classification (named-entity recognition) by transfer with all-MiniLM-L6-v2.

The recipe is the article's, one label per *word* instead of one per sentence: keep the
pretrained encoder and put a new ``Linear(384, n_tags)`` on every token vector. Labels are BIO
tags on words (``B-PERSON`` begins a person's name, ``I-PERSON`` continues it, ``O`` is outside
any entity); the tokenizer splits words into word pieces, so the word labels are *aligned* to
each word's first piece, and each word's tag is read back from that piece.

- frozen encoder: :func:`hidden_states` once, then a logistic regression on :func:`word_rows`
  (:func:`course_lib.loop.fit_convex`, solved to convergence);
- fine-tuned: :class:`TaggerTop` (the top layers and the new head) trained by
  :func:`course_lib.loop.tune` with :func:`token_loss` on the cached vectors entering its layers;
- the control: :class:`CapitalisationRule`, which reads the capitals the uncased encoder never sees.

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

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .evaluation import batched_forward
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


NER_PARTS = {"train": "train.txt", "test": "test.txt", "new_shapes": "new_shapes.txt"}


def load_ner(part: str = "train", folder: Path | str | None = None) -> list[NerSentence]:
    """The course's NER sentences (see ``data/README.md``): ``part="train"``; ``"test"``, held-out
    sentences written in the training sentences' shapes; ``"new_shapes"``, held-out sentences whose
    order of entity types and entity lengths never occur in training.

    >>> len(load_ner("train")), len(load_ner("test")), len(load_ner("new_shapes"))
    (250, 89, 83)
    """
    if part not in NER_PARTS:
        raise ValueError(f"part must be one of {', '.join(repr(p) for p in NER_PARTS)}, got {part!r}.")
    path = Path(folder or NER_DIR) / NER_PARTS[part]
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; it ships with the course in data/ner/. "
                                "Restore it with `git checkout data/ner`.")
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip() and not line.startswith("#"):
            out.append(parse_line(line.strip(), where=f"{path.name}:{n}"))
    return out


def type_order(sentence: NerSentence) -> tuple[str, ...]:
    """The sentence's entity types in reading order: its shape, as far as entities go.

    >>> type_order(parse_line("[Ada|PERSON] left [Oslo|PLACE] for [Rome|PLACE]."))
    ('PERSON', 'PLACE', 'PLACE')
    """
    return tuple(kind for _, _, kind in sorted(entity_spans(sentence.tags)))


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
    for i, (ids, s) in enumerate(zip(word_ids, sentences)):
        if len({w for w in ids if w is not None}) != len(s.words):
            raise ValueError(f"sentence {i} ({s.text[:40]!r}…) is longer than 64 word pieces and would lose "
                             "words; split it into shorter sentences.")
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

def hidden_states(encoder: nn.Module, enc: Encoded, layers: Sequence[int], batch_size: int = 64) -> list[torch.Tensor]:
    """Run the frozen ``encoder`` once over ``enc``; return the token vectors (N, T, hidden) that
    *enter* each layer of ``layers`` (0: the embeddings' output; the number of layers: the last
    layer's output, the vectors a frozen encoder gives its head). Compute once, cache.

    >>> from course_lib.models import load_backbone
    >>> bb = load_backbone("minilm")
    >>> enc = encode(bb.preprocess, [parse_line("[Okafor|PERSON] smiled.")])
    >>> [tuple(h.shape) for h in hidden_states(bb.model.encoder, enc, [4, 6])]
    [(1, 7, 384), (1, 7, 384)]
    """
    n_layers = int(encoder.config.num_hidden_layers)
    if any(not 0 <= k <= n_layers for k in layers):
        raise ValueError(f"layers must lie between 0 (the embeddings' output) and {n_layers} (the last "
                         f"layer's output), got {list(layers)}.")

    def call(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        out = model(**batch, output_hidden_states=True)
        return torch.stack([out.hidden_states[k] for k in layers], 1)

    stacked = batched_forward(encoder, enc.inputs, batch_size=batch_size, call=call)
    return [stacked[:, i] for i in range(len(layers))]


class TaggerTop(nn.Module):
    """The top of a BERT-style tagger: the encoder's layers from ``first_layer`` on (a *copy*, so
    the pretrained encoder is never changed) and a new ``Linear(hidden, n_tags)`` on every token.

    It is fed cached :func:`hidden_states` (the vectors entering ``first_layer``) and the
    attention mask: the frozen layers below are run once, not at every step.

    >>> from course_lib.models import load_backbone
    >>> top = TaggerTop(load_backbone("minilm").model.encoder, first_layer=4)
    >>> len(top.layers), top.classifier
    (2, Linear(in_features=384, out_features=7, bias=True))
    """

    def __init__(self, encoder: nn.Module, first_layer: int, n_tags: int = len(TAGS)):
        super().__init__()
        n_layers = int(encoder.config.num_hidden_layers)
        if not 0 <= first_layer <= n_layers:
            raise ValueError(f"first_layer must be between 0 (fine-tune every layer) and {n_layers} "
                             f"(a head on the frozen encoder), got {first_layer}.")
        self.config = encoder.config
        self.layers = copy.deepcopy(encoder.encoder.layer[first_layer:])
        self.classifier = nn.Linear(int(encoder.config.hidden_size), n_tags)

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        from transformers.masking_utils import create_bidirectional_mask

        mask = create_bidirectional_mask(config=self.config, inputs_embeds=hidden, attention_mask=attention_mask)
        for layer in self.layers:
            hidden = layer(hidden, mask)
        return self.classifier(hidden)


def token_loss(model: nn.Module, batch: Sequence[torch.Tensor]) -> torch.Tensor:
    """Per-token cross-entropy of ``model(hidden, attention_mask)`` against the aligned labels
    (``-100`` ignored), for :func:`course_lib.loop.train`. Columns that are padding in every
    sentence of the batch are dropped first (they cost time and change nothing).

    >>> head = lambda h, m: h                      # "scores" = the vectors themselves
    >>> h = torch.tensor([[[5.0, 0.0], [0.0, 0.0]]]); m = torch.tensor([[1, 0]])
    >>> round(token_loss(head, (h, m, torch.tensor([[0, -100]]))).item(), 4)
    0.0067
    """
    hidden, mask, labels = batch
    width = max(1, int(mask.sum(1).max()))
    scores = model(hidden[:, :width], mask[:, :width])
    return F.cross_entropy(scores.transpose(1, 2), labels[:, :width], ignore_index=IGNORE)


def predict_tags(token_scores: torch.Tensor, enc: Encoded, sentences: Sequence[NerSentence]) -> list[list[str]]:
    """Word-level tags for every sentence from per-token scores (N, T, n_tags)."""
    return [word_tags(token_scores[i], enc.word_ids[i], len(s.words)) for i, s in enumerate(sentences)]


# --------------------------------------------------------------------------- one row per word

def first_pieces(enc: Encoded) -> torch.Tensor:
    """(N, T) booleans: True on the first word piece of every word (where its tag is read).

    >>> enc = Encoded({}, torch.zeros(1, 5), [[None, 0, 0, 1, None]])
    >>> first_pieces(enc).tolist()
    [[False, True, False, True, False]]
    """
    out = torch.zeros(enc.labels.shape, dtype=torch.bool)
    for i, ids in enumerate(enc.word_ids):
        previous = None
        for pos, w in enumerate(ids):
            if w is not None and w != previous:
                out[i, pos] = True
            previous = w
    return out


def word_rows(vectors: torch.Tensor, enc: Encoded) -> torch.Tensor:
    """One row per word, sentence after sentence: the vector of its first piece (n_words, hidden).

    What a convex head on frozen token vectors trains on (its labels: ``word_rows`` of the
    labels, or the word tags directly).
    """
    return vectors[first_pieces(enc)]


def tags_from_rows(tag_ids: Sequence[int], sentences: Sequence[NerSentence]) -> list[list[str]]:
    """Cut one predicted tag id per word (sentence after sentence) back into per-sentence tags.

    >>> tags_from_rows([1, 2, 0, 0, 3], [parse_line("Ada Byron smiled."), parse_line("Oslo")])
    [['B-PERSON', 'I-PERSON', 'O', 'O'], ['B-PLACE']]
    """
    tag_ids = [int(t) for t in tag_ids]
    if len(tag_ids) != sum(len(s.words) for s in sentences):
        raise ValueError(f"{len(tag_ids)} predicted tags for {sum(len(s.words) for s in sentences)} words; "
                         "give one tag per word, sentence after sentence.")
    out, start = [], 0
    for s in sentences:
        out.append([TAGS[t] for t in tag_ids[start:start + len(s.words)]])
        start += len(s.words)
    return out


# --------------------------------------------------------------------------- the capitalisation rule

class CapitalisationRule:
    """A baseline that reads capitals, which the uncased encoder never sees: an entity is a run of
    capitalised words (joined by the lowercase words that join names in the training entities, such
    as "of"); its type is voted by the run's words and the word before it, counted on the training
    sentences; with no vote, the most common type of training entities of that length.

    A sentence's first word (or the first after a quote or a colon) is not a name when its lowercase
    form is an ordinary word of the training sentences.

    >>> rule = CapitalisationRule(load_ner("train"))
    >>> rule.tag("Yesterday Lena Fischer moved to Lisbon .".split())
    ['O', 'B-PERSON', 'I-PERSON', 'O', 'O', 'B-PLACE', 'O']
    """

    def __init__(self, sentences: Sequence[NerSentence]):
        from collections import Counter, defaultdict

        self.word_votes: dict[str, Counter] = defaultdict(Counter)
        self.before_votes: dict[str, Counter] = defaultdict(Counter)
        self.length_votes: dict[int, Counter] = defaultdict(Counter)
        self.joiners: set[str] = set()
        self.ordinary: set[str] = set()
        for s in sentences:
            for a, b, kind in entity_spans(s.tags):
                for w in s.words[a:b]:
                    self.word_votes[w][kind] += 1
                    if not w[:1].isupper():
                        self.joiners.add(w)
                self.before_votes[s.words[a - 1].lower() if a else "<start>"][kind] += 1
                self.length_votes[b - a][kind] += 1
            self.ordinary |= {w.lower() for w, t in zip(s.words, s.tags) if t == "O"}
        if not self.length_votes:
            raise ValueError("The rule counts its votes on training sentences with entities; none were given.")

    def _is_name(self, words: Sequence[str], i: int) -> bool:
        w = words[i]
        if not w[:1].isupper():
            return False
        starts = i == 0 or words[i - 1] in {'"', "“", "‘", ".", "!", "?", ":"}
        return not (starts and w.lower() in self.ordinary and w not in self.word_votes)

    def _kind(self, words: Sequence[str], a: int, b: int) -> str:
        from collections import Counter

        votes: Counter = Counter()
        cues = [self.word_votes.get(w) for w in words[a:b]]
        cues.append(self.before_votes.get(words[a - 1].lower() if a else "<start>"))
        for cue in cues:
            if cue:
                total = sum(cue.values())
                votes.update({k: v / total for k, v in cue.items()})
        if not votes:
            n = min(self.length_votes, key=lambda m: (abs(m - (b - a)), -m))
            votes = self.length_votes[n]
        return max(TYPES, key=lambda k: (votes.get(k, 0), -TYPES.index(k)))

    def tag(self, words: Sequence[str]) -> list[str]:
        """One BIO tag per word."""
        tags, i = ["O"] * len(words), 0
        while i < len(words):
            if not self._is_name(words, i):
                i += 1
                continue
            j = i + 1
            while j < len(words):
                k = j
                while k < len(words) and words[k] in self.joiners:
                    k += 1
                if k < len(words) and self._is_name(words, k):
                    j = k + 1
                else:
                    break
            kind = self._kind(words, i, j)
            tags[i:j] = [f"B-{kind}"] + [f"I-{kind}"] * (j - i - 1)
            i = j
        return tags
