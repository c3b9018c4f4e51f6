import torch

from course_lib.exercises import nb09
from course_lib.text import mean_pool


def test_mean_pool_check():
    assert nb09.check_mean_pool(mean_pool)
    assert "padding included" in nb09.check_mean_pool(lambda h, m: h.mean(1)).message
    assert "[CLS]" in nb09.check_mean_pool(lambda h, m: h[:, 0]).message
    assert "divide" in nb09.check_mean_pool(lambda h, m: (h * m.unsqueeze(-1)).sum(1)).message
    assert "shape" in nb09.check_mean_pool(lambda h, m: h).message
    assert "differ" in nb09.check_mean_pool(lambda h, m: torch.zeros(2, 3)).message

    def todo(h, m):
        ...

    assert nb09.check_mean_pool(todo).status == "unanswered"


def test_frozen_count():
    assert nb09.check_frozen_count(1540)
    assert "biases" in nb09.check_frozen_count(1536).message
    assert not nb09.check_frozen_count(3)
    assert nb09.check_frozen_count(...).status == "unanswered"


def test_solutions_pass_their_checks():
    assert nb09.check_mean_pool(nb09.solution_mean_pool)
    assert nb09.check_frozen_count(nb09.solution_frozen_count())
