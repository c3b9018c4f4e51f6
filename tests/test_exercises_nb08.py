from course_lib.exercises import nb08


def test_transfer_gap():
    assert nb08.check_transfer_gap(lambda a, b: (1 - a) - (1 - b))
    assert "sign is flipped" in nb08.check_transfer_gap(lambda a, b: a - b).message
    assert "expected" in nb08.check_transfer_gap(lambda a, b: 0.3).message
    assert "not a number" in nb08.check_transfer_gap(lambda a, b: "x").message

    def todo(a, b):
        ...

    assert nb08.check_transfer_gap(todo).status == "unanswered"


def test_nb08_solution_passes_its_check():
    assert nb08.check_transfer_gap(nb08.solution_transfer_gap)
