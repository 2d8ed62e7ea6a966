"""Quizzes, mock interviews and spaced review in a notebook, with ipywidgets.

Every function returns an object that shows itself in Jupyter (it is displayed at once when called in
a kernel) and that code can drive: ``.views[i].select(...)``, ``.submit()``, ``.feedback_text``,
``.score``. Answers go to the progress store; re-running a quiz shows the saved answers again.

Example::

    from ecsdojo import quiz, mock_interview, review
    quiz("ecs-vs-kubernetes", n=5, difficulty="easy")
    mock_interview(topics=["networking"], n=2, minutes=4)
    review(n=10)
"""

from __future__ import annotations

import html
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from ecsdojo.progress_store import ProgressStore
from ecsdojo.quiz.bank import BankIssue, Question, find_bank, load_banks, matching_questions
from ecsdojo.quiz.drill import allowed_minutes, due_questions, interview_questions, next_due_text, record_result
from ecsdojo.quiz.outcome import Outcome
from ecsdojo.quiz.types import question_type
from ecsdojo.quiz.types.interview import InterviewView  # noqa: F401 (re-exported)
from ecsdojo.quiz.types.matching import MatchingView  # noqa: F401 (re-exported)
from ecsdojo.quiz.types.multiple import MultipleView  # noqa: F401 (re-exported)
from ecsdojo.quiz.types.numeric import NumericView  # noqa: F401 (re-exported)
from ecsdojo.quiz.types.ordering import OrderingView  # noqa: F401 (re-exported)
from ecsdojo.quiz.types.short import ShortView  # noqa: F401 (re-exported)
from ecsdojo.quiz.types.single import SingleView  # noqa: F401 (re-exported)
from ecsdojo.quiz.types.true_false import TrueFalseView  # noqa: F401 (re-exported)
from ecsdojo.quiz.view import QuestionTimer, QuestionView, as_html

__all__ = ["quiz", "mock_interview", "review", "Quiz", "QuestionView", "QuizScore"]

@dataclass(frozen=True)
class QuizScore:
    points: float
    answered: int
    total: int

    def __str__(self) -> str:
        return f"Score: {self.points:g} / {self.total} ({self.answered} of {self.total} answered)"


class Quiz:
    """A list of question views with a running score; answers go to the progress store.

    ``prefill=True`` shows each question's latest saved answer (a quiz re-run or a reopened notebook);
    review sessions and mock interviews start blank.
    """

    def __init__(self, questions: Sequence[Question], *, title: str, store: ProgressStore, seed: int | None = None,
                 issues: Sequence[BankIssue] = (), note: str = "", prefill: bool = True, timed: bool = False,
                 minutes: float | None = None, clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.questions = list(questions)
        self.title = title
        self.store = store
        self.issues = list(issues)
        self.clock = clock
        self.views: list[QuestionView] = []
        for number, question in enumerate(self.questions, 1):
            timer = QuestionTimer(allowed_minutes(question, minutes), clock=monotonic) if timed else None
            kind = question_type(question.type)
            view = kind.view(question, kind=kind, number=number, seed=seed, on_answer=self._record, timer=timer)
            if prefill:
                saved = store.latest_answer(question.bank, question.id)
                if saved is not None:
                    view.restore(saved)
            self.views.append(view)
        self.score_label = widgets.HTML()
        parts: list[widgets.Widget] = [widgets.HTML(f"<h3>{html.escape(title)}</h3>")]
        if note:
            parts.append(widgets.HTML(f"<p>{as_html(note)}</p>"))
        if self.issues:
            listing = "".join(f"<li>{html.escape(str(issue))}</li>" for issue in self.issues)
            box = widgets.Accordion(children=[widgets.HTML(f"<ul>{listing}</ul>")])
            box.set_title(0, f"⚠ {len(self.issues)} problem(s) in the question bank; those questions are left out")
            parts.append(box)
        parts.append(self.score_label)
        parts += [view.widget for view in self.views]
        parts.append(widgets.HTML(QUIZ_STYLE))      # last, so the widget's text form starts with its title
        self.widget = widgets.VBox(parts)
        self._displayed_at: int | None = None
        self._update_score()

    def _record(self, view: QuestionView, answer: Any, outcome: Outcome) -> None:
        record_result(self.store, view.question, answer, outcome, now=self.clock())
        self._update_score()

    @property
    def score(self) -> QuizScore:
        answered = [v.outcome for v in self.views if v.outcome is not None]
        return QuizScore(sum(o.score for o in answered), len(answered), len(self.views))

    def _update_score(self) -> None:
        self.score_label.value = f"<b>{html.escape(str(self.score))}</b>"

    def view(self, question_id: str) -> QuestionView:
        """The view of one question, by id."""
        for view in self.views:
            if view.question.id == question_id:
                return view
        raise KeyError(f"{question_id!r} is not in this quiz")

    def __len__(self) -> int:
        return len(self.views)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.title!r}: {self.score}>"

    def _ipython_display_(self) -> None:
        shell = _kernel_shell()
        if shell is not None and self._displayed_at == shell.execution_count:
            return                 # already shown by the call in this same cell
        from IPython.display import display
        display(self.widget)


