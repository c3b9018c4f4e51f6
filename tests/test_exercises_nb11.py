"""Notebook 11: aligning word labels to word pieces, IoU by hand (random cases; the library
refused however it is reached; no expected value shown) and the block prediction (recorded in
its own cell, then measured by the library; ties)."""
import functools
import inspect

import numpy as np
import pytest

from course_lib import segmentation, tokens
from course_lib.exercises import nb11
from test_exercises_support import (REPEATS, cells, leaks, predict_then_measure,  # noqa: F401
                                    predict_then_record, recording, unanswered_runs_nothing)


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


# --------------------------------------------------------------------------- change the block: predict, then measure
def _judged(cells, reading, block, mine, reference=0.86):
    return predict_then_record(cells, nb11.BLOCK, reading, {"mine": mine, "reference": reference},
                               my_block=block)


def test_block_each_outcome_accepts_its_reading_and_ties_accept_both(cells):
    for _ in range(REPEATS):
        ok = _judged(cells, "lower", 4, 0.80)
        assert ok and "0.800" in ok.message
        assert _judged(cells, " Lower ", 4, 0.80)
        assert _judged(cells, "about the same", 10, 0.865)
        assert _judged(cells, "about the same", 8, 0.86)                  # an equal score
        assert _judged(cells, "higher", 12, 0.93)
        for reading in ("about the same", "higher"):                      # on the boundary
            assert _judged(cells, reading, 10, 0.87)
    miss = _judged(cells, "higher", 4, 0.80)
    assert miss.status == "incorrect" and "Measured:" in miss.message
    assert "still a result" in miss.hints[0]


def test_block_refusals_read_from_the_settings(cells):
    exp = nb11.BLOCK
    assert "nothing changed" in exp.predict("lower", my_block=nb11.REFERENCE_BLOCK).message
    assert "from 0 to 15" in exp.predict("lower", my_block=16).message
    assert "not an option" in exp.predict("worse", my_block=4).message
    assert exp.predict(..., my_block=4).status == "unanswered"
    assert _judged(cells, "lower", 4, 0.80)
    cells.run()
    late = exp.predict("higher", my_block=4)
    assert late.status == "incorrect" and "already seen" in late.message


def test_block_nothing_runs_before_a_prediction(cells, monkeypatch):
    ran = []
    monkeypatch.setattr(segmentation, "lite0_feature_maps", lambda *a, **kw: ran.append(1))
    unanswered_runs_nothing(cells, nb11.BLOCK,
                            lambda: nb11.block_experiment(None, None, None, None, range(5), None, 4),
                            ran, my_block=4)
    cells.run()
    nb11.BLOCK.predict("lower", my_block=4)
    fb = nb11.block_experiment(None, None, None, None, range(5), None, 4)    # the same cell
    assert fb.status == "incorrect" and "same cell" in fb.message and not ran
    cells.run()
    fb = nb11.block_experiment(None, None, None, None, range(5), None, 5)    # another block
    assert fb.status == "incorrect" and "my_block = 4" in fb.message and not ran


def test_block_a_typed_in_measurement_cannot_be_passed():
    assert not hasattr(nb11, "check_block_change")
    params = set(inspect.signature(nb11.block_experiment).parameters)
    assert not params & {"my_miou", "reference_miou", "my_prediction", "measured"}
    block, prediction = nb11.solution_block_change()
    assert block == 4 and prediction == "lower"


@pytest.mark.slow
def test_block_model_solution_passes_on_the_real_measurement(cells):
    """The notebook's section: mosaics, Lite0, the pixel head with C picked on validation."""
    from course_lib import models
    from course_lib.compare import Budget, RunResult

    pool_images, pool_masks = segmentation.make_mosaics(48, size=128, part="train", seed=0)
    test_images, test_masks = segmentation.make_mosaics(24, size=128, part="test", seed=1)
    lite0 = models.load_backbone("efficientnet_lite0").model
    budget = Budget(steps=40, lr_grid=(3e-3, 1e-2, 3e-2), c_grid=(0.01, 0.1, 1.0))

    def make_seg_arm(f_pool, f_test):
        def arm(seed, budget):
            order = np.random.default_rng(seed).permutation(len(pool_images))
            train, val = order[:16], order[16:24]
            head, fit = segmentation.fit_pixel_head(f_pool[train], pool_masks[train],
                                                    f_pool[val], pool_masks[val], budget,
                                                    every=16)
            pred = segmentation.predict(head, f_test)
            return RunResult(segmentation.mean_iou(pred, test_masks, 3))
        return arm

    block, prediction = nb11.solution_block_change()
    fb = predict_then_measure(cells, nb11.BLOCK, prediction, nb11.block_experiment, lite0,
                              pool_images, test_images, make_seg_arm, range(5), budget, block,
                              my_block=block)
    assert fb, str(fb)
