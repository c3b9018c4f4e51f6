from course_lib.exercises import nb01


def test_labelling_hours():
    assert nb01.check_labelling_hours(lambda n, s, a: n * s * a / 3600)
    assert "annotators" in nb01.check_labelling_hours(lambda n, s, a: n * s / 3600).message
    assert "seconds, not hours" in nb01.check_labelling_hours(lambda n, s, a: n * s * a).message
    assert "minutes, not hours" in nb01.check_labelling_hours(lambda n, s, a: n * s * a / 60).message
    assert "expected" in nb01.check_labelling_hours(lambda n, s, a: 1.0).message
    assert "not a number" in nb01.check_labelling_hours(lambda n, s, a: "x").message

    def todo(n, s, a):
        ...

    assert nb01.check_labelling_hours(todo).status == "unanswered"


STATS = {("raw pixels", 1): 0.55, ("raw pixels", 2): 0.65, ("raw pixels", 5): 0.78,
         ("raw pixels", 10): 0.86, ("raw pixels", 20): 0.9}


def test_matching_k():
    assert nb01.check_matching_k(10, STATS)
    assert nb01.check_matching_k(..., STATS).status == "unanswered"
    assert "still below" in nb01.check_matching_k(5, STATS).message
    assert "smaller k already" in nb01.check_matching_k(20, STATS).message
    assert "not one of the k values" in nb01.check_matching_k(7, STATS).message
    assert nb01.check_matching_k("never", STATS, threshold=0.99)
    assert "never reach" in nb01.check_matching_k(20, STATS, threshold=0.99).message
