"""Notebook 11: aligning word labels to word pieces, IoU by hand (random cases; the library
refused however it is reached; no expected value shown) and the block prediction (ties)."""
import functools

import numpy as np
import pytest

from course_lib import segmentation, tokens
from course_lib.exercises import nb11
from test_exercises_support import REPEATS, leaks, recording


def _zip_previous(word_ids, word_labels):
    previous = [None] + list(word_ids[:-1])
    return [-100 if w is None or w == p else word_labels[w] for w, p in zip(word_ids, previous)]


def _seen_set(word_ids, word_labels):
    seen, out = set(), []
    for w in word_ids:
        if w is None or w in seen:
            out.append(-100)
        else:
            seen.add(w)
            out.append(word_labels[w])
    return out


def _numpy(word_ids, word_labels):
    return [int(v) for v in np.array([-100 if w is None or (i and word_ids[i - 1] == w) else word_labels[w]
                                      for i, w in enumerate(word_ids)])]


ALIGN_RIGHT = [nb11.solution_align_labels, _zip_previous, _seen_set, _numpy]


@pytest.mark.parametrize("answer", ALIGN_RIGHT, ids=lambda f: f.__name__)
def test_align_labels_accepts_the_solution_and_honest_variants(answer):
    for _ in range(REPEATS):
        fb = nb11.check_align_labels(answer)
        assert fb, str(fb)


def test_align_labels_names_the_mistake_without_the_answer(monkeypatch):
    drawn = recording(monkeypatch, nb11, "_align_cases")

    def every_piece(word_ids, word_labels):
        return [-100 if w is None else word_labels[w] for w in word_ids]

    def specials_labelled(word_ids, word_labels):
        out, prev = [], None
        for w in word_ids:
            out.append(0 if w is None else (-100 if w == prev else word_labels[w]))
            prev = w
        return out

    def last_piece(word_ids, word_labels):
        return [-100 if w is None or (i + 1 < len(word_ids) and word_ids[i + 1] == w) else word_labels[w]
                for i, w in enumerate(word_ids)]

    mistakes = {"every word piece": every_piece, "special token": specials_labelled,
                "last piece": last_piece, "one per token": lambda w, l: [0],
                "list of integers": lambda w, l: "x"}
    for _ in range(REPEATS):
        for words, wrong in mistakes.items():
            fb = nb11.check_align_labels(wrong)
            assert not fb and words in str(fb), (words, str(fb))
            expected = [str(nb11._reference_align(w, lab)) for w, lab in drawn[-1]]
            assert not any(e in str(fb) for e in expected), str(fb)
    assert nb11.check_align_labels(...).status == "unanswered"

    def todo(word_ids, word_labels):
        ...

    assert nb11.check_align_labels(todo).status == "unanswered"


@pytest.mark.parametrize("shortcut", [tokens.align_labels, lambda w, l: tokens.align_labels(w, l),
                                      functools.partial(tokens.align_labels),
                                      lambda w, l, f=tokens.align_labels: f(w, l)])
def test_align_labels_refuses_the_library(shortcut):
    assert "cannot tell" in nb11.check_align_labels(shortcut).message
    assert tokens.align_labels([None, 0], [1]) == [-100, 1]       # the library is untouched


def _iou_loop(pred, truth, c):
    inter = union = 0
    for p, t in zip(pred.ravel(), truth.ravel()):
        inter += (p == c) and (t == c)
        union += (p == c) or (t == c)
    return inter / union


IOU_RIGHT = [nb11.solution_iou, _iou_loop,
             lambda p, t, c: np.logical_and(p == c, t == c).sum() / np.logical_or(p == c, t == c).sum(),
             lambda p, t, c: float(((p == c) & (t == c)).mean() / ((p == c) | (t == c)).mean())]


@pytest.mark.parametrize("answer", IOU_RIGHT)
def test_iou_accepts_the_solution_and_honest_variants(answer):
    for _ in range(REPEATS):
        fb = nb11.check_iou(answer)
        assert fb, str(fb)


def test_iou_names_the_mistake_without_the_value(monkeypatch):
    drawn = recording(monkeypatch, nb11, "_iou_cases")
    mistakes = {"recall": lambda p, t, c: ((p == c) & (t == c)).sum() / (t == c).sum(),
                "precision": lambda p, t, c: ((p == c) & (t == c)).sum() / max((p == c).sum(), 1),
                "pixel accuracy": lambda p, t, c: (p == t).mean(),
                "not the intersection over the union": lambda p, t, c: 0.123,
                "not between 0 and 1": lambda p, t, c: 7.0}
    for _ in range(REPEATS):
        for words, wrong in mistakes.items():
            fb = nb11.check_iou(wrong)
            if words in ("precision", "pixel accuracy", "recall") and words not in str(fb):
                continue          # on a small random mask two slips can coincide with each other
            assert not fb and words in str(fb), (words, str(fb))
            values = [((p == c) & (t == c)).sum() / ((p == c) | (t == c)).sum() for p, t, c in drawn[-1]]
            assert not leaks(fb, *values), str(fb)
    assert nb11.check_iou(...).status == "unanswered"


@pytest.mark.parametrize("shortcut", [
    lambda p, t, c: segmentation.iou_per_class(p, t, 5)[c],
    lambda p, t, c, f=segmentation.iou_per_class: f(p, t, 5)[c],
    lambda p, t, c: __import__("sklearn.metrics", fromlist=["x"]).jaccard_score(
        t.ravel(), p.ravel(), labels=[c], average=None)[0]])
def test_iou_refuses_library_ious(shortcut):
    fb = nb11.check_iou(shortcut)
    assert not fb and "cannot tell" in fb.message
    assert segmentation.mean_iou(np.array([0, 1]), np.array([0, 1]), 2) == 1.0


def test_block_change_check_reads_the_measurement():
    for _ in range(REPEATS):
        ok = nb11.check_block_change(4, "lower", 0.80, reference_block=7, reference_miou=0.86)
        assert ok and "0.800" in ok.message
        assert nb11.check_block_change(10, "about the same", 0.865, 7, 0.86)
        for reading in ("about the same", "higher"):                      # on the boundary
            assert nb11.check_block_change(10, reading, 0.87, 7, 0.86)
    miss = nb11.check_block_change(4, "higher", 0.80, reference_block=7, reference_miou=0.86)
    assert miss.status == "incorrect" and "not as predicted" in miss.message
    assert nb11.check_block_change(..., ..., ..., 7, 0.86).status == "unanswered"
    assert nb11.check_block_change(4, "lower", ..., 7, 0.86).status == "unanswered"
    assert "pick another" in nb11.check_block_change(7, "lower", 0.8, 7, 0.86).message
    assert "0 to 15" in nb11.check_block_change(16, "lower", 0.8, 7, 0.86).message
    assert "one of" in nb11.check_block_change(4, "worse", 0.8, 7, 0.86).message
    assert "between 0 and 1" in nb11.check_block_change(4, "lower", 80, 7, 0.86).message
    block, prediction = nb11.solution_block_change()
    assert block == 4 and prediction == "lower"
