"""course_lib.text: the offline topic set, CSV and SST-2 readers, mean pooling, embeddings, the arms of 09."""
import numpy as np
import pytest
import torch

from course_lib import compare, text
from course_lib.evaluation import evaluating
from course_lib.loop import Budget


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


def test_text_does_not_import_models():
    """No cycle: models imports text.mean_pool, so text never imports models."""
    import subprocess
    import sys

    code = "import sys, course_lib.text; print('course_lib.models' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


BUDGET = Budget(3, (1e-3, 2.5e-3, 5e-3), scale=1)


def test_tfidf_arm_fits_its_vocabulary_on_training_texts_and_picks_c_on_validation(monkeypatch):
    from sklearn.feature_extraction import text as sk_text

    seen = []
    original = sk_text.TfidfVectorizer.fit

    def spy(self, raw, y=None):
        seen.append(list(raw))
        return original(self, raw, y)

    monkeypatch.setattr(sk_text.TfidfVectorizer, "fit", spy)
    ds = text.load_text_dataset()
    trials = compare.trials_by_seed(ds.labels, 4, [0, 1], val_per_class=5)
    results = compare.run_paired({"tfidf": text.tfidf_arm(ds.texts, ds.labels, trials),
                                  "again": text.tfidf_arm(ds.texts, ds.labels, trials)}, [0, 1], BUDGET)
    assert seen[0] == [ds.texts[i] for i in trials[0]["train"]]
    r = results["tfidf"][0]
    assert r.cs == BUDGET.c_grid and r.steps == 0 and r.extra["C"] in BUDGET.c_grid
    assert 0.25 < r.score <= 1 and r.extra["converged"]
    assert [x.score for x in results["tfidf"]] == [x.score for x in results["again"]]
    with pytest.raises(ValueError, match="validation"):
        text.tfidf_arm(ds.texts, ds.labels, {0: dict(trials[0], val=np.array([], dtype=int))})(0, BUDGET)


def test_linear_head_predicts_what_the_logistic_regression_predicts():
    from course_lib.loop import fit_convex

    torch.manual_seed(0)
    X = 3 * torch.randn(90, 5) + 1
    for y in ((X[:, 0] > 1).long(), (X[:, 0] > 1).long() + (X[:, 1] > 1).long()):   # 2 and 3 classes
        for scale, kind in (("l2", text.UnitNormLinear), (None, torch.nn.Linear)):
            fit = fit_convex(X[:60], y[:60], X[60:], y[60:], BUDGET, scale=scale)
            head = text.linear_head(fit)
            assert type(head) is kind and head.out_features == len(torch.unique(y))
            assert np.array_equal(head(X).argmax(1).numpy(), fit.predict(X))
    with pytest.raises(ValueError, match="per-feature"):
        text.linear_head(fit_convex(X[:60], y[:60], X[60:], y[60:], BUDGET, scale="standard"))


@pytest.fixture(scope="module")
def minilm():
    from course_lib.models import load_backbone

    return load_backbone("minilm")


TEXTS = ["the cat sat", "stocks fell sharply on Monday after the report", "whisk the eggs", "a late goal"]


def test_cached_top_layers_give_what_the_whole_model_gives(minilm):
    from course_lib.models import TextClassifier

    model, tokenizer = minilm.model, minilm.preprocess
    cache = text.cache_states(model, tokenizer, TEXTS, first_layer=4)
    assert cache.hidden.shape[:2] == cache.input_ids.shape and cache.first_layer == 4
    top = text.EncoderTop(model, first_layer=4, head=torch.nn.Linear(384, 2))
    with evaluating(top):
        from_cache = top(**cache.inputs(range(4)))
        short_batch = top(**cache.inputs([0, 2]))        # less padding: the same vectors
    assert torch.allclose(from_cache, top.classifier(cache.mean), atol=1e-5)
    assert torch.allclose(short_batch, from_cache[[0, 2]], atol=1e-5)
    assert torch.allclose(cache.mean, text.embed_texts(model, tokenizer, TEXTS), atol=1e-5)
    whole = TextClassifier(model.encoder, num_classes=2)
    top.copy_into(whole)
    with evaluating(whole):
        assert torch.allclose(whole(**tokenizer(TEXTS, padding=True, return_tensors="pt")), from_cache, atol=1e-5)
    with pytest.raises(ValueError, match="first_layer"):
        text.cache_states(model, tokenizer, TEXTS, first_layer=7)
    with pytest.raises(ValueError, match="first_layer"):
        text.EncoderTop(model, first_layer=6)


def test_finetune_arm_starts_from_the_frozen_arm_keeps_to_the_budget_and_leaves_the_model(minilm):
    model, tokenizer = minilm.model, minilm.preprocess
    before = {n: w.clone() for n, w in model.state_dict().items()}
    ds = text.load_text_dataset()
    idx = np.r_[0:8, 80:88, 160:168, 240:248]
    texts, y = [ds.texts[i] for i in idx], ds.labels[idx]
    trials = {0: {"seed": 0, "train": np.r_[0:2, 8:10, 16:18, 24:26], "val": np.r_[2:4, 10:12, 18:20, 26:28],
                  "test": np.r_[4:8, 12:16, 20:24, 28:32]}}
    trials[1] = dict(trials[0], train=trials[0]["val"], val=trials[0]["train"])
    cache = text.cache_states(model, tokenizer, texts, first_layer=5)
    arms = {"fine-tuned": text.finetune_arm(model, cache, y, trials),
            "frozen": compare.convex_arm(cache.mean, y, trials)}
    results = compare.run_paired(arms, [0, 1], BUDGET)              # audited: steps, grids
    ft, frozen = results["fine-tuned"][0], results["frozen"][0]
    assert ft.lrs == BUDGET.lr_grid and ft.cs == BUDGET.c_grid and ft.steps <= 3 * BUDGET.cap
    assert ft.extra["start_test"] == frozen.score                  # LP-FT starts from the frozen arm
    assert ft.extra["best_step"] >= 1                              # never the starting weights
    assert ft.extra["trainable"] == 1_774_464 + 4 * 384 + 4         # one transformer layer and the head
    again = compare.run_paired(arms, [0, 1], BUDGET)["fine-tuned"][0]
    assert again.score == ft.score and again.lr == ft.lr
    assert all(torch.equal(before[n], w) for n, w in model.state_dict().items())
