"""Feedback for the notebooks' exercises.

Every exercise in a notebook is checked by a function in ``course_lib.exercises.nbNN``.
A check never raises on what the learner wrote: it returns a :class:`Feedback` that
displays as a short, specific message (what is wrong and a hint), and that is truthy
only when the answer is right. An exercise left as ``...`` gets a hint, not a crash.

>>> fb = Feedback.unanswered("Replace `...` with your code, then run the cell again.")
>>> bool(fb), fb.status
(False, 'unanswered')
>>> bool(Feedback.correct("Well done."))
True
>>> is_unanswered(...), is_unanswered(3)
(True, False)
"""
from __future__ import annotations

import html
import inspect
import textwrap
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

_ICONS = {"correct": "✅", "incorrect": "❌", "unanswered": "✍️"}


@dataclass(frozen=True)
class Feedback:
    """The result of checking one exercise: ``status`` plus a message for the learner."""

    status: str  # "correct", "incorrect" or "unanswered"
    message: str
    hints: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def correct(cls, message: str = "Correct!") -> "Feedback":
        return cls("correct", message)

    @classmethod
    def incorrect(cls, message: str, *hints: str) -> "Feedback":
        return cls("incorrect", message, tuple(hints))

    @classmethod
    def unanswered(cls, message: str = "Not answered yet: replace `...` with your answer "
                   "and run the cell again.", *hints: str) -> "Feedback":
        return cls("unanswered", message, tuple(hints))

    def __bool__(self) -> bool:
        return self.status == "correct"

    @property
    def ok(self) -> bool:
        return bool(self)

    def __str__(self) -> str:
        lines = [f"{_ICONS.get(self.status, '')} {self.message}"]
        lines += [f"   Hint: {h}" for h in self.hints]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colour = {"correct": "#e6f4ea", "incorrect": "#fce8e6", "unanswered": "#fef7e0"}[self.status]
        hints = "".join(f"<li>{html.escape(h)}</li>" for h in self.hints)
        hints = f"<ul style='margin:4px 0 0 0'>{hints}</ul>" if hints else ""
        return (f"<div style='background:{colour};padding:6px 10px;border-radius:4px'>"
                f"{_ICONS.get(self.status, '')} {html.escape(self.message)}{hints}</div>")


def is_unanswered(value: Any) -> bool:
    """True for the placeholders an exercise starts with: ``...``, ``None``, ``NotImplemented``."""
    return value is Ellipsis or value is None or value is NotImplemented


def call_learner_code(fn: Callable[..., Any], *args: Any, none_ok: bool = False,
                      **kwargs: Any) -> tuple[Any, Feedback | None]:
    """Call a function the learner wrote; turn a crash into feedback instead of a traceback.

    Returns ``(result, None)`` on success, ``(None, feedback)`` when it raised. A function
    whose body is still ``...`` returns ``None``, and is reported as unanswered, unless
    ``none_ok`` (for functions that work in place and return nothing).

    >>> call_learner_code(lambda x: x + 1, 1)
    (2, None)
    >>> _, fb = call_learner_code(lambda x: 1 / 0, 1); fb.status
    'incorrect'
    """
    if not callable(fn):
        return None, Feedback.incorrect(
            f"Expected a function, got {type(fn).__name__}.", "Define it with `def ...:`.")
    try:
        result = fn(*args, **kwargs)
    except NotImplementedError:
        return None, Feedback.unanswered("Not answered yet: your function still raises NotImplementedError.")
    except Exception as exc:  # noqa: BLE001 - the learner's code may raise anything
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return None, Feedback.incorrect(
            f"Your code raised {type(exc).__name__}: {exc} (line {where.lineno}: `{(where.line or '').strip()}`).",
            "Run it on a small input and print intermediate shapes.")
    if is_unanswered(result) and not (none_ok and result is None):
        return None, Feedback.unanswered(
            "Not answered yet: your function returns nothing. Replace `...` with your code.")
    return result, None


def call_for_number(fn: Callable[..., Any], *args: Any, name: str) -> tuple[float | None, Feedback | None]:
    """Call the learner's function ``name`` and read its result as one number.

    Returns ``(value, None)``, or ``(None, feedback)`` when it raised, is unanswered, or did not
    return a number.

    >>> call_for_number(lambda n: n / 2, 3, name="half")
    (1.5, None)
    >>> call_for_number(lambda n: "x", 3, name="half")[1].message
    "half(3,) returned 'x', not a number."
    """
    result, problem = call_learner_code(fn, *args)
    if problem is not None:
        return None, problem
    try:
        return float(result), None
    except (TypeError, ValueError):
        return None, Feedback.incorrect(f"{name}{args} returned {result!r}, not a number.")


