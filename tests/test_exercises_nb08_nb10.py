from course_lib.exercises import nb08


def test_transfer_gap():
    assert nb08.check_transfer_gap(lambda a, b: (1 - a) - (1 - b))
    assert "sign is flipped" in nb08.check_transfer_gap(lambda a, b: a - b).message
    assert "expected" in nb08.check_transfer_gap(lambda a, b: 0.3).message
    assert "not a number" in nb08.check_transfer_gap(lambda a, b: "x").message

    def todo(a, b):
        ...

    assert nb08.check_transfer_gap(todo).status == "unanswered"


def test_remedy():
    assert nb08.check_remedy("b")
    assert nb08.check_remedy(...).status == "unanswered"
    for wrong in "acd":
        assert not nb08.check_remedy(wrong)
    assert "not an option" in nb08.check_remedy("q").message

