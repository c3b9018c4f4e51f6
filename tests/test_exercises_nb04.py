import copy

import torch

from course_lib.checkpoints import load_weights, save_weights
from course_lib.exercises import nb04
from course_lib.pretrain import SmallCNN

X = torch.rand(3, 1, 8, 8)


def test_save_load(tmp_path):
    model = SmallCNN()
    assert nb04.check_save_load(nb04.solution_save, nb04.solution_load, model, X, tmp_path)

    def todo_load(path):
        ...

    fb = nb04.check_save_load(nb04.solution_save, todo_load, model, X, tmp_path)
    assert fb.status == "unanswered"
    assert "wrote no file" in nb04.check_save_load(lambda m, p: m.eval(), nb04.solution_load, model,
                                                   X, tmp_path).message
    pickle = lambda m, p: torch.save(m.state_dict(), p)  # noqa: E731
    assert "not safetensors" in nb04.check_save_load(pickle, nb04.solution_load, model, X,
                                                     tmp_path).message
    forgot = lambda p: SmallCNN()  # noqa: E731
    assert "predicts differently" in nb04.check_save_load(nb04.solution_save, forgot, model, X,
                                                          tmp_path).message
    assert "very model" in nb04.check_save_load(nb04.solution_save, lambda p: model, model, X,
                                                tmp_path).message


def test_save_load_bypass_load_never_reads_the_file(tmp_path):
    model = SmallCNN()
    kept = copy.deepcopy(model)
    fb = nb04.check_save_load(nb04.solution_save, lambda p: copy.deepcopy(kept), model, X, tmp_path)
    assert not fb and "does not read the file" in fb.message


def test_save_load_accepts_a_hand_written_round_trip(tmp_path):
    def save(m, path):
        save_weights(m, path)

    def load(path):
        fresh = SmallCNN()
        load_weights(fresh, path)
        return fresh

    assert nb04.check_save_load(save, load, SmallCNN(), X, tmp_path)


def test_speedup_prediction():
    guess = nb04.solution_speedup_prediction(112)
    assert nb04.check_speedup_prediction(guess, 112, measured_speedup=5.4, flops_ratio=4.3)
    fb = nb04.check_speedup_prediction(2, 112, measured_speedup=5.4, flops_ratio=4.3)
    assert not fb and "side squared" in str(fb)          # guessed the side ratio, not the area
    assert not nb04.check_speedup_prediction(40, 112, 5.4, 4.3)
    assert nb04.check_speedup_prediction(..., 112, 5.4, 4.3).status == "unanswered"
    assert "positive" in nb04.check_speedup_prediction(-1, 112, 5.4, 4.3).message
    assert "Expected a number" in nb04.check_speedup_prediction("fast", 112, 5.4, 4.3).message


def test_save_load_unanswered(tmp_path):
    def save(model, path):
        ...  # your code here

    def load(path):
        ...  # your code here

    fb = nb04.check_save_load(save, load, SmallCNN(), X, tmp_path)
    assert fb.status == "unanswered"
    assert nb04.check_save_load(nb04.solution_save, load, SmallCNN(), X, tmp_path).status == "unanswered"
