"""The shared exercise machinery: the one detector for a forbidden call (``Forbidden``) and
predict-then-measure (``Experiment``)."""
import functools
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib import objectives as obj
from course_lib.exercises import Experiment, Feedback, Forbidden, categorical, experiment
from course_lib.exercises import outcome_with_tolerance

SOFTMAX = Forbidden("a library softmax", (
    "torch.ops.aten._softmax", "torch.ops.aten._log_softmax", "torch.nn.functional.softmax",
    "scipy.special.softmax", "course_lib.objectives.softmax", "course_lib.objectives.log_softmax"))


def _honest(z):
    e = (z - z.max(-1, keepdim=True).values).exp()
    return e / e.sum(-1, keepdim=True)


def _default_argument(z, f=torch.softmax):
    return f(z, -1)


def _scipy(z):
    import scipy.special

    return torch.from_numpy(scipy.special.softmax(z.numpy(), axis=-1))


def _import_as(z):
    from torch import softmax as sm

    return sm(z, -1)


def _wrapper(z):
    def inner(x):
        return F.softmax(x, dim=-1)
    return inner(z)


def _getattr(z):
    return getattr(torch, "soft" + "max")(z, -1)


@pytest.mark.parametrize("shortcut", [
    lambda z: torch.softmax(z, -1), lambda z: z.softmax(-1), lambda z: F.softmax(z, -1),
    lambda z: torch.special.softmax(z, -1), lambda z: torch.nn.Softmax(-1)(z),
    lambda z: torch.log_softmax(z, -1).exp(), functools.partial(torch.softmax, dim=-1),
    functools.partial(F.softmax, dim=-1), _default_argument, _scipy, _import_as, _wrapper,
    _getattr, obj.softmax, lambda z: obj.log_softmax(z).exp(), torch.nn.Softmax(dim=-1)],
    ids=lambda f: getattr(f, "__name__", type(f).__name__))
def test_every_route_to_a_forbidden_function_is_seen(shortcut):
    _, used = SOFTMAX.run(shortcut, torch.randn(3, 4, dtype=torch.float64))
    assert used, "the detector missed a library softmax"
    _, problem = SOFTMAX.call(shortcut, torch.randn(3, 4, dtype=torch.float64))
    assert problem.status == "incorrect" and "cannot tell" in problem.message
    assert sys.getprofile() is None


@pytest.mark.parametrize("honest", [
    _honest, lambda z: (z - torch.logsumexp(z, -1, keepdim=True)).exp(),
    lambda z: (z - obj.logsumexp(z).unsqueeze(-1)).exp(),
    lambda z: torch.from_numpy(np.exp(z.numpy()) / np.exp(z.numpy()).sum(-1, keepdims=True))])
def test_building_blocks_are_allowed(honest):
    out, used = SOFTMAX.run(honest, torch.randn(3, 4, dtype=torch.float64))
    assert used == [] and torch.allclose(out.sum(-1), torch.ones(3, dtype=torch.float64))


def test_sklearn_functions_are_seen_through_their_parameter_validation_wrapper():
    import sklearn.metrics as m

    recall = Forbidden("a library metric", ("sklearn.metrics.recall_score",))
    _, used = recall.run(lambda: m.recall_score([0, 1, 1], [0, 1, 0], average=None))
    assert used == ["sklearn.metrics.recall_score"]
    _, used = recall.run(lambda: m.accuracy_score([0, 1, 1], [0, 1, 0]))   # same wrapper code
    assert used == []


def test_course_functions_are_seen_however_imported():
    from course_lib.models import replace_head as swap

    rule = Forbidden("the course's helper", ("course_lib.models.replace_head",))
    model = torch.nn.Module()
    model.fc = torch.nn.Linear(3, 2)
    for route in (swap, functools.partial(swap, num_classes=5), lambda m: swap(m, 5)):
        _, problem = rule.call(route, model, *(() if isinstance(route, functools.partial)
                                               or route is not swap else (5,)))
        assert problem is not None and "replace_head" in problem.message


