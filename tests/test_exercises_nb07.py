from course_lib.exercises import nb07


def test_recommendation():
    scores = {"a": 0.5, "b": 0.9, "c": 0.1}
    assert nb07.check_recommendation("b", scores, {"a": 0.7, "b": 0.9, "c": 0.5})
    fb = nb07.check_recommendation("b", scores, {"a": 0.95, "b": 0.9, "c": 0.5})
    assert fb and "filter, not a verdict" in fb.message
    assert "scores higher" in nb07.check_recommendation("a", scores, {}).message
    assert "not a candidate" in nb07.check_recommendation("z", scores, {}).message
    assert nb07.check_recommendation(..., scores, {}).status == "unanswered"


def _right_leep(theta, y):
    import numpy as np

    joint = np.stack([theta[y == c].sum(0) for c in np.unique(y)]) / len(y)
    cond = joint / joint.sum(0, keepdims=True)
    return np.mean(np.log(np.einsum("nz,nz->n", theta, cond[y])))


def test_check_leep():
    import numpy as np

    from course_lib import transferability as tr

    assert nb07.check_leep(_right_leep)
    assert nb07.check_leep(...).status == "unanswered"
    assert nb07.check_leep(lambda theta, y: ...).status == "unanswered"

    def given_y(theta, y):
        joint = np.stack([theta[y == c].sum(0) for c in np.unique(y)]) / len(y)
        cond = joint / joint.sum(1, keepdims=True)
        return np.mean(np.log(np.einsum("nz,nz->n", theta, cond[y])))

    fb = nb07.check_leep(given_y)
    assert fb.status == "incorrect" and "P(z | y)" in fb.message
    fb = nb07.check_leep(lambda theta, y: np.exp(_right_leep(theta, y)) * 0 + 0.5)
    assert fb.status == "incorrect" and "expected value" in fb.message
    fb = nb07.check_leep(lambda theta, y: 1 / 0)
    assert fb.status == "incorrect" and "ZeroDivisionError" in fb.message
    assert "one number" in nb07.check_leep(lambda theta, y: "high").message


def test_solutions_pass_their_checks():
    scores = {"a": 0.5, "b": 0.9, "c": 0.1}
    assert nb07.solution_recommendation(scores) == "b"
    assert nb07.check_recommendation(nb07.solution_recommendation(scores), scores, {"b": 1.0})
    assert nb07.check_leep(nb07.solution_leep)


def test_check_leep_cannot_be_passed_with_the_library_function():
    """Every way of handing the work to transferability.leep is noticed (issue 12)."""
    import course_lib.transferability as tr
    from course_lib.transferability import leep as borrowed

    def wrapped(theta, y):
        return tr.leep(theta, y)

    def aliased(theta, y):
        return borrowed(theta, y)

    def hidden(theta, y):
        return getattr(tr, "le" + "ep")(theta, y)

    for bypass in (tr.leep, wrapped, aliased, hidden):
        fb = nb07.check_leep(bypass)
        assert fb.status == "incorrect", bypass
        assert "transferability.leep" in fb.message and "cannot tell" in fb.message
    assert nb07.check_leep(_right_leep)          # the watch is removed afterwards
    import sys
    assert sys.getprofile() is None


def test_score_labels_prediction():
    check = nb07.check_score_labels_prediction
    assert check(..., 5, 0.5, 0.8).status == "unanswered"
    assert "not an option" in check("up", 5, 0.5, 0.8).message
    assert check("lower", 5, 0.5, 0.8)
    assert check("higher", 5, 0.9, 0.8)
    assert check("higher", 5, 0.83, 0.8).status == "incorrect"     # within 0.05: the same
    assert check("about the same", 5, 0.83, 0.8)
    fb = check("higher", 5, 0.5, 0.8)
    assert fb.status == "incorrect" and "+0.50" in fb.message and "as you predicted" in fb.message
    assert nb07.solution_score_labels_prediction(5) in ("higher", "lower", "about the same")
    assert nb07.solution_score_labels_prediction(40) == "about the same"
