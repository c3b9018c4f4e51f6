"""Checks and model solutions for notebook 11's exercises (beyond classification).

Solutions are printed on request with ``show_solution(nb11.solution_align_labels)``; the
notebook never runs them.

>>> check_align_labels(solution_align_labels).status
'correct'
>>> check_iou(solution_iou).status
'correct'
"""
from __future__ import annotations

import numpy as np

from . import (Experiment, Feedback, Forbidden, categorical, draw_rng, is_unanswered,
               outcome_with_tolerance, whole_number)

IGNORE = -100

def _align_cases(rng: np.random.Generator) -> list[tuple[list, list[int]]]:
    """Three random sentences as a fast tokenizer gives them: word ids ([CLS], 1 to 3 pieces
    per word, [SEP], padding as None) and one label per word."""
    cases = []
    for _ in range(3):
        n_words = int(rng.integers(2, 7))
        ids: list = [None]
        for w in range(n_words):
            ids += [w] * int(rng.integers(1, 4))
        ids += [None] * int(rng.integers(1, 4))
        cases.append((ids, [int(v) for v in rng.integers(0, 9, n_words)]))
    return cases


def _reference_align(word_ids, word_labels):
    out, previous = [], None
    for w in word_ids:
        out.append(IGNORE if w is None or w == previous else word_labels[w])
        previous = w
    return out


ALIGN = Forbidden("the course's alignment",
                  ("course_lib.tokens.align_labels",),
                  hint="Loop over word_ids, remembering the previous word id.")
IOU = Forbidden("a library IoU",
                ("course_lib.segmentation.iou_per_class", "course_lib.segmentation.mean_iou",
                 "sklearn.metrics.jaccard_score"),
                hint="Two boolean masks, & for the intersection, | for the union.")


def check_align_labels(my_align_labels) -> Feedback:
    """The learner writes ``my_align_labels(word_ids, word_labels) -> list[int]``: the word's label
    on its first word piece, -100 on continuation pieces and on special tokens (word id None)."""
    from .. import tokens

    if is_unanswered(my_align_labels):
        return Feedback.unanswered("Not answered yet: define `my_align_labels` and run the cell again.")
    for word_ids, labels in _align_cases(draw_rng()):
        expected = _reference_align(word_ids, labels)
        out, problem = ALIGN.call(my_align_labels, list(word_ids), list(labels))
        if problem is not None:
            return problem
        try:
            out = [int(x) for x in out]
        except (TypeError, ValueError):
            return Feedback.incorrect(f"Return a list of integers, got {type(out).__name__}.")
        if out == expected:
            continue
        case = f"word_ids={word_ids}, word_labels={labels}"
        if len(out) != len(word_ids):
            return Feedback.incorrect(f"For {case} you returned {len(out)} labels; one per token "
                                      f"({len(word_ids)}) is needed.")
        every_piece = [IGNORE if w is None else labels[w] for w in word_ids]
        if out == every_piece:
            return Feedback.incorrect(f"For {case} you labelled every word piece: continuation pieces "
                                      "must get -100.", "Compare each word id with the previous one.")
        if [x for x, w in zip(out, word_ids) if w is None] != [IGNORE] * word_ids.count(None):
            return Feedback.incorrect(f"For {case} a special token ([CLS], [SEP] or padding, word id "
                                      "None) did not get -100.")
        last_piece = [IGNORE if w is None or (i + 1 < len(word_ids) and word_ids[i + 1] == w)
                      else labels[w] for i, w in enumerate(word_ids)]
        if out == last_piece:
            return Feedback.incorrect(f"For {case} you put the label on each word's last piece; the "
                                      "convention (and what `word_tags` reads back) is the first piece.")
        wrong = next(i for i, (a, b) in enumerate(zip(out, expected)) if a != b)
        return Feedback.incorrect(f"For {case} token {wrong} (word id {word_ids[wrong]}) gets "
                                  "the wrong label.")
    return Feedback.correct("Correct: one label per word, on its first piece; everything else is ignored "
                            "by the loss (cross_entropy's ignore_index=-100).")


def solution_align_labels(word_ids, word_labels):
    labels, previous = [], None
    for w in word_ids:
        if w is None:               # [CLS], [SEP], padding
            labels.append(-100)
        elif w != previous:         # first piece of a new word
            labels.append(word_labels[w])
        else:                       # continuation piece (##...)
            labels.append(-100)
        previous = w
    return labels