@dataclass(frozen=True, repr=False)
class Quiz:
    """A multiple-choice question: its options, the right letter, and why each wrong one is wrong.

    Print it (or leave it last in a cell) to show the question; call :meth:`check` (or the quiz
    itself) on the learner's letter. Every wrong option must have its reason.

    >>> quiz = Quiz("parity", "Which number is even?", {"a": "3", "b": "4"}, answer="b",
    ...             praise="Yes.", reasons={"a": "No: 3 is odd."})
    >>> print(quiz)
    Which number is even?
      a) 3
      b) 4
    >>> quiz.check(" A ").message, bool(quiz("b"))
    ('No: 3 is odd.', True)
    >>> quiz.check(...).message
    'Not answered yet: set `parity` to "a" or "b".'
    """

    variable: str
    question: str
    options: dict[str, str]
    answer: str
    praise: str
    reasons: dict[str, str]

    def __post_init__(self) -> None:
        letters = set(self.options) or {self.answer, *self.reasons}
        if self.answer not in letters or set(self.reasons) != letters - {self.answer}:
            raise ValueError(f"Quiz {self.variable!r}: give one reason for every wrong option; options "
                             f"{sorted(letters)}, answer {self.answer!r}, reasons for {sorted(self.reasons)}.")

    @property
    def letters(self) -> list[str]:
        return sorted({self.answer, *self.reasons})

    def check(self, answer: Any) -> Feedback:
        """Feedback on the learner's letter: praise, the reason it is wrong, or a hint."""
        *rest, last = [f'"{letter}"' for letter in self.letters]
        listed = f"{', '.join(rest)} or {last}"
        if is_unanswered(answer):
            return Feedback.unanswered(f"Not answered yet: set `{self.variable}` to {listed}.")
        answer = str(answer).strip().lower()
        if answer == self.answer:
            return Feedback.correct(self.praise)
        if answer in self.reasons:
            return Feedback.incorrect(self.reasons[answer])
        return Feedback.incorrect(f"{answer!r} is not an option: {listed}.")

    __call__ = check

    def __str__(self) -> str:
        return "\n".join([self.question] + [f"  {k}) {text}" for k, text in self.options.items()])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        items = "".join(f"<li><b>{html.escape(k)}</b>) {html.escape(t)}</li>" for k, t in self.options.items())
        return f"<p>{html.escape(self.question)}</p><ul style='list-style:none'>{items}</ul>"


def names_used(fn: Callable[..., Any]) -> set[str]:
    """Every global or attribute name ``fn``'s code refers to (nested functions included):
    how a check notices that an answer calls the very library function it should write.

    >>> def answer(x):
    ...     import math
    ...     return math.sqrt(x)
    >>> "sqrt" in names_used(answer)
    True
    """
    code = getattr(fn, "__code__", None)
    names: set[str] = set()
    stack = [code] if code is not None else []
    while stack:
        c = stack.pop()
        names.update(c.co_names + c.co_freevars)
        stack.extend(k for k in c.co_consts if hasattr(k, "co_names"))
    return names


def check_choice(answer: Any, *, variable: str, correct: str, praise: str,
                 reasons: dict[str, str]) -> Feedback:
    """Multiple choice without option texts: a one-off :class:`Quiz`.

    >>> check_choice("b", variable="x", correct="a", praise="Yes.", reasons={"b": "No: ..."}).message
    'No: ...'
    """
    return Quiz(variable, "", {}, correct, praise, reasons).check(answer)


def check_prediction(prediction: Any, *, options: tuple[str, ...], measured: str, result: str,
                     before_running: str, if_wrong: str, next_step: str = "") -> Feedback:
    """Feedback for a "change it and predict" exercise: the learner's prediction, written
    before running, against what their own run measured (``measured``, one of ``options``).

    ``result`` states the measurement in a sentence; ``before_running`` is the hint while
    unanswered; ``if_wrong`` the hint after a wrong prediction; ``next_step`` follows praise.

    >>> fb = check_prediction("up", options=("up", "down"), measured="down",
    ...                       result="The loss went from 2.0 to 1.5", before_running="...",
    ...                       if_wrong="Look at the slope.")
    >>> fb.message
    'The loss went from 2.0 to 1.5: down, against your prediction (up).'
    >>> check_prediction(..., options=("up", "down"), measured="up", result="",
    ...                  before_running="Think first.", if_wrong="").status
    'unanswered'
    """
    *rest, last = [f'"{option}"' for option in options]
    listed = f"{', '.join(rest)} or {last}"
    if is_unanswered(prediction):
        return Feedback.unanswered(f"Not answered yet: before running, set `prediction` to "
                                   f"{listed}.", before_running)
    said = str(prediction).strip().lower()
    if said not in options:
        return Feedback.incorrect(f"{prediction!r} is not an option: {listed}.")
    if said == measured:
        return Feedback.correct(f"Your prediction held. {result}.{' ' + next_step if next_step else ''}")
    return Feedback.incorrect(f"{result}: {measured}, against your prediction ({said}).", if_wrong)


def show_solution(solution: Callable[..., Any]) -> None:
    """Print the source of a model solution, only when the learner asks for it.

    Solutions live beside their checks in ``course_lib/exercises/nbNN.py`` (functions named
    ``solution_*``) and are tested in ``tests/``; a notebook never runs them, so "Run All"
    shows hints, never answers. In a notebook: ``show_solution(nb11.solution_align_labels)``.

    >>> def solution_double(x):
    ...     return 2 * x
    >>> show_solution(solution_double)
    def solution_double(x):
        return 2 * x
    """
    print(textwrap.dedent(inspect.getsource(solution)).rstrip())