def test_targets_are_objects_or_dotted_paths_and_missing_libraries_are_skipped():
    def library(x):
        return x + 1

    rule = Forbidden("x", (library, "no_such_library.function"))
    assert rule.run(lambda x: library(x), 1) == (2, ["test_exercises_infra.test_targets_are_objects_or_dotted_paths_and_missing_libraries_are_skipped.library"])
    with pytest.raises(TypeError, match="trailing comma"):
        Forbidden("x", ("math.sqrt"))


def test_the_learner_code_runs_as_written_and_its_crash_is_still_reported():
    _, problem = SOFTMAX.call(lambda z: 1 / 0, torch.zeros(2))
    assert "ZeroDivisionError" in problem.message
    _, problem = SOFTMAX.call(lambda z: torch.softmax(z, -1) / 0 + {}["x"], torch.zeros(2))
    assert "cannot tell" in problem.message          # the forbidden call wins over the crash
    assert sys.getprofile() is None


def test_an_earlier_profiler_keeps_receiving_events():
    events = []
    sys.setprofile(lambda frame, event, arg: events.append(event))
    try:
        SOFTMAX.run(_honest, torch.zeros(1, 2))
        assert sys.getprofile() is not None
    finally:
        sys.setprofile(None)
    assert "call" in events


# ----------------------------------------------------------------------- predict, then measure
def _experiment(**extra):
    return Experiment(
        "demo", settings=("k",), options=("higher", "lower", "about the same"),
        unchanged={"k": 10}, shown=[{"k": 1}, {"k": 5}],
        judge=categorical(lambda s, m: outcome_with_tolerance(m - 0.5, 0.02),
                          lambda s, m: f"k = {s['k']}: {m:.2f} against 0.50"), **extra)


@pytest.fixture
def cells(monkeypatch):
    """Simulate IPython cells: ``cells.run(n)`` makes the next records come from cell n."""
    class Cells:
        current = None

        def run(self, n):
            self.current = n
    c = Cells()
    monkeypatch.setattr(experiment, "_cell", lambda: c.current)
    return c


def test_predict_then_measure_in_two_cells_gives_a_verdict(cells):
    e = _experiment()
    cells.run(1)
    assert e.predict("lower", k=3).status == "noted"
    cells.run(2)
    e.record(0.40, k=3)
    assert e.check()
    cells.run(3)
    e.record(0.70, k=3)                       # the same prediction, measured again: judged again
    assert e.check().status == "incorrect"


def test_the_result_stays_hidden_until_a_prediction_is_recorded(cells):
    e = _experiment()
    cells.run(1)
    e.record(0.40, k=3)
    fb = e.check()
    assert fb.status == "unanswered" and "0.40" not in str(fb)
    cells.run(2)
    assert e.predict("lower", k=3).status == "noted"        # it was never shown: allowed
    cells.run(3)
    e.record(0.40, k=3)
    assert e.check()


def test_a_prediction_after_the_measurement_is_refused(cells):
    e = _experiment()
    cells.run(1)
    e.predict("higher", k=3)
    cells.run(2)
    e.record(0.40, k=3)
    assert e.check().status == "incorrect"                   # seen: 0.40
    cells.run(3)
    late = e.predict("lower", k=3)                            # changed after seeing it
    assert late.status == "incorrect" and "already seen" in late.message
    cells.run(4)
    e.record(0.40, k=3)
    assert e.check().status == "unanswered"                  # no valid prediction
    cells.run(5)
    assert e.predict("higher", k=3).status == "noted"        # Run All again: the same one
    cells.run(6)
    assert e.predict("lower", k=4).status == "noted"         # a new setting is fine


def test_the_prediction_must_come_from_an_earlier_cell(cells):
    e = _experiment()
    cells.run(7)
    e.predict("lower", k=3)
    e.record(0.4, k=3)
    fb = e.check()
    assert fb.status == "incorrect" and "same cell" in fb.message and "0.40" not in str(fb)


def test_without_ipython_the_sequence_number_keeps_the_order():
    e = _experiment()
    e.record(0.4, k=3)
    e.predict("lower", k=3)
    assert e.check().status == "unanswered"                   # measured before predicting
    e.record(0.4, k=3)
    assert e.check()


