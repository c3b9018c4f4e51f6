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