def _kernel_shell() -> Any:
    """The IPython shell when running inside a Jupyter kernel, else None (never imports IPython)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return None
    shell = ipython.get_ipython()
    return shell if shell is not None and getattr(shell, "kernel", None) is not None else None


def _show(quiz_object: Quiz) -> Quiz:
    shell = _kernel_shell()
    if shell is not None:
        from IPython.display import display
        display(quiz_object.widget)
        quiz_object._displayed_at = shell.execution_count
    return quiz_object


# Long option texts wrap; without this, JupyterLab draws a wrapped radio label over the next option.
QUIZ_STYLE = ("<style>.widget-radio-box label{height:auto !important;line-height:1.35;white-space:normal;"
              "display:flex;flex-direction:row-reverse;justify-content:flex-end;align-items:flex-start;gap:6px;"
              "margin-bottom:4px}</style>")


# ---- the public functions -----------------------------------------------------------------------

def quiz(bank: str | None = None, *, n: int | None = None, topic: str | Iterable[str] | None = None,
         difficulty: str | Iterable[str] | None = None, types: str | Iterable[str] | None = None,
         ids: Iterable[str] | None = None, seed: int | None = None,
         banks_dir: str | Path | None = None, store: ProgressStore | None = None) -> Quiz:
    """A quiz from one bank (or, with ``bank=None``, from all banks), filtered and cut.

    ``topic``, ``difficulty`` and ``types`` (question types) filter; ``ids`` picks questions by id, in
    that order; ``seed`` shuffles the questions (without it they keep bank
    order, so a re-run shows the same quiz); ``n`` keeps the first ``n``. Options are shuffled per
    question. Problems in the bank are listed above the quiz and the questions they affect are left
    out. Raises ``BankNotFound`` for an unknown bank name.

    Example::

        quiz("ecs-vs-kubernetes", n=5, difficulty=["easy", "medium"], seed=7)
    """
    store = store if store is not None else ProgressStore()
    if bank is not None:
        loaded = find_bank(bank, banks_dir)
        pool, issues, title = list(loaded.questions), list(loaded.issues), loaded.title
    else:
        banks = load_banks(banks_dir)
        pool = [q for b in banks.banks for q in b.questions]
        issues, title = list(banks.issues), "Quiz: all banks"
    if ids is not None:
        by_id = {q.id: q for q in pool}
        pool = [by_id[i] for i in ids if i in by_id]
    chosen = matching_questions(pool, topic=topic, difficulty=difficulty, types=types, n=n, seed=seed)
    note = "" if chosen else "No questions match these filters."
    return _show(Quiz(chosen, title=title, store=store, seed=seed, issues=issues, note=note))


def mock_interview(topics: str | Iterable[str] | None = None, *, n: int = 3, minutes: float | None = None,
                   seed: int | None = None, banks_dir: str | Path | None = None,
                   store: ProgressStore | None = None, clock: Callable[[], float] = time.time,
                   monotonic: Callable[[], float] = time.monotonic) -> Quiz:
    """A timed mock interview: ``n`` interview and short questions on ``topics`` (never-seen and due
    ones first). Each question starts with Start and runs against a countdown (``minutes`` per
    question; default the question's own, else 5 for interview and 2 for short). After Submit the
    model answer is revealed; interview answers are self-rated against the rubric (0–5) and scheduled
    for spaced review (SM-2).

    Example::

        mock_interview(topics=["ecs-vs-kubernetes"], n=2, minutes=4, seed=1)
    """
    store = store if store is not None else ProgressStore()
    banks = load_banks(banks_dir)
    chosen = interview_questions(banks, store, topics=topics, n=n, seed=seed, now=clock())
    note = ("Answer as you would aloud in an interview. Press Start on each question; the clock is a guide,"
            " not a cut-off." if chosen else "No interview or short questions match these topics.")
    return _show(Quiz(chosen, title="Mock interview", store=store, seed=seed, issues=banks.issues, note=note,
                      prefill=False, timed=True, minutes=minutes, clock=clock, monotonic=monotonic))


def review(n: int = 10, *, topics: str | Iterable[str] | None = None, seed: int | None = None,
           banks_dir: str | Path | None = None, store: ProgressStore | None = None,
           clock: Callable[[], float] = time.time) -> Quiz:
    """Spaced review: up to ``n`` questions whose review cards are due (most overdue first). Every
    answered question gets a card; good answers push it further out, bad ones bring it back tomorrow
    (SM-2, see ``ecsdojo.quiz.drill``).

    Example::

        review(n=10)
    """
    store = store if store is not None else ProgressStore()
    banks = load_banks(banks_dir)
    now = clock()
    due = due_questions(banks, store, now=now, topics=topics, n=n)
    note = (f"{len(due)} card(s) due." if due
            else f"Nothing is due for review ({next_due_text(store, now=now)}). Answer quizzes to fill your deck.")
    return _show(Quiz(due, title="Spaced review", store=store, seed=seed, issues=banks.issues, note=note,
                      prefill=False, clock=clock))
