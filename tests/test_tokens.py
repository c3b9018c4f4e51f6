import numpy as np
import pytest
import torch

from course_lib import loop
from course_lib import tokens as T
from course_lib.compare import Budget, RunResult, run_paired


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


def _spans(sents):
    return [(k, b - a, " ".join(s.words[a:b])) for s in sents for a, b, k in T.entity_spans(s.tags)]


def test_dataset_counts_balance_and_unseen_test_entities():
    train, test = T.load_ner("train"), T.load_ner("test")
    assert len(train) >= 200 and len(test) >= 80
    counts = {t: sum(1 for k, _, _ in _spans(train) if k == t) for t in T.TYPES}
    assert min(counts.values()) / max(counts.values()) > 0.75          # balanced types
    seen = {(text, k) for k, _, text in _spans(train)}
    test_ents = [(text, k) for k, _, text in _spans(test)]
    assert 0.5 < sum(e not in seen for e in test_ents) / len(test_ents) < 1.0  # mostly new, some seen
    assert {s.text for s in train}.isdisjoint({s.text for s in test})
    with pytest.raises(ValueError, match="new_shapes"):
        T.load_ner("validation")


def test_new_shapes_repeat_no_order_of_types_and_no_entity_length_of_training():
    train, new = T.load_ner("train"), T.load_ner("new_shapes")
    orders = {T.type_order(s) for s in train}
    lengths = {(k, n) for k, n, _ in _spans(train)}
    assert len(new) >= 80 and all(T.type_order(s) not in orders for s in new)
    assert all((k, n) not in lengths for k, n, _ in _spans(new))
    assert {text for *_, text in _spans(new)}.isdisjoint({text for *_, text in _spans(train)})
    assert all(sum(k == t for k, _, _ in _spans(new)) >= 50 for t in T.TYPES)
    # the old test set is written in the training shapes (the contrast the notebook shows)
    assert all(T.type_order(s) in orders for s in T.load_ner("test"))


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


# --------------------------------------------------------------------------- the capitalisation rule

def _rule():
    return T.CapitalisationRule([
        T.parse_line("[Ada Byron|PERSON] moved to [Paris|PLACE] ."),
        T.parse_line("[Omar Haddad|PERSON] works for the [Bank of Leeds|ORG] ."),
        T.parse_line("The river flows through [Rome|PLACE] ."),
    ])


def test_the_rule_finds_runs_of_capitals_and_votes_their_type():
    rule = _rule()
    tag = lambda text: rule.tag(text.split())
    # a known name word (Bank) and the joiner "of" seen in training make an ORG span
    assert tag("Lena works for the Bank of Cork .") == ["B-PERSON", "O", "O", "O", "B-ORG", "I-ORG", "I-ORG", "O"]
    # "to" was followed by a PLACE in training; an unknown run of two gets the vote of that context
    assert tag("Kim moved to Lower Town .")[3:5] == ["B-PLACE", "I-PLACE"]
    # an ordinary word that opens a sentence is not a name; after a quote neither
    assert tag("The river is wide .") == ["O"] * 5
    assert tag('" The river is wide . "')[1] == "O"
    # lowercase words are never names, however they are used
    assert tag("ada byron moved .") == ["O"] * 4
    # no vote at all: the most common type of training entities of that length (one word: PLACE)
    assert tag("Yes , Zork .")[2] == "B-PLACE"


def test_the_rule_reads_capitals_the_uncased_encoder_never_sees():
    rule = _rule()
    words = "Kim moved to Lower Town .".split()
    assert rule.tag(words) != rule.tag([w.lower() for w in words])
    with pytest.raises(ValueError, match="entities"):
        T.CapitalisationRule([T.parse_line("No names here .")])


# --------------------------------------------------------------------------- words and pieces

def test_rows_per_word_round_trip():
    enc = T.Encoded({}, torch.zeros(2, 6), [[None, 0, 0, 1, None, None], [None, 0, 1, 2, 2, None]])
    assert T.first_pieces(enc).sum().item() == 5
    vectors = torch.arange(12.0).view(2, 6, 1)
    assert T.word_rows(vectors, enc).ravel().tolist() == [1.0, 3.0, 7.0, 8.0, 9.0]
    sents = [T.parse_line("[Ada|PERSON] smiled"), T.parse_line("in [New York|PLACE]")]
    ids = [T.TAG_TO_ID[t] for s in sents for t in s.tags]
    assert T.tags_from_rows(ids, sents) == [s.tags for s in sents]
    with pytest.raises(ValueError, match="one tag per word"):
        T.tags_from_rows(ids[:-1], sents)


