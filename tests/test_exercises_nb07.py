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
    assert nb07.check_leep(tr.leep)
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
