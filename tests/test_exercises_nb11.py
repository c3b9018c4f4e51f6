import numpy as np

from course_lib import segmentation, tokens
from course_lib.exercises import nb11


def test_align_labels_check():
    assert nb11.check_align_labels(nb11.solution_align_labels)
    assert nb11.check_align_labels(...).status == "unanswered"

    def todo(word_ids, word_labels):
        ...

    assert nb11.check_align_labels(todo).status == "unanswered"

    def every_piece(word_ids, word_labels):
        return [-100 if w is None else word_labels[w] for w in word_ids]

    assert "every word piece" in nb11.check_align_labels(every_piece).message

    def specials_labelled(word_ids, word_labels):
        out, prev = [], None
        for w in word_ids:
            out.append(0 if w is None else (-100 if w == prev else word_labels[w]))
            prev = w
        return out

    assert "special token" in nb11.check_align_labels(specials_labelled).message

    def last_piece(word_ids, word_labels):
        return [-100 if w is None or (i + 1 < len(word_ids) and word_ids[i + 1] == w) else word_labels[w]
                for i, w in enumerate(word_ids)]

    assert "last piece" in nb11.check_align_labels(last_piece).message


def test_align_labels_check_rejects_the_library_function():
    assert "cannot tell" in nb11.check_align_labels(tokens.align_labels).message

    def wrapper(word_ids, word_labels):
        return tokens.align_labels(word_ids, word_labels)

    assert "cannot tell" in nb11.check_align_labels(wrapper).message
    f = tokens.align_labels

    def hidden(word_ids, word_labels):       # calls it through another name
        return f(word_ids, word_labels)

    assert "cannot tell" in nb11.check_align_labels(hidden).message
    assert tokens.align_labels([None, 0], [1]) == [-100, 1]   # the check restored the library function
    g = segmentation.iou_per_class

    def hidden_iou(p, t, c):
        return g(p, t, 3)[c]

    assert "cannot tell" in nb11.check_iou(hidden_iou).message
    assert segmentation.mean_iou(np.array([0, 1]), np.array([0, 1]), 2) == 1.0


def test_iou_check():
    assert nb11.check_iou(nb11.solution_iou)
    assert nb11.check_iou(...).status == "unanswered"
    assert "library" in nb11.check_iou(lambda p, t, c: segmentation.iou_per_class(p, t, 3)[c]).message
    assert "recall" in nb11.check_iou(lambda p, t, c: ((p == c) & (t == c)).sum() / (t == c).sum()).message
    assert "precision" in nb11.check_iou(lambda p, t, c: ((p == c) & (t == c)).sum() / (p == c).sum()).message
    assert "pixel accuracy" in nb11.check_iou(lambda p, t, c: (p == t).mean()).message
    assert "expected" in nb11.check_iou(lambda p, t, c: 0.123).message


def test_block_change_check_reads_the_measurement():
    ok = nb11.check_block_change(4, "lower", 0.80, reference_block=7, reference_miou=0.86)
    assert ok and "0.800" in ok.message
    miss = nb11.check_block_change(4, "higher", 0.80, reference_block=7, reference_miou=0.86)
    assert miss.status == "incorrect" and "not as predicted" in miss.message
    assert nb11.check_block_change(10, "about the same", 0.865, 7, 0.86)
    assert nb11.check_block_change(..., ..., ..., 7, 0.86).status == "unanswered"
    assert nb11.check_block_change(4, "lower", ..., 7, 0.86).status == "unanswered"
    assert "pick another" in nb11.check_block_change(7, "lower", 0.8, 7, 0.86).message
    assert "0 to 15" in nb11.check_block_change(16, "lower", 0.8, 7, 0.86).message
    assert "one of" in nb11.check_block_change(4, "worse", 0.8, 7, 0.86).message
    assert "between 0 and 1" in nb11.check_block_change(4, "lower", 80, 7, 0.86).message
    block, prediction = nb11.solution_block_change()
    assert block == 4 and prediction == "lower"
