import torch

from course_lib.exercises.nb00 import check_second_guess

CATS = ["tabby", "tiger cat", "Egyptian cat", "lynx", "dog", "car"]
PROBS = torch.tensor([0.30, 0.25, 0.35, 0.05, 0.03, 0.02])


def test_second_guess():
    assert check_second_guess("tabby", PROBS, CATS)
    assert check_second_guess(..., PROBS, CATS).status == "unanswered"
    assert "first choice" in check_second_guess("Egyptian cat", PROBS, CATS).message
    assert "position 3" in check_second_guess("tiger cat", PROBS, CATS).message
    assert "not one of the 1,000" in check_second_guess("kitten", PROBS, CATS).message
    assert "a string" in check_second_guess(3, PROBS, CATS).message
    assert "not among" in check_second_guess("car", PROBS, CATS).message
