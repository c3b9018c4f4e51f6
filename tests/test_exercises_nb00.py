import pytest
import torch

from course_lib.exercises import nb00
from course_lib.exercises.nb00 import check_second_guess

CATS = ["tabby", "tiger cat", "Egyptian cat", "lynx", "dog", "car"]
PROBS = torch.tensor([0.30, 0.25, 0.35, 0.05, 0.03, 0.02])


def test_second_guess():
    assert check_second_guess(nb00.solution_second_guess(PROBS, CATS), PROBS, CATS)
    assert check_second_guess("tabby", PROBS, CATS)
    assert check_second_guess(..., PROBS, CATS).status == "unanswered"
    assert "first choice" in check_second_guess("Egyptian cat", PROBS, CATS).message
    assert "position 3" in check_second_guess("tiger cat", PROBS, CATS).message
    assert "not one of the 1,000" in check_second_guess("kitten", PROBS, CATS).message
    assert "a string" in check_second_guess(3, PROBS, CATS).message
    assert "not among" in check_second_guess("car", PROBS, CATS).message


def test_size_prediction_reads_the_measurement():
    cat = torch.tensor([0.1, 0.1, 0.6, 0.1, 0.05, 0.05])      # top: Egyptian cat
    dog = torch.tensor([0.1, 0.1, 0.1, 0.1, 0.55, 0.05])      # top: dog
    assert nb00.check_size_prediction("cat", 224, cat, CATS)
    assert nb00.check_size_prediction("not a cat", 32, dog, CATS)
    wrong = nb00.check_size_prediction("cat", 32, dog, CATS)
    assert not wrong and "'dog'" in wrong.message and "against your prediction" in wrong.message
    assert "still a cat" in nb00.check_size_prediction("not a cat", 224, cat, CATS).message
    assert nb00.check_size_prediction(..., 32, dog, CATS).status == "unanswered"
    assert "not an option" in nb00.check_size_prediction("maybe", 32, dog, CATS).message


@pytest.mark.parametrize("size", [32, 224])
def test_size_solution_matches_the_real_model(size):
    from skimage.data import chelsea

    from course_lib import models

    backbone = models.load_backbone("efficientnet_lite0", image_size=size)
    with torch.no_grad():
        probs = backbone.model.eval()(backbone.preprocess(chelsea())[None]).softmax(1)[0]
    prediction = nb00.solution_size_prediction(size)
    assert nb00.check_size_prediction(prediction, size, probs, models.imagenet_categories())