@pytest.fixture(scope="module")
def minilm():
    from course_lib.models import load_backbone

    return load_backbone("minilm")


def test_encode_and_word_tags_roundtrip(minilm):
    sents = T.load_ner("new_shapes")[:4]
    enc = T.encode(minilm.preprocess, sents)
    assert enc.labels.shape == enc.inputs["input_ids"].shape
    # a perfect scorer built from the labels gives back the word tags
    scores = torch.zeros(*enc.labels.shape, len(T.TAGS))
    scores.scatter_(2, enc.labels.clamp(min=0).unsqueeze(-1), 1.0)
    assert T.predict_tags(scores, enc, sents) == [s.tags for s in sents]
    assert len(enc.subset([1, 2])) == 2
    # the first pieces are exactly the labelled tokens
    assert torch.equal(T.first_pieces(enc), enc.labels != T.IGNORE)
    with pytest.raises(ValueError, match="64 word pieces"):
        T.encode(minilm.preprocess, [T.parse_line(" ".join(["antidisestablishmentarianism"] * 20))])


def test_cached_states_and_the_tagger_top_give_the_encoders_own_output(minilm):
    encoder = minilm.model.encoder
    enc = T.encode(minilm.preprocess, T.load_ner("train")[:3])
    h4, h6 = T.hidden_states(encoder, enc, [4, 6])
    with torch.no_grad():
        out = encoder(**enc.inputs).last_hidden_state
    assert torch.allclose(h6, out, atol=1e-5)
    top = T.TaggerTop(encoder, first_layer=4)
    top.classifier = torch.nn.Identity()
    with torch.no_grad():
        again = top(h4, enc.inputs["attention_mask"])
    real = enc.inputs["attention_mask"].bool()
    assert torch.allclose(again[real], h6[real], atol=1e-4)
    with pytest.raises(ValueError, match="between 0"):
        T.hidden_states(encoder, enc, [7])
    with pytest.raises(ValueError, match="between 0"):
        T.TaggerTop(encoder, first_layer=9)


def test_ner_arms_train_through_the_counted_loop_and_pass_the_audit(minilm):
    encoder = minilm.model.encoder
    sents = T.load_ner("train")[:12]
    enc = T.encode(minilm.preprocess, sents)
    h4, h6 = T.hidden_states(encoder, enc, [4, 6])
    mask, y = enc.inputs["attention_mask"], enc.labels
    train, val = np.arange(8), np.arange(8, 12)
    before = {k: v.clone() for k, v in encoder.encoder.layer[5].state_dict().items()}

    def fine_tuned(seed, budget):
        tuned = loop.tune(lambda: T.TaggerTop(encoder, 4), (h4[train], mask[train], y[train]), budget,
                          val=((h4[val], mask[val]), y[val]), seed=seed, loss=T.token_loss, batch_size=4,
                          param_groups=lambda m, lr: loop.head_and_body(m.classifier, 0.1)(m, lr))
        return RunResult(tuned.val_score)

    def frozen(seed, budget):
        rows = lambda i: (T.word_rows(h6[i], enc.subset(i)), T.word_rows(y[i], enc.subset(i)))
        return RunResult(loop.fit_convex(*rows(train), *rows(val), budget, scale="standard").val_score)

    def rule(seed, budget):
        loop.no_training("a rule")
        r = T.CapitalisationRule([sents[i] for i in train])
        return RunResult(T.entity_f1([sents[i].tags for i in val], [r.tag(sents[i].words) for i in val])["f1"])

    results = run_paired({"fine-tuned": fine_tuned, "frozen": frozen, "rule": rule}, [0],
                         Budget(2, (1e-3, 1e-2, 1e-1), c_grid=(0.1, 1.0, 10.0), scale=1))
    assert results["fine-tuned"][0].steps == 6 and results["fine-tuned"][0].lrs == (1e-3, 1e-2, 1e-1)
    assert results["frozen"][0].cs == (0.1, 1.0, 10.0) and results["rule"][0].steps == 0
    # the tagger's top layers are a copy: training them left the pretrained encoder as it was
    assert all(torch.equal(before[k], v) for k, v in encoder.encoder.layer[5].state_dict().items())


def test_token_loss_ignores_padding_and_continuation_pieces():
    scores = lambda h, m: h
    h = torch.tensor([[[2.0, 0.0], [0.0, 9.0], [0.0, 9.0]]])
    labels = torch.tensor([[0, -100, -100]])
    one = T.token_loss(scores, (h, torch.tensor([[1, 1, 0]]), labels))
    assert one.item() == pytest.approx(torch.nn.functional.cross_entropy(h[0, :1], labels[0, :1]).item())
