"""course_lib.exercises: feedback never crashes on learner input; every quiz explains every wrong option."""
import html
import importlib
import pkgutil

import pytest

from course_lib import exercises
from course_lib.exercises import Feedback, Quiz, call_for_number, call_learner_code, is_unanswered

QUIZZES = {f"{module.name}.{name}": quiz
           for module in pkgutil.iter_modules(exercises.__path__)
           for name, quiz in vars(importlib.import_module(f"course_lib.exercises.{module.name}")).items()
           if isinstance(quiz, Quiz)}


def test_feedback_is_truthy_only_when_correct_and_shows_its_hints():
    fb = Feedback.incorrect("Rows sum to more than 1.", "Divide by the sum.")
    assert not fb and fb.status == "incorrect" and "Hint: Divide by the sum." in str(fb)
    assert "Divide by the sum." in fb._repr_html_()
    assert Feedback.correct().ok
    assert Feedback.unanswered().status == "unanswered"
    assert not Feedback.noted("a prediction")


@pytest.mark.parametrize("fb, word", [
    (Feedback.correct("Right."), "Correct"), (Feedback.correct(), "Correct"),
    (Feedback.incorrect("Rows sum to more than 1."), "Not yet"),
    (Feedback.unanswered(), "Not answered yet"),
    (Feedback.unanswered("Not answered yet: set `x`."), "Not answered yet"),
    (Feedback.noted('"lower" for k = 3.'), "Prediction recorded")])
def test_feedback_states_its_status_in_words_not_a_glyph_alone(fb, word):
    """Without an emoji font a glyph is an empty box: the word carries the verdict."""
    text = str(fb)
    assert word in text and word in fb._repr_html_()
    assert text.count(word) == 1, "the status word is not repeated"
    without_glyphs = "".join(ch for ch in text if ord(ch) < 0x2000)
    assert word in without_glyphs

def test_placeholders_count_as_unanswered():
    assert is_unanswered(...) and is_unanswered(None) and is_unanswered(NotImplemented)
    assert not is_unanswered(0)


def _todo(x):
    ...


def _not_implemented(x):
    raise NotImplementedError


@pytest.mark.parametrize("fn, status", [(_todo, "unanswered"), (_not_implemented, "unanswered"),
                                        (lambda x: x["missing"], "incorrect"), (3, "incorrect")])
def test_learner_code_that_fails_becomes_feedback(fn, status):
    result, fb = call_learner_code(fn, {})
    assert result is None and fb.status == status


def test_a_crash_is_reported_with_its_line():
    _, fb = call_learner_code(lambda x: x["missing"], {})
    assert "KeyError" in fb.message and 'x["missing"]' in fb.message
    assert call_learner_code(3)[1].message.startswith("Expected a function")


def test_call_for_number_reads_one_number_or_explains():
    assert call_for_number(lambda a, b: a * b, 2, 3, name="times") == (6.0, None)
    value, fb = call_for_number(lambda a, b: [a, b], 2, 3, name="times")
    assert value is None and fb.message == "times(2, 3) returned [2, 3], not a number."
    assert call_for_number(_todo, 1, name="todo")[1].status == "unanswered"


def test_the_course_has_its_quizzes():
    assert {"nb01.WHY", "nb07.LEEP", "nb08.REMEDY", "nb09.POOLING"} <= set(QUIZZES)


@pytest.mark.parametrize("name", sorted(QUIZZES))
def test_quiz_accepts_its_answer_however_it_is_typed(name):
    quiz = QUIZZES[name]
    assert quiz.check(quiz.answer) and quiz.check(f" {quiz.answer.upper()} ")
    assert quiz.check(quiz.answer).message == quiz.praise


@pytest.mark.parametrize("name", sorted(QUIZZES))
def test_quiz_gives_each_wrong_option_its_own_reason(name):
    quiz = QUIZZES[name]
    wrong = [letter for letter in quiz.options if letter != quiz.answer]
    assert wrong and sorted(wrong) == sorted(quiz.reasons)
    for letter in wrong:
        fb = quiz.check(letter)
        assert fb.status == "incorrect" and fb.message == quiz.reasons[letter]


@pytest.mark.parametrize("name", sorted(QUIZZES))
def test_quiz_unanswered_or_unknown_letter_gets_a_hint(name):
    quiz = QUIZZES[name]
    fb = quiz.check(...)
    assert fb.status == "unanswered" and f"`{quiz.variable}`" in fb.message
    assert "is not an option" in quiz.check("z").message


@pytest.mark.parametrize("name", sorted(QUIZZES))
def test_quiz_shows_its_question_and_every_option(name):
    quiz = QUIZZES[name]
    shown = str(quiz)
    assert shown.startswith(quiz.question)
    assert all(f"{letter}) {text}" in shown for letter, text in quiz.options.items())
    assert all(html.escape(text) in quiz._repr_html_() for text in quiz.options.values())


def test_a_quiz_without_a_reason_for_a_wrong_option_is_refused():
    with pytest.raises(ValueError, match="one reason for every wrong option"):
        Quiz("x", "?", {"a": "1", "b": "2", "c": "3"}, answer="a", praise="Yes.", reasons={"b": "No."})


def test_the_right_option_is_not_given_away_by_its_length_or_letter():
    """A learner who always picks the longest option, or always "a", must not pass the quizzes."""
    shown = [quiz for quiz in QUIZZES.values() if quiz.options]
    longest = [quiz.variable for quiz in shown
               if max(quiz.options, key=lambda letter: len(quiz.options[letter])) == quiz.answer]
    assert len(longest) <= len(shown) // 2, f"the answer is the longest option in {longest}"
    assert len({quiz.answer for quiz in shown}) >= 2, "every quiz has the same answer letter"
