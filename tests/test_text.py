"""course_lib.text: the offline topic set, CSV and SST-2 readers, mean pooling, embeddings."""
import numpy as np
import pytest
import torch

from course_lib import text


def test_topic_set_is_balanced_and_valid():
    ds = text.load_text_dataset()
    assert len(ds) >= 300 and len(ds.classes) >= 3
    counts = np.bincount(ds.labels)
    assert counts.min() == counts.max()
    assert all(3 <= len(t.split()) <= 25 for t in ds.texts)
    sub = ds.subset([0, 5])
    assert len(sub) == 2 and "TextDataset(2 texts" in repr(sub)


@pytest.mark.parametrize("csv, message", [
    ("sentence,topic\nhello,a\n", "columns 'text' and 'label'"),
    ("text,label\nhello there,a\nHello there,b\n", "same text"),
    ("text,label\nhello,a\nworld,a\n", "only one label"),
    ("text,label\n,a\nworld,b\n", "empty text"),
])
def test_a_bad_csv_is_refused_with_what_to_fix(tmp_path, csv, message):
    bad = tmp_path / "bad.csv"
    bad.write_text(csv)
    with pytest.raises(ValueError, match=message):
        text.load_text_dataset(bad)


def test_a_missing_csv_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="No text dataset"):
        text.load_text_dataset(tmp_path / "missing.csv")


def test_sst2_reader(tmp_path):
    with pytest.raises(FileNotFoundError, match="fetch_sst2.py"):
        text.load_sst2(tmp_path)
    (tmp_path / "train.tsv").write_text("sentence\tlabel\ngreat film \t1\nawful \t0\ngreat film \t1\n")
    ds = text.load_sst2(tmp_path)
    assert ds.classes == ["negative", "positive"] and len(ds) == 2


def test_mean_pool_by_hand():
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    mask = torch.tensor([[1, 1, 0]])
    assert torch.equal(text.mean_pool(hidden, mask), torch.tensor([[2.0, 3.0]]))


def test_loader_and_embeddings_with_the_real_model():
    from course_lib.models import load_backbone

    bb = load_backbone("minilm")
    loader = text.make_text_loader(["a b c", "a much longer sentence here"], [0, 1], bb.preprocess, batch_size=2)
    inputs, labels = next(iter(loader))
    assert set(inputs) >= {"input_ids", "attention_mask"} and labels.tolist() == [0, 1]
    emb = text.embed_texts(bb.model, bb.preprocess, ["the cat sat", "stocks fell"])
    assert emb.shape == (2, 384)


def test_tfidf_is_fitted_on_training_texts_only(monkeypatch):
    from sklearn.feature_extraction import text as sk_text

    seen = []
    original = sk_text.TfidfVectorizer.fit

    def spy(self, raw, y=None):
        seen.append(list(raw))
        return original(self, raw, y)

    monkeypatch.setattr(sk_text.TfidfVectorizer, "fit", spy)
    ds = text.load_text_dataset()
    split = {"train": np.r_[0:5, 80:85, 160:165, 240:245], "test": np.r_[40:80, 120:160]}
    acc = text.tfidf_accuracy(ds.texts, ds.labels, split)
    assert 0 <= acc <= 1
    assert seen == [[ds.texts[i] for i in split["train"]]]


def test_budgeted_fit_runs_exactly_the_budget_and_can_keep_the_start():
    from course_lib.compare import Budget

    torch.manual_seed(0)
    X = torch.randn(80, 4)
    y = (X[:, 0] > 0).long()
    split = {"train": np.arange(40), "val": np.arange(40, 60), "test": np.arange(60, 80)}
    head = text.logistic_head(X, y, split["train"])
    start = head.weight.detach().clone()
    r = text.budgeted_fit(lambda i: head(X[i]), [{"params": head.parameters(), "lr": 1e-9}], y,
                          split, Budget(7), modules=[head])
    assert r.steps == 7 and r.lr == 1e-9 and r.score > 0.8
    assert torch.allclose(head.weight, start, atol=1e-6)   # a useless lr: the start is kept
    with pytest.raises(ValueError, match="validation"):
        text.budgeted_fit(lambda i: head(X[i]), [{"params": head.parameters(), "lr": 1e-3}], y,
                          dict(split, val=[]), Budget(3))
    r = text.head_only_run(X, y, split, Budget(5))
    assert r.steps == 5 and r.extra["trainable"] == 4 * 2 + 2


