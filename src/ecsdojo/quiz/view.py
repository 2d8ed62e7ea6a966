"""The notebook side every question type shares: the question frame (prompt, Submit, Hint, feedback,
an optional countdown) that each type's widget (``ecsdojo.quiz.types.<type>``) fills with its controls.
"""

from __future__ import annotations

import datetime
import html
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from ecsdojo.progress_store import QuizAnswer
from ecsdojo.quiz.model import Question, arrange
from ecsdojo.quiz.outcome import AnswerInvalid, Outcome
from ecsdojo.quiz.outcome import clock as _clock


class _LazyWidgets:
    """``ipywidgets``, imported on first use. Every question type's module defines its widget, and the
    terminal (``dojo quiz``, ``dojo drill``, and so every ``dojo`` command, which loads the quiz commands)
    loads those modules without ever showing a widget: importing ipywidgets up front cost it ~0.3 s."""

    def __getattr__(self, name: str) -> Any:
        import ipywidgets
        return getattr(ipywidgets, name)


widgets: Any = _LazyWidgets()

def as_html(text: str) -> str:
    """Escape text for an HTML widget; `code` spans and line breaks are kept."""
    escaped = html.escape(text)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    return escaped.replace("\n", "<br>")


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
    ``kind`` is the question's type (``ecsdojo.quiz.types``): its label and scoring.
    """

    def __init__(self, question: Question, *, kind: Any, number: int, seed: int | None,
                 on_answer: Callable[[QuestionView, Any, Outcome], None],
                 timer: QuestionTimer | None = None) -> None:
        self.question = question
        self.kind = kind
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
        header = widgets.HTML(f"<b>{number}.</b> <small>{kind.label} · {question.difficulty}"
                              f" · {html.escape(question.topic)}</small>")
        self.body = widgets.VBox([widgets.HTML(as_html(question.prompt)), self.control, widgets.HBox(buttons)])
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
        outcome = self.kind.score(self.question, answer)
        self._finish(answer, outcome)
        return outcome

    def _finish(self, answer: Any, outcome: Outcome) -> None:
        self.outcome = outcome
        self._on_answer(self, answer, outcome)
        lines = outcome.feedback_lines()
        if self.timer is not None and not self.kind.self_rated:
            lines.append(f"Time: {_clock(self.timer.elapsed)} of {_clock(self.timer.allowed_seconds)}.")
        self._set_feedback(lines, tone="good" if outcome.correct else "bad")

    def restore(self, saved: QuizAnswer) -> bool:
        """Show a saved answer again, with its feedback (not saved a second time). False when the
        saved answer no longer fits the question (the bank changed)."""
        from traitlets import TraitError        # loaded with ipywidgets, which shows this view

        try:
            self.select(saved.answer)
            outcome = self.kind.score(self.question, saved.answer)
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
        body = "".join(f"<div>{as_html(line)}</div>" for line in rest)
        self.feedback.value = f"<div style='color:{colour}'><b>{as_html(first)}</b></div>{body}"