def _iou_cases(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """Four random (pred, truth, c): small masks of 2 to 4 classes, class c present."""
    cases = []
    for _ in range(4):
        k, h, w = int(rng.integers(2, 5)), int(rng.integers(2, 6)), int(rng.integers(2, 6))
        pred, truth = rng.integers(0, k, (h, w)), rng.integers(0, k, (h, w))
        c = int(rng.integers(0, k))
        truth[0, 0] = c
        cases.append((pred, truth, c))
    return cases


def check_iou(my_iou) -> Feedback:
    """The learner writes ``my_iou(pred, truth, c) -> float``: intersection over union of class ``c``."""
    from .. import segmentation

    if is_unanswered(my_iou):
        return Feedback.unanswered("Not answered yet: define `my_iou` and run the cell again.")
    for pred, truth, c in _iou_cases(draw_rng()):
        out, problem = IOU.call(my_iou, pred.copy(), truth.copy(), c)
        if problem is not None:
            return problem
        p, t = pred == c, truth == c
        expected = (p & t).sum() / (p | t).sum()
        try:
            value = float(out)
        except (TypeError, ValueError):
            return Feedback.incorrect(f"Return a number, got {type(out).__name__}.")
        if abs(value - expected) < 1e-9:
            continue
        case = f"class {c} of a random {pred.shape[0]}×{pred.shape[1]} mask"
        if abs(value - (p & t).sum() / t.sum()) < 1e-9:
            return Feedback.incorrect(f"For {case} you divided by the true pixels only (that is recall): "
                                      "the union also counts pixels wrongly predicted as the class.")
        if p.sum() and abs(value - (p & t).sum() / p.sum()) < 1e-9:
            return Feedback.incorrect(f"For {case} you divided by the predicted pixels only (precision).")
        if abs(value - (pred == truth).mean()) < 1e-9:
            return Feedback.incorrect(f"For {case} that is pixel accuracy over all classes, not class {c}'s IoU.")
        if not 0 <= value <= 1:
            return Feedback.incorrect(f"For {case} your IoU is not between 0 and 1.")
        return Feedback.incorrect(f"For {case} your value is not the intersection over the union.",
                                  "Count pixels where both masks are class c, and pixels where "
                                  "either is.")
    return Feedback.correct("Correct. Averaging it over the classes gives the mean IoU the notebook reports.")


def solution_iou(pred, truth, c):
    p, t = (pred == c), (truth == c)
    return (p & t).sum() / (p | t).sum()


_PREDICTIONS = ("higher", "lower", "about the same")
REFERENCE_BLOCK = 7
"""The block the notebook's segmentation head reads (``BLOCK``): its mean IoU is on screen."""
TOLERANCE = 0.01
"""Within this much of the reference block's mean IoU, the outcome is "about the same"."""

_block_problem = whole_number("my_block", 0, 15, " (Lite0 has 16 blocks)")


def _block_outcome(settings: dict, measured: dict) -> set[str]:
    return outcome_with_tolerance(measured["mine"] - measured["reference"], TOLERANCE)


def _describe_block(settings: dict, measured: dict) -> str:
    gap = measured["mine"] - measured["reference"]
    outcome = " or ".join(sorted(_block_outcome(settings, measured)))
    return (f"block {settings['my_block']} gave mean IoU {measured['mine']:.3f}, block "
            f"{REFERENCE_BLOCK} gave {measured['reference']:.3f} ({gap:+.3f}: {outcome})")


_WHY = ("Earlier blocks keep more spatial detail (stride 2–8) but see small patches and respond "
        "to edges and grain; later blocks see a wider area and respond to texture, but their "
        "coarse grid (stride 32) blurs the region borders.")

BLOCK = Experiment(
    "block_change", settings=("my_block",), options=_PREDICTIONS, variable="my_prediction",
    unchanged={"my_block": REFERENCE_BLOCK}, validate=_block_problem,
    judge=categorical(
        _block_outcome, _describe_block,
        if_wrong="A prediction that fails is still a result: write down why you expected "
                 "otherwise. " + _WHY,
        next_step=_WHY),
    hint="Earlier blocks: a finer grid; later blocks: a wider view. Which matters more for "
         "these region borders?")
"""Exercise 3 (change it and predict): the learner picks another block to feed the
segmentation head and predicts how the mean IoU moves against block
:data:`REFERENCE_BLOCK`'s; within :data:`TOLERANCE` counts as "about the same"."""


@BLOCK.measures(costly=True)
def block_experiment(lite0, pool_images, test_images, make_seg_arm, seeds, budget,
                     my_block: int) -> dict:
    """Exercise 3's measurement: Lite0's feature maps at ``my_block`` and at
    :data:`REFERENCE_BLOCK` (``segmentation.lite0_feature_maps``), the notebook's pixel head on
    each (``make_seg_arm``) for every seed; recorded for :data:`BLOCK`. Runs only after a
    prediction for the same block."""
    from .. import segmentation

    if (problem := _block_problem({"my_block": my_block})) is not None:
        raise ValueError(problem)

    def mean_iou(block: int) -> float:
        arm = make_seg_arm(segmentation.lite0_feature_maps(lite0, pool_images, block),
                           segmentation.lite0_feature_maps(lite0, test_images, block))
        return float(np.mean([arm(seed, budget).score for seed in seeds]))

    return {"mine": mean_iou(my_block), "reference": mean_iou(REFERENCE_BLOCK)}


def solution_block_change():
    # In the prediction cell, before the measuring one.
    # Feed the head from block 4 instead (stride 8, 40 channels): a finer grid but a smaller
    # receptive field and less texture-specific features. Prediction: lower.
    my_block = 4
    my_prediction = "lower"
    return my_block, my_prediction
