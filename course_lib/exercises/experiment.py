"""Predict, then measure, in that order: the "change it and predict" exercises.

A change-and-predict exercise has two cells. In the first the learner picks a setting and
records a prediction with :meth:`Experiment.predict`; in the second a library function runs the
experiment at that setting and hands its measurement to :meth:`Experiment.record` (the learner
passes no number), and :meth:`Experiment.check` compares the two. The experiment object keeps
the order:

- every record gets a number from one monotonic counter, and, in IPython, the execution count of
  the cell that made it: a prediction must come from an *earlier cell* than the measurement;
- a prediction for a setting whose result the learner has already seen is refused (a prediction
  after the result is not a prediction), unless it repeats the one made before;
- "no change made" is read from the settings (``unchanged``), never from an equal score, and
  settings whose result the notebook already printed (``shown``) are refused too;
- the result stays hidden until a valid prediction exists.

What the judge accepts is the exercise's business (see :func:`categorical`): an outcome within
noise of a boundary accepts both readings, and "about the same" is an answer wherever a change
can leave the result unchanged.

>>> shrink = Experiment("demo", settings=("factor",), unchanged={"factor": 1},
...     options=("lower", "higher"),
...     judge=categorical(lambda s, m: {"lower" if m < 10 else "higher"},
...                       lambda s, m: f"factor {s['factor']}: the loss is {m}"))
>>> print(shrink.predict("lower", factor=2))
📝 Prediction recorded: "lower" for factor = 2. Now run the next cell: it measures.
>>> shrink.record(7.5, factor=2)
>>> print(shrink.check())
✅ Correct. Your prediction held: factor 2: the loss is 7.5.
>>> print(shrink.predict("higher", factor=2))                   # doctest: +ELLIPSIS
❌ Not yet. You have already seen the result for factor = 2: ...
"""
from __future__ import annotations

import functools
import inspect
import itertools
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from . import Feedback, is_unanswered

_CLOCK = itertools.count(1)