def test_budgeted_fit_clips_the_gradient(monkeypatch):
    from course_lib.compare import Budget

    seen = []
    original = torch.nn.utils.clip_grad_norm_

    def spy(params, max_norm, *args, **kwargs):
        seen.append(max_norm)
        return original(params, max_norm, *args, **kwargs)

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", spy)
    X = torch.randn(30, 3)
    y = (X[:, 0] > 0).long()
    head = torch.nn.Linear(3, 2)
    split = {"train": np.arange(20), "val": np.arange(20, 25), "test": np.arange(25, 30)}
    text.budgeted_fit(lambda i: head(X[i]), [{"params": head.parameters(), "lr": 0.1}], y,
                      split, Budget(4), max_grad_norm=0.5)
    assert seen == [0.5] * 4


@pytest.fixture(scope="module")
def minilm():
    from course_lib.models import load_backbone

    return load_backbone("minilm")


def test_cached_top_layers_give_what_the_whole_model_gives(minilm):
    from course_lib.models import evaluating

    model, tokenizer = minilm.model, minilm.preprocess
    texts = ["the cat sat", "stocks fell sharply on Monday", "whisk the eggs", "a late goal"]
    cache = text.cache_states(model, tokenizer, texts, first_layer=4)
    assert cache.hidden.shape[:2] == cache.input_ids.shape and cache.first_layer == 4
    top = text.EncoderTop(model, first_layer=4, num_classes=2)
    head = torch.nn.Linear(384, 2)
    top.reset(head)
    with evaluating(top):
        from_cache = top(cache.hidden, cache.attention_mask)
    assert torch.allclose(from_cache, head(cache.mean), atol=1e-5)
    assert torch.allclose(cache.mean, text.embed_texts(model, tokenizer, texts), atol=1e-5)
    with pytest.raises(ValueError, match="first_layer"):
        text.cache_states(model, tokenizer, texts, first_layer=7)


def test_finetune_run_restarts_from_the_pretrained_weights(minilm):
    from course_lib.compare import Budget

    model, tokenizer = minilm.model, minilm.preprocess
    ds = text.load_text_dataset()
    idx = np.r_[0:6, 80:86, 160:166, 240:246]
    texts, y = [ds.texts[i] for i in idx], ds.labels[idx]
    split = {"train": np.r_[0:2, 6:8, 12:14, 18:20], "val": np.r_[2:4, 8:10, 14:16, 20:22],
             "test": np.r_[4:6, 10:12, 16:18, 22:24]}
    cache = text.cache_states(model, tokenizer, texts, first_layer=5)
    top = text.EncoderTop(model, first_layer=5, num_classes=4)
    pretrained = {n: w.clone() for n, w in top.layers.state_dict().items()}
    first = text.finetune_run(top, cache, y, split, Budget(3), seed=1)
    second = text.finetune_run(top, cache, y, split, Budget(3), seed=1)
    assert first.score == second.score and first.steps == 3
    assert first.extra["trainable"] == sum(w.numel() for w in pretrained.values()) + 4 * 384 + 4
    top.reset(torch.nn.Linear(384, 4))
    assert all(torch.equal(pretrained[n], w) for n, w in top.layers.state_dict().items())
    with pytest.raises(ValueError, match="same first_layer"):
        text.finetune_run(text.EncoderTop(model, first_layer=4, num_classes=4), cache, y, split,
                          Budget(1))
    top.reset(torch.nn.Linear(384, 4))   # leave the shared model as it was
