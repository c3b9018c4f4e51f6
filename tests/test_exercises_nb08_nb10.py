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


def test_nb10_checks():
    import torch

    from course_lib.data import ArrayImageDataset
    from course_lib.exercises import nb10

    ds = ArrayImageDataset(torch.zeros(5, 3, 4, 4), [0, 0, 1, 1, 1], ["a", "b"])
    assert nb10.check_skipped_load(ds, 5, ["a", "b"])
    assert nb10.check_skipped_load(..., 5, ["a", "b"]).status == "unanswered"
    assert "expected 6" in nb10.check_skipped_load(ds, 6, ["a", "b"]).message
    assert "Classes are" in nb10.check_skipped_load(ds, 5, ["a", "c"]).message
    assert "Expected the dataset" in nb10.check_skipped_load(3, 5, ["a"]).message
    assert nb10.check_first_step("b")
    assert nb10.check_first_step(...).status == "unanswered"
    for wrong in "acd":
        assert not nb10.check_first_step(wrong)
    assert "not an option" in nb10.check_first_step("x").message


def test_nb08_solution_passes_its_check():
    assert nb08.check_transfer_gap(nb08.solution_transfer_gap)