def _cell() -> int | None:
    """The IPython execution count of the running cell, or ``None`` outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with the course
        return None
    shell = get_ipython()
    return getattr(shell, "execution_count", None) if shell is not None else None


@dataclass(frozen=True)
class _Record:
    seq: int
    cell: int | None
    settings: tuple
    value: Any


def _key(settings: Mapping[str, Any]) -> tuple:
    return tuple(sorted((k, _hashable(v)) for k, v in settings.items()))


def _hashable(value: Any) -> Any:
    try:
        hash(value)
        return value
    except TypeError:
        return repr(value)


def _describe(settings: tuple) -> str:
    return ", ".join(f"{k} = {v!r}" if isinstance(v, str) else f"{k} = {v:g}"
                     if isinstance(v, float) else f"{k} = {v}" for k, v in settings)


Judge = Callable[[Any, dict, Any], Feedback]


class Experiment:
    """One change-and-predict exercise: its settings, the accepted predictions, and a judge.

    ``settings`` names what the learner changes (``("image_size",)``); ``options`` lists the
    accepted answers (lower-case strings), or ``parse`` turns a numeric answer into a number
    (raising ``ValueError`` with a message for the learner). ``judge(prediction, settings,
    measurement)`` returns the :class:`Feedback` once both exist. ``unchanged`` is the setting
    the notebook already ran (predicting it is no change); ``shown`` lists other settings whose
    results the notebook printed; ``validate(settings)`` returns a message for a setting the
    experiment cannot run (or ``None``). ``variable`` is the name the learner's prediction has in the
    notebook, ``hint`` what to think about before predicting.
    """

    def __init__(self, name: str, *, settings: tuple[str, ...], judge: Judge,
                 options: tuple[str, ...] | None = None,
                 parse: Callable[[Any], Any] | None = None,
                 unchanged: Mapping[str, Any] | None = None,
                 shown: Iterable[Mapping[str, Any]] = (),
                 validate: Callable[[dict], str | None] | None = None,
                 variable: str = "prediction", hint: str = "") -> None:
        if (options is None) == (parse is None):
            raise ValueError("give either options (a choice) or parse (a number), not both")
        self.name, self.settings, self.judge = name, tuple(settings), judge
        self.options, self.parse = options, parse
        self.unchanged = _key(unchanged) if unchanged is not None else None
        self.shown = {_key(s) for s in shown}
        self.validate, self.variable, self.hint = validate, variable, hint
        self.reset()

    def reset(self) -> None:
        """Forget every prediction and measurement (a fresh kernel does the same)."""
        self._prediction: _Record | None = None
        self._measurement: _Record | None = None
        self._seen: dict[tuple, Any] = {}       # settings shown to the learner -> the prediction judged

    # ------------------------------------------------------------------ the prediction cell
    def _listed(self) -> str:
        if self.options is None:
            return "a number"
        *rest, last = [f'"{o}"' for o in self.options]
        return f"{', '.join(rest)} or {last}" if rest else last

    def _settings(self, settings: Mapping[str, Any]) -> tuple:
        if set(settings) != set(self.settings):
            raise TypeError(f"{self.name}: give the settings {self.settings}, got {tuple(settings)}")
        return _key(settings)

    def predict(self, prediction: Any, **settings: Any) -> Feedback:
        """Record the learner's prediction for ``settings``; call it in the prediction cell."""
        key = self._settings(settings)
        self._prediction = None
        if is_unanswered(prediction):
            return Feedback.unanswered(
                f"Not answered yet: set `{self.variable}` to {self._listed()} and run this cell, "
                "then the next one.", *((self.hint,) if self.hint else ()))
        if self.validate is not None and (problem := self.validate(dict(settings))):
            return Feedback.incorrect(problem)
        if self.options is not None:
            value = str(prediction).strip().lower()
            if value not in self.options:
                return Feedback.incorrect(f"{prediction!r} is not an option: {self._listed()}.")
        else:
            try:
                value = self.parse(prediction)
            except (TypeError, ValueError) as error:
                return Feedback.incorrect(str(error))
        if key == self.unchanged:
            return Feedback.incorrect(
                f"{_describe(key)} is the setting the notebook already ran: nothing changed.",
                "Change the setting first, then predict what the change does.")
        if key in self.shown:
            return Feedback.incorrect(f"The notebook already printed the result for "
                                      f"{_describe(key)}: pick a setting it did not show.")
        if key in self._seen and self._seen[key] != value:
            return Feedback.incorrect(
                f"You have already seen the result for {_describe(key)}: a prediction made after "
                "the measurement is not a prediction.",
                "Pick a setting you have not run yet, predict, then measure.")
        self._prediction = _Record(next(_CLOCK), _cell(), key, value)
        shown = f'"{value}"' if isinstance(value, str) else f"{value:g}"
        return Feedback.noted(f"{shown} for {_describe(key)}. Now run the next cell: it measures.")

    # ------------------------------------------------------------------ the measuring code
    def record(self, measurement: Any, **settings: Any) -> None:
        """Store a measurement; called by the library function that runs the experiment."""
        self._measurement = _Record(next(_CLOCK), _cell(), self._settings(settings), measurement)

    def waiting(self, **settings: Any) -> Feedback | None:
        """Why a measurement of ``settings`` would not be judged now (no prediction yet, a
        prediction in this very cell, or one for other settings), or ``None`` when it would."""
        key, p = self._settings(settings), self._prediction
        if p is None:
            return Feedback.unanswered(
                f"Not answered yet: record your prediction in the cell above (set "
                f"`{self.variable}`, run it), then run this cell. Nothing was run: the "
                "experiment waits for your prediction.")
        if p.cell is not None and p.cell == _cell():
            return Feedback.incorrect("The prediction and the measurement ran in the same cell: "
                                      "record the prediction in its own cell, above, and run it "
                                      "first.")
        if p.settings != key:
            return Feedback.incorrect(
                f"Your prediction was for {_describe(p.settings)}, but this cell would measure "
                f"{_describe(key)}.",
                "Run the prediction cell again with the setting you measure, then this cell.")
        return None

    def measures(self, run: Callable[..., Any] | None = None, *,
                 costly: bool = False) -> Callable[..., Feedback]:
        """Decorator: ``run`` performs the experiment and returns the measurement; the
        decorated function records it (with the settings read from its arguments) and returns
        :meth:`check`. The undecorated function stays available as ``.measure``.

        ``@exp.measures(costly=True)``: the experiment runs only when a prediction for the same
        settings was recorded in an earlier cell (see :meth:`waiting`), so Run All with the
        unanswered placeholder trains nothing."""
        if run is None:
            return functools.partial(self.measures, costly=costly)
        signature = inspect.signature(run)

        @functools.wraps(run)
        def measured(*args: Any, **kwargs: Any) -> Feedback:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            settings = {s: bound.arguments[s] for s in self.settings}
            if costly and (early := self.waiting(**settings)) is not None:
                return early
            self.record(run(*args, **kwargs), **settings)
            return self.check()

        measured.measure = run
        measured.experiment = self
        return measured

    # ------------------------------------------------------------------ the verdict
    def check(self) -> Feedback:
        """Compare the latest prediction with the latest measurement, in that order."""
        p, m = self._prediction, self._measurement
        if m is None:
            return Feedback.unanswered("Not answered yet: nothing measured. Run the measuring "
                                       "cell after your prediction.")
        if p is None or p.seq > m.seq:
            return Feedback.unanswered(
                f"Not answered yet: record your prediction in the cell above (set "
                f"`{self.variable}`, run it), then run this cell. The result stays hidden until "
                "you have predicted.")
        if p.cell is not None and p.cell == m.cell:
            return Feedback.incorrect("The prediction and the measurement ran in the same cell: "
                                      "record the prediction in its own cell, above, and run it "
                                      "first.")
        if p.settings != m.settings:
            return Feedback.incorrect(
                f"Your prediction was for {_describe(p.settings)}, but this run measured "
                f"{_describe(m.settings)}.",
                "Run the prediction cell again with the setting you measure, then this cell.")
        self._seen[m.settings] = p.value
        return self.judge(p.value, dict(m.settings), m.value)


