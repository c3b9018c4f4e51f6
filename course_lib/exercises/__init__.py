"""Feedback for the notebooks' exercises.

Every exercise in a notebook is checked by a function in ``course_lib.exercises.nbNN``.
A check never raises on what the learner wrote: it returns a :class:`Feedback` that says, in
words, "Correct", "Not yet" or "Not answered yet", then what is wrong (a shape, a sum, a sign,
which case) and a hint, never the expected value: ``show_solution`` is the only way to see an
answer. It is truthy only when the answer is right. An exercise left as ``...`` gets a hint,
not a crash. Checks of functions draw several random inputs per call (:func:`draw_rng`).

Two shared tools: :class:`Forbidden` (``forbidden.py``), the one detector for an answer that
calls the very function the exercise teaches, and :class:`Experiment` (``experiment.py``),
predict-then-measure for the "change it and predict" exercises.

>>> fb = Feedback.unanswered("Replace `...` with your code, then run the cell again.")
>>> bool(fb), fb.status
(False, 'unanswered')
>>> print(Feedback.incorrect("Your rows sum to more than 1.", "Divide by the row sum."))
❌ Not yet. Your rows sum to more than 1.
   Hint: Divide by the row sum.
>>> bool(Feedback.correct("Well done."))
True
>>> is_unanswered(...), is_unanswered(3)
(True, False)
"""
from __future__ import annotations

import html
import inspect
import re
import textwrap
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

_ICONS = {"correct": "✅", "incorrect": "❌", "unanswered": "✍️", "noted": "📝"}
_WORDS = {"correct": "Correct", "incorrect": "Not yet", "unanswered": "Not answered yet",
          "noted": "Prediction recorded"}
_COLOURS = {"correct": "#e6f4ea", "incorrect": "#fce8e6", "unanswered": "#fef7e0",
            "noted": "#e8f0fe"}


@dataclass(frozen=True)
class Feedback:
    """The result of checking one exercise: ``status`` plus a message for the learner.

    Shown as the status in words ("Correct", "Not yet", "Not answered yet", or "Prediction
    recorded" for the first cell of a change-and-predict exercise), an icon beside the word
    (never instead of it), the message and its hints.
    """

    status: str  # "correct", "incorrect", "unanswered" or "noted"
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

    @classmethod
    def noted(cls, message: str, *hints: str) -> "Feedback":
        """A change-and-predict prediction, recorded; not yet a verdict."""
        return cls("noted", message, tuple(hints))

    def __bool__(self) -> bool:
        return self.status == "correct"

    @property
    def ok(self) -> bool:
        return bool(self)

    @property
    def headline(self) -> str:
        """The status in words, then the message (a message that already opens with the
        word is not repeated)."""
        word = _WORDS.get(self.status, self.status)
        rest = re.sub(rf"^{re.escape(word)}\s*[:!.,]?\s*", "", self.message, flags=re.I)
        if not rest:
            return f"{word}."
        if self.status == "noted":
            return f"{word}: {rest}"
        first = rest[0].upper() if rest[0].isascii() else rest[0]     # θ stays θ
        return f"{word}. {first}{rest[1:]}"

    def __str__(self) -> str:
        lines = [f"{_ICONS.get(self.status, '')} {self.headline}"]
        lines += [f"   Hint: {h}" for h in self.hints]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colour = _COLOURS.get(self.status, "#eeeeee")
        hints = "".join(f"<li>Hint: {html.escape(h)}</li>" for h in self.hints)
        hints = f"<ul style='margin:4px 0 0 0'>{hints}</ul>" if hints else ""
        word = html.escape(_WORDS.get(self.status, self.status))
        rest = html.escape(self.headline[len(_WORDS.get(self.status, self.status)):])
        return (f"<div style='background:{colour};padding:6px 10px;border-radius:4px'>"
                f"{_ICONS.get(self.status, '')} <b>{word}</b>{rest}{hints}</div>")


def draw_rng() -> np.random.Generator:
    """A fresh random generator for a check's inputs: every call draws new cases, so a
    learner cannot type in the numbers a check expects. (Tests read the cases a check drew
    by patching the module's ``_cases`` function.)"""
    return np.random.default_rng()


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


from .experiment import Experiment, categorical, number, outcome_with_tolerance, whole_number  # noqa: E402,E501
from .forbidden import Forbidden  # noqa: E402

__all__ = ["Feedback", "Quiz", "Experiment", "Forbidden", "categorical", "number",
           "outcome_with_tolerance", "whole_number",
           "call_learner_code", "call_for_number",
           "draw_rng", "is_unanswered", "show_solution"]
