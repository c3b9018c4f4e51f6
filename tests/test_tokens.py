import pytest
import torch

from course_lib import tokens as T


def test_parse_line_bio_and_multiword():
    s = T.parse_line("[St Mary's Hospital|ORG] hired [Lena Fischer|PERSON].")
    assert s.words == ["St", "Mary's", "Hospital", "hired", "Lena", "Fischer", "."]
    assert s.tags == ["B-ORG", "I-ORG", "I-ORG", "O", "B-PERSON", "I-PERSON", "O"]


@pytest.mark.parametrize("line, message", [
    ("[Paris|CITY] is big.", "unknown entity type"),
    ("[Paris is big.", "brackets"),
    ("   ", "empty"),
])
def test_parse_line_errors(line, message):
    with pytest.raises(ValueError, match=message):
        T.parse_line(line)


def test_dataset_counts_balance_and_unseen_test_entities():
    train, test = T.load_ner("train"), T.load_ner("test")
    assert len(train) >= 200 and len(test) >= 80
    counts = {t: sum(1 for s in train for sp in T.entity_spans(s.tags) if sp[2] == t) for t in T.TYPES}
    assert min(counts.values()) / max(counts.values()) > 0.75          # balanced types
    seen = {(" ".join(s.words[a:b]), k) for s in train for a, b, k in T.entity_spans(s.tags)}
    test_ents = [(" ".join(s.words[a:b]), k) for s in test for a, b, k in T.entity_spans(s.tags)]
    assert 0.5 < sum(e not in seen for e in test_ents) / len(test_ents) < 1.0  # mostly new, some seen
    assert {s.text for s in train}.isdisjoint({s.text for s in test})


def test_entity_spans_and_f1_exact_match():
    assert T.entity_spans(["O", "B-ORG", "I-ORG", "B-ORG"]) == {(1, 3, "ORG"), (3, 4, "ORG")}
    true = [["B-PERSON", "I-PERSON", "O", "B-PLACE"]]
    assert T.entity_f1(true, true)["f1"] == 1.0
    partial = T.entity_f1(true, [["B-PERSON", "O", "O", "B-PLACE"]])   # one span cut short
    assert partial["correct"] == 1 and partial["precision"] == 0.5 and partial["recall"] == 0.5
    wrong_type = T.entity_f1(true, [["B-ORG", "I-ORG", "O", "B-PLACE"]])
    assert wrong_type["correct"] == 1
    assert T.entity_f1([["O"]], [["O"]])["f1"] == 0.0
    with pytest.raises(ValueError, match="one tag per word"):
        T.entity_f1(true, [["O"]])


def test_align_labels():
    assert T.align_labels([None, 0, 0, 1, None, None], [2, 0]) == [-100, 2, -100, 0, -100, -100]
    with pytest.raises(ValueError, match="word labels"):
        T.align_labels([None, 3], [0])


@pytest.fixture(scope="module")
def minilm():
    from course_lib.models import load_backbone

    return load_backbone("minilm")


def test_encode_and_word_tags_roundtrip(minilm):
    sents = T.load_ner("test")[:4]
    enc = T.encode(minilm.preprocess, sents)
    assert enc.labels.shape == enc.inputs["input_ids"].shape
    # a perfect scorer built from the labels gives back the word tags
    scores = torch.zeros(*enc.labels.shape, len(T.TAGS))
    scores.scatter_(2, enc.labels.clamp(min=0).unsqueeze(-1), 1.0)
    assert T.predict_tags(scores, enc, sents) == [s.tags for s in sents]
    assert len(enc.subset([1, 2])) == 2


def test_frozen_head_and_fine_tune_run(minilm):
    sents = T.load_ner("train")[:8]
    enc = T.encode(minilm.preprocess, sents)
    tagger = T.TokenTagger(minilm.model.encoder)
    vecs = T.token_vectors(tagger, enc)
    assert vecs.shape == (*enc.labels.shape, 384)
    head = T.train_head_on_vectors(vecs, enc.labels, steps=3, lr=0.01, batch_size=4)
    assert head(vecs).shape[-1] == len(T.TAGS)
    before = tagger.encoder.embeddings.word_embeddings.weight.detach().clone()
    T.fine_tune(tagger, enc, steps=1, lr=1e-4, batch_size=4)
    assert not torch.equal(before, tagger.encoder.embeddings.word_embeddings.weight)
    assert not tagger.training
    assert T.tagger_scores(tagger, enc).shape == (*enc.labels.shape, len(T.TAGS))