def categorical(outcomes: Callable[[dict, Any], set[str] | str],
                describe: Callable[[dict, Any], str], *, if_wrong: str = "",
                next_step: str = "") -> Judge:
    """A judge for a choice: ``outcomes(settings, measurement)`` gives the accepted options
    (several when the measurement sits within noise of a boundary: both readings are right),
    ``describe`` states the measurement in a sentence.

    >>> judge = categorical(lambda s, m: {"up"} if m > 0 else {"down"}, lambda s, m: f"moved {m:+}")
    >>> judge("down", {}, -1).message
    'Your prediction held: moved -1.'
    >>> judge("up", {}, -1).message
    'Measured: moved -1, not "up" as you predicted.'
    """
    def judge(prediction: str, settings: dict, measurement: Any) -> Feedback:
        accepted = outcomes(settings, measurement)
        accepted = {accepted} if isinstance(accepted, str) else set(accepted)
        said = describe(settings, measurement)
        if prediction in accepted:
            tail = f" {next_step}" if next_step else ""
            return Feedback.correct(f"Your prediction held: {said}.{tail}")
        return Feedback.incorrect(f'Measured: {said}, not "{prediction}" as you predicted.',
                                  *((if_wrong,) if if_wrong else ()))

    return judge


def outcome_with_tolerance(change: float, tolerance: float, *, same: str = "about the same",
                           up: str = "higher", down: str = "lower",
                           margin: float = 0.25) -> set[str]:
    """The accepted readings of a measured ``change``: ``same`` within ``tolerance``, ``up`` or
    ``down`` beyond it; within ``margin × tolerance`` of the boundary, both neighbours.

    >>> sorted(outcome_with_tolerance(0.0, 0.02)), sorted(outcome_with_tolerance(0.02, 0.02))
    (['about the same'], ['about the same', 'higher'])
    >>> sorted(outcome_with_tolerance(-0.5, 0.02))
    ['lower']
    """
    size, band = abs(change), margin * tolerance
    accepted = set()
    if size <= tolerance + band:
        accepted.add(same)
    if size >= tolerance - band:
        accepted.add(up if change > 0 else down)
    return accepted


def number(what: str, low: float, high: float, *, outside: str = "") -> Callable[[Any], float]:
    """A ``parse`` for a numeric prediction: ``what`` names it, ``[low, high]`` is its range
    (``outside`` explains the range when the answer falls out of it).

    >>> number("a percentage", 0, 100)("12.5")
    12.5
    >>> number("a percentage", 0, 100)(130)
    Traceback (most recent call last):
    ...
    ValueError: 130 is not a percentage between 0 and 100.
    """
    def parse(value: Any) -> float:
        try:
            guess = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"Expected a number ({what}), got {value!r}.") from None
        if not low <= guess <= high:
            raise ValueError(outside or f"{guess:g} is not {what} between {low:g} and {high:g}.")
        return guess

    return parse


def whole_number(name: str, low: int, high: int, why: str = "") -> Callable[[dict], str | None]:
    """A ``validate`` for a setting that must be a whole number from ``low`` to ``high``.

    >>> whole_number("k", 1, 50)({"k": 60})
    '`k` must be a whole number from 1 to 50, got 60.'
    """
    def validate(settings: dict) -> str | None:
        value = settings[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return f"`{name}` must be a whole number from {low} to {high}{why}, got {value!r}."
        return None

    return validate
