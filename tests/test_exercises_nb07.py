from course_lib.exercises import nb07


def test_recommendation():
    scores = {"a": 0.5, "b": 0.9, "c": 0.1}
    assert nb07.check_recommendation("b", scores, {"a": 0.7, "b": 0.9, "c": 0.5})
    fb = nb07.check_recommendation("b", scores, {"a": 0.95, "b": 0.9, "c": 0.5})
    assert fb and "filter, not a verdict" in fb.message
    assert "scores higher" in nb07.check_recommendation("a", scores, {}).message
    assert "not a candidate" in nb07.check_recommendation("z", scores, {}).message
    assert nb07.check_recommendation(..., scores, {}).status == "unanswered"


def test_leep_quiz():
    assert nb07.check_leep_quiz("a")
    assert nb07.check_leep_quiz(...).status == "unanswered"
    for wrong in "bcd":
        assert not nb07.check_leep_quiz(wrong)
    assert "not an option" in nb07.check_leep_quiz("e").message