def test_no_change_and_shown_settings_are_read_from_the_settings(cells):
    e = _experiment()
    fb = e.predict("about the same", k=10)
    assert fb.status == "incorrect" and "nothing changed" in fb.message
    assert "already printed" in e.predict("lower", k=5).message
    cells.run(1)
    e.predict("about the same", k=11)
    cells.run(2)
    e.record(0.5, k=11)                                       # an equal score: a real outcome
    assert e.check()


def test_a_measurement_of_other_settings_is_not_judged(cells):
    e = _experiment()
    cells.run(1)
    e.predict("lower", k=3)
    cells.run(2)
    e.record(0.4, k=4)
    fb = e.check()
    assert fb.status == "incorrect" and "k = 3" in fb.message and "0.40" not in str(fb)


def test_unanswered_invalid_and_numeric_predictions():
    e = _experiment()
    assert e.predict(..., k=3).status == "unanswered"
    assert "not an option" in e.predict("up", k=3).message
    with pytest.raises(TypeError):
        e.predict("lower", n=3)
    numeric = Experiment("n", settings=("k",), parse=float,
                         judge=lambda p, s, m: Feedback.correct() if abs(p - m) < 1 else
                         Feedback.incorrect("off"))
    assert numeric.predict("x", k=1).status == "incorrect"
    assert numeric.predict("2.5", k=1).status == "noted"
    numeric.record(3.0, k=1)
    assert numeric.check()


def test_the_measures_decorator_records_the_settings_from_the_arguments(cells):
    e = _experiment()

    @e.measures
    def run(data, k=3):
        return data[k]

    cells.run(1)
    e.predict("lower", k=3)
    cells.run(2)
    assert run({3: 0.4})                                       # k read from the default
    assert run.measure({3: 0.9}) == 0.9 and run.experiment is e


def test_a_costly_experiment_runs_only_after_a_prediction_for_its_settings(cells):
    e = _experiment()
    ran = []

    @e.measures(costly=True)
    def run(k):
        ran.append(k)
        return 0.4

    cells.run(1)
    fb = run(3)                                                # nothing predicted: not run
    assert fb.status == "unanswered" and "Nothing was run" in fb.message and not ran
    e.predict("lower", k=3)
    fb = run(3)                                                # the same cell: not run
    assert fb.status == "incorrect" and "same cell" in fb.message and not ran
    cells.run(2)
    fb = run(4)                                                # other settings: not run
    assert fb.status == "incorrect" and "k = 3" in fb.message and not ran
    assert run(3) and ran == [3]
    assert e.waiting(k=3) is None and run.measure(5) == 0.4


def test_ties_accept_both_readings():
    assert outcome_with_tolerance(0.02, 0.02) == {"about the same", "higher"}
    assert outcome_with_tolerance(-0.0199, 0.02) == {"about the same", "lower"}
    assert outcome_with_tolerance(0.0, 0.02) == {"about the same"}
    assert outcome_with_tolerance(0.1, 0.02) == {"higher"}


def test_in_a_real_ipython_shell_the_cells_keep_the_order():
    """Execution counts from a real IPython shell (in a subprocess, so no test sees it)."""
    import subprocess
    import textwrap

    script = textwrap.dedent('''
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance()
        cells = [
            "from course_lib.exercises import Experiment, categorical\\n"
            "e = Experiment('x', settings=('k',), options=('up', 'down'), judge=categorical("
            "lambda s, m: {'up' if m > 0 else 'down'}, lambda s, m: f'moved {m}'))",
            "e.predict('up', k=2)",                          # its own cell
            "e.record(1, k=2); print(e.check().status)",     # the next cell: correct
            "e.predict('up', k=3); e.record(1, k=3); print(e.check().status, e.check().message[:24])",
        ]
        for source in cells:
            shell.run_cell(source, store_history=True)
    ''')
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    lines = out.stdout.splitlines()
    assert "correct" in lines, out.stdout                                  # two cells: judged
    assert "incorrect The prediction and" in out.stdout, out.stdout         # one cell: refused
