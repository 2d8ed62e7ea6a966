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

import datetime
import html
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ipywidgets as widgets
from traitlets import TraitError

from ecsdojo.progress_store import ProgressStore, QuizAnswer
from ecsdojo.quiz.bank import BankIssue, Question, arrange, find_bank, load_banks, matching_questions
from ecsdojo.quiz.drill import (RATING_GUIDE, allowed_minutes, due_questions, interview_questions, next_due_text,
                                record_result)
from ecsdojo.quiz.scoring import AnswerInvalid, Outcome, score_answer

__all__ = ["quiz", "mock_interview", "review", "Quiz", "QuestionView", "QuizScore"]

TYPE_LABELS = {"single": "one answer", "multiple": "all that apply", "true_false": "true or false",
               "ordering": "put in order", "matching": "match the pairs", "numeric": "a number",
               "short": "short answer", "interview": "interview question"}


def _html(text: str) -> str:
    """Escape text for an HTML widget; `code` spans and line breaks are kept."""
    escaped = html.escape(text)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    return escaped.replace("\n", "<br>")


def _clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60}:{seconds % 60:02d}"


class QuestionTimer:
    """A countdown for a mock-interview question. The label is refreshed by a hidden ``Play`` widget
    that ticks once a second in the browser (no kernel thread); the time itself comes from ``clock``."""

    def __init__(self, minutes: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.allowed_seconds = minutes * 60
        self.clock = clock
        self.started_at: float | None = None
        self.stopped_at: float | None = None
        self.label = widgets.HTML()
        self.ticker = widgets.Play(value=0, min=0, max=10**7, interval=1000, layout=widgets.Layout(display="none"))
        self.ticker.observe(lambda _change: self.refresh(), "value")
        self.refresh()

    @property
    def elapsed(self) -> float:
        if self.started_at is None:
            return 0.0
        end = self.stopped_at if self.stopped_at is not None else self.clock()
        return end - self.started_at

    @property
    def text(self) -> str:
        if self.started_at is None:
            return f"⏱ {_clock(self.allowed_seconds)} for this question; press Start when ready"
        left = self.allowed_seconds - self.elapsed
        state = "" if self.stopped_at is None else " (stopped)"
        if left >= 0:
            return f"⏱ {_clock(left)} left{state}"
        return f"⏱ time is up: over by {_clock(-left)}{state}"

    def start(self) -> None:
        if self.started_at is None:
            self.started_at = self.clock()
            self.ticker.playing = True
        self.refresh()

    def stop(self) -> None:
        if self.started_at is not None and self.stopped_at is None:
            self.stopped_at = self.clock()
        self.ticker.playing = False
        self.refresh()

    def refresh(self) -> None:
        self.label.value = f"<b>{html.escape(self.text)}</b>"


class QuestionView:
    """One question on screen: prompt, controls, Submit (and Hint), feedback.

    Drive it from code as a learner would: ``view.select(...)`` then ``view.submit()`` (the Submit
    button calls the same method), then read ``view.feedback_text`` and ``view.outcome``.
    """

    def __init__(self, question: Question, *, number: int, seed: int | None,
                 on_answer: Callable[[QuestionView, Any, Outcome], None],
                 timer: QuestionTimer | None = None) -> None:
        self.question = question
        self.arrangement = arrange(question, seed=seed)
        self.outcome: Outcome | None = None
        self.timer = timer
        self._on_answer = on_answer
        self._lines: list[str] = []
        self.feedback = widgets.HTML()
        self.submit_button = widgets.Button(description="Submit", button_style="primary", icon="check")
        self.submit_button.on_click(lambda _button: self.submit())
        buttons: list[widgets.Widget] = [self.submit_button]
        if question.hint:
            self.hint_button = widgets.Button(description="Hint", icon="lightbulb-o")
            self.hint_button.on_click(lambda _button: self.show_hint())
            buttons.append(self.hint_button)
        self.control = self._build_control()
        header = widgets.HTML(f"<b>{number}.</b> <small>{TYPE_LABELS[question.type]} · {question.difficulty}"
                              f" · {html.escape(question.topic)}</small>")
        self.body = widgets.VBox([widgets.HTML(_html(question.prompt)), self.control, widgets.HBox(buttons)])
        parts: list[widgets.Widget] = [header]
        if timer is not None:
            self.start_button = widgets.Button(description="Start", button_style="info", icon="play")
            self.start_button.on_click(lambda _button: self.start())
            self.body.layout.display = "none"
            parts += [widgets.HBox([self.start_button, timer.label]), timer.ticker]
        self.widget = widgets.VBox([*parts, self.body, self.feedback],
                                   layout=widgets.Layout(border="1px solid #ddd", padding="8px", margin="6px 0"))

    # ---- what subclasses provide ----------------------------------------------------------------
    def _build_control(self) -> widgets.Widget:
        raise NotImplementedError

    def select(self, value: Any) -> None:
        """Set the controls to an answer (the shapes of :mod:`ecsdojo.quiz.scoring`)."""
        raise NotImplementedError

    @property
    def answer(self) -> Any:
        """The answer the controls hold now, or None when nothing is chosen yet."""
        raise NotImplementedError

    _missing_message = "Choose an answer first."

    # ---- behaviour ------------------------------------------------------------------------------
    def start(self) -> None:
        """Start a timed question: show the prompt and start the clock."""
        if self.timer is not None:
            self.body.layout.display = None
            self.start_button.disabled = True
            self.timer.start()

    def show_hint(self) -> None:
        self._set_feedback([f"Hint: {self.question.hint}"], tone="info")

    def submit(self) -> Outcome | None:
        """Score the current answer, show feedback, save it. Returns None (and says why) when nothing
        is chosen yet."""
        if self.timer is not None and self.timer.started_at is None:
            self.start()
        answer = self.answer
        if answer is None:
            self._set_feedback([self._missing_message], tone="info")
            return None
        if self.timer is not None:
            self.timer.stop()
        outcome = score_answer(self.question, answer)
        self._finish(answer, outcome)
        return outcome

    def _finish(self, answer: Any, outcome: Outcome) -> None:
        self.outcome = outcome
        self._on_answer(self, answer, outcome)
        lines = outcome.feedback_lines()
        if self.timer is not None and self.question.type != "interview":
            lines.append(f"Time: {_clock(self.timer.elapsed)} of {_clock(self.timer.allowed_seconds)}.")
        self._set_feedback(lines, tone="good" if outcome.correct else "bad")

    def restore(self, saved: QuizAnswer) -> bool:
        """Show a saved answer again, with its feedback (not saved a second time). False when the
        saved answer no longer fits the question (the bank changed)."""
        try:
            self.select(saved.answer)
            outcome = score_answer(self.question, saved.answer)
        except (AnswerInvalid, TraitError, ValueError, KeyError, TypeError):
            return False
        self.outcome = outcome
        when = datetime.datetime.fromtimestamp(saved.at).strftime("%Y-%m-%d %H:%M")
        self._set_feedback([f"Your saved answer from {when} (change it and submit to try again).",
                            *outcome.feedback_lines()], tone="good" if outcome.correct else "bad")
        return True

    @property
    def feedback_text(self) -> str:
        """The feedback shown under the question, as plain text."""
        return "\n".join(self._lines)

    def _set_feedback(self, lines: Sequence[str], *, tone: str) -> None:
        self._lines = list(lines)
        colour = {"good": "#1b7f3b", "bad": "#b3261e", "info": "#555"}[tone]
        if not lines:
            self.feedback.value = ""
            return
        first, rest = lines[0], lines[1:]
        body = "".join(f"<div>{_html(line)}</div>" for line in rest)
        self.feedback.value = f"<div style='color:{colour}'><b>{_html(first)}</b></div>{body}"


class SingleView(QuestionView):
    def _build_control(self) -> widgets.Widget:
        self.choice = widgets.RadioButtons(options=[o.text for o in self.arrangement.options], value=None,
                                           layout=widgets.Layout(width="auto"))
        return self.choice

    def select(self, value: str) -> None:
        self.choice.value = value

    @property
    def answer(self) -> str | None:
        return self.choice.value


class MultipleView(QuestionView):
    _missing_message = "Tick at least one option first."

    def _build_control(self) -> widgets.Widget:
        self.boxes = {o.text: widgets.Checkbox(value=False, indent=False, layout=widgets.Layout(width="30px"))
                      for o in self.arrangement.options}
        return widgets.VBox([widgets.HBox([box, widgets.HTML(_html(text))]) for text, box in self.boxes.items()])

    def select(self, value: Iterable[str]) -> None:
        chosen = set(value)
        unknown = chosen - set(self.boxes)
        if unknown:
            raise ValueError(f"not options of {self.question.id}: {sorted(unknown)}")
        for text, box in self.boxes.items():
            box.value = text in chosen

    @property
    def answer(self) -> list[str] | None:
        chosen = [o.text for o in self.question.options if self.boxes[o.text].value]    # in bank order
        return chosen or None


class TrueFalseView(QuestionView):
    def _build_control(self) -> widgets.Widget:
        self.choice = widgets.ToggleButtons(options=[("True", True), ("False", False)], value=None)
        return self.choice

    def select(self, value: bool) -> None:
        self.choice.value = bool(value)

    @property
    def answer(self) -> bool | None:
        return self.choice.value


class OrderingView(QuestionView):
    """Items with ↑ / ↓ buttons; the order on screen is the answer."""

    def _build_control(self) -> widgets.Widget:
        self.order = list(self.arrangement.items)
        self.rows = widgets.VBox()
        self._render()
        return self.rows

    def move(self, index: int, step: int) -> None:
        """Move the item at ``index`` up (-1) or down (+1)."""
        target = index + step
        if 0 <= target < len(self.order):
            self.order[index], self.order[target] = self.order[target], self.order[index]
            self._render()

    def _render(self) -> None:
        rows = []
        for i, item in enumerate(self.order):
            up = widgets.Button(icon="arrow-up", tooltip="move up", layout=widgets.Layout(width="36px"),
                                disabled=i == 0)
            down = widgets.Button(icon="arrow-down", tooltip="move down", layout=widgets.Layout(width="36px"),
                                  disabled=i == len(self.order) - 1)
            up.on_click(lambda _b, i=i: self.move(i, -1))
            down.on_click(lambda _b, i=i: self.move(i, +1))
            rows.append(widgets.HBox([up, down, widgets.HTML(f"<b>{i + 1}.</b> {_html(item)}")]))
        self.rows.children = rows

    def select(self, value: Sequence[str]) -> None:
        if sorted(value) != sorted(self.order):
            raise ValueError(f"not the items of {self.question.id}: {list(value)}")
        self.order = list(value)
        self._render()

    @property
    def answer(self) -> list[str]:
        return list(self.order)


class MatchingView(QuestionView):
    _missing_message = "Match every item first."

    def _build_control(self) -> widgets.Widget:
        options = [("choose…", None)] + [(right, right) for right in self.arrangement.rights]
        self.dropdowns = {left: widgets.Dropdown(options=options, value=None, layout=widgets.Layout(width="auto"))
                          for left in self.arrangement.lefts}
        return widgets.VBox([widgets.HBox([widgets.HTML(_html(left), layout=widgets.Layout(width="40%")), menu])
                             for left, menu in self.dropdowns.items()])

    def select(self, value: dict[str, str]) -> None:
        for left, menu in self.dropdowns.items():
            menu.value = value.get(left)

    @property
    def answer(self) -> dict[str, str] | None:
        chosen = {left: menu.value for left, menu in self.dropdowns.items()}
        return chosen if all(v is not None for v in chosen.values()) else None


class NumericView(QuestionView):
    def _build_control(self) -> widgets.Widget:
        self.number = widgets.FloatText(value=0.0, layout=widgets.Layout(width="160px"))
        return widgets.HBox([self.number, widgets.Label(self.question.unit or "")])

    def select(self, value: float) -> None:
        self.number.value = float(value)

    @property
    def answer(self) -> float:
        return self.number.value


class ShortView(QuestionView):
    _missing_message = "Write an answer first."

    def _build_control(self) -> widgets.Widget:
        self.text = widgets.Textarea(placeholder="Your answer", rows=3, layout=widgets.Layout(width="95%"))
        return self.text

    def select(self, value: str) -> None:
        self.text.value = value

    @property
    def answer(self) -> str | None:
        return self.text.value.strip() or None


class InterviewView(QuestionView):
    """Write an answer; Submit reveals the model answer and the rubric; tick the points you made,
    rate yourself 0–5 and Save rating (``rate(...)`` from code). The rating is what gets scored."""

    _missing_message = "Write an answer first."

    def _build_control(self) -> widgets.Widget:
        self.text = widgets.Textarea(placeholder="Answer as you would in an interview", rows=6,
                                     layout=widgets.Layout(width="95%"))
        self.rubric_boxes = [widgets.Checkbox(value=False, indent=False, layout=widgets.Layout(width="30px"))
                             for _ in self.question.rubric]
        self.rating = widgets.ToggleButtons(options=list(range(6)), value=None, tooltips=list(RATING_GUIDE),
                                            style={"button_width": "36px"})
        self.save_button = widgets.Button(description="Save rating", button_style="success", icon="save")
        self.save_button.on_click(lambda _button: self.save_rating())
        self.model = widgets.HTML(f"<b>Model answer.</b> {_html(self.question.model_answer or '')}")
        self.assessment = widgets.VBox(
            [self.model, widgets.HTML("<b>Which points did your answer make?</b>"),
             *[widgets.HBox([box, widgets.HTML(_html(point))]) for box, point in zip(self.rubric_boxes,
                                                                                       self.question.rubric)],
             widgets.HTML("<b>Rate your answer</b> (0 = nothing useful … 5 = as good as the model answer)"),
             self.rating, self.save_button],
            layout=widgets.Layout(display="none"))
        self._seconds: float | None = None
        return widgets.VBox([self.text, self.assessment])

    @property
    def revealed(self) -> bool:
        return self.assessment.layout.display != "none"

    def select(self, value: str | dict) -> None:
        if isinstance(value, dict):
            self.text.value = value.get("text", "")
            self.reveal()
            ticks = list(value.get("rubric") or [])
            for i, box in enumerate(self.rubric_boxes):
                box.value = bool(ticks[i]) if i < len(ticks) else False
            self.rating.value = value.get("rating")
        else:
            self.text.value = value

    @property
    def answer(self) -> dict | None:
        text = self.text.value.strip()
        if not text:
            return None
        seconds = self._seconds
        return {"text": text, "rubric": [box.value for box in self.rubric_boxes], "rating": self.rating.value,
                "seconds": None if seconds is None else round(seconds, 1),
                "allowed_seconds": self.timer.allowed_seconds if self.timer is not None else None}

    def reveal(self) -> None:
        self.assessment.layout.display = None

    def submit(self) -> Outcome | None:
        """Reveal the model answer and the rubric (nothing is scored until :meth:`rate`)."""
        if self.timer is not None and self.timer.started_at is None:
            self.start()
        if self.answer is None:
            self._set_feedback([self._missing_message], tone="info")
            return None
        if self.timer is not None:
            self.timer.stop()
            self._seconds = self.timer.elapsed
        self.text.disabled = True
        self.reveal()
        self._set_feedback(["Compare with the model answer, tick the rubric points you made, rate yourself "
                            "and Save rating."], tone="info")
        return None

    def rate(self, *, rubric: Sequence[bool] | None = None, rating: int | None = None) -> Outcome | None:
        """Tick rubric points and choose a rating (as a learner would), then save."""
        if rubric is not None:
            for box, tick in zip(self.rubric_boxes, rubric):
                box.value = bool(tick)
        if rating is not None:
            self.rating.value = rating
        return self.save_rating()

    def save_rating(self) -> Outcome | None:
        if not self.revealed:
            self.submit()
            if not self.revealed:
                return None
        answer = self.answer
        if answer is None or answer["rating"] is None:
            self._set_feedback(["Choose a rating from 0 to 5 first."], tone="info")
            return None
        outcome = score_answer(self.question, answer)
        self._finish(answer, outcome)
        return outcome


VIEW_TYPES: dict[str, type[QuestionView]] = {
    "single": SingleView, "multiple": MultipleView, "true_false": TrueFalseView, "ordering": OrderingView,
    "matching": MatchingView, "numeric": NumericView, "short": ShortView, "interview": InterviewView,
}


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
            view = VIEW_TYPES[question.type](question, number=number, seed=seed, on_answer=self._record, timer=timer)
            if prefill:
                saved = store.latest_answer(question.bank, question.id)
                if saved is not None:
                    view.restore(saved)
            self.views.append(view)
        self.score_label = widgets.HTML()
        parts: list[widgets.Widget] = [widgets.HTML(f"<h3>{html.escape(title)}</h3>")]
        if note:
            parts.append(widgets.HTML(f"<p>{_html(note)}</p>"))
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
