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


def test_k_prediction_reads_the_learners_comparison():
    from course_lib.compare import paired_comparison

    pixels_win = paired_comparison([0.70, 0.72, 0.71, 0.69, 0.70], [0.90, 0.91, 0.93, 0.90, 0.92],
                                   "ImageNet final", "raw pixels")
    tie = paired_comparison([0.90, 0.92, 0.91, 0.89], [0.91, 0.90, 0.92, 0.90],
                            "ImageNet final", "raw pixels")
    check = nb08.check_k_prediction
    assert check(..., pixels_win).status == "unanswered"
    assert "not an option" in check("pixels", pixels_win).message
    assert check("raw pixels better", pixels_win)
    fb = check("ImageNet final better", pixels_win)
    assert fb.status == "incorrect" and "Not what you predicted" in fb.message
    assert check("no detectable difference", tie)
    assert "not a number" in check("raw pixels better", 0.2).message
    assert check(nb08.solution_k_prediction(20), pixels_win)
