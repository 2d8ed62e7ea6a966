"""The ``interview`` question type: an open interview question, self-rated against a rubric.

The answer is ``{"text": ..., "rubric": [bool per point], "rating": 0..5, "seconds": time taken or null,
"allowed_seconds": time allowed or null}``; the score is the learner's own rating / 5.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ecsdojo.quiz.model import Arrangement, FieldReader, Question
from ecsdojo.quiz.outcome import AnswerInvalid, Outcome
from ecsdojo.quiz.outcome import clock as _clock
from ecsdojo.quiz.terminal import SKIP, Terminal, numbers
from ecsdojo.quiz.types.base import QuestionType
from ecsdojo.quiz.view import QuestionView, as_html, widgets

INTERVIEW_PASS_RATING = 3      # a self-rating of 3 or more counts as a correct interview answer
RATING_GUIDE = ("0 = nothing useful", "1 = wrong, the model answer was news", "2 = wrong, but close",
                "3 = the main points, with effort", "4 = good, small gaps", "5 = as good as the model answer")


# ---- schema -------------------------------------------------------------------------------------

def read(r: FieldReader, raw: dict) -> dict:
    minutes = None
    if "minutes" in raw:
        minutes = r.number(raw["minutes"], ("minutes",))
        if minutes is not None and minutes <= 0:
            r.error(("minutes",), f"must be more than 0, not {minutes:g}")
    return {"model_answer": r.text(raw.get("model_answer"), ("model_answer",)),
            "rubric": r.text_list(raw.get("rubric"), ("rubric",), minimum=1, unique=True) or (),
            "minutes": minutes}


# ---- scoring ------------------------------------------------------------------------------------

def score(q: Question, answer: Any) -> Outcome:
    if not isinstance(answer, dict) or not isinstance(answer.get("text", ""), str):
        raise AnswerInvalid(q, answer, '{"text": ..., "rubric": [bool, ...], "rating": 0..5}')
    rating = answer.get("rating")
    if isinstance(rating, bool) or not isinstance(rating, int) or not 0 <= rating <= 5:
        raise AnswerInvalid(q, answer, "a self-rating from 0 to 5 under 'rating'")
    ticks = list(answer.get("rubric") or [])
    ticks = [bool(t) for t in ticks[:len(q.rubric)]] + [False] * (len(q.rubric) - len(ticks))
    details = [f"{'✓' if tick else '✗'} {point}" for point, tick in zip(q.rubric, ticks)]
    seconds = answer.get("seconds")
    allowed = answer.get("allowed_seconds") or (q.minutes * 60 if q.minutes else None)
    if isinstance(seconds, (int, float)) and isinstance(allowed, (int, float)):
        timing = f"Time: {_clock(seconds)} of {_clock(allowed)}"
        details.append(timing + (f" (over by {_clock(seconds - allowed)})." if seconds > allowed else "."))
    correct = rating >= INTERVIEW_PASS_RATING
    summary = f"You rated your answer {rating}/5 and made {sum(ticks)} of {len(q.rubric)} rubric points."
    return Outcome(correct, rating / 5, summary, tuple(details), q.explanation, q.model_answer,
                   partial=sum(ticks) / len(q.rubric), rating=rating)


# ---- widget -------------------------------------------------------------------------------------

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
        self.model = widgets.HTML(f"<b>Model answer.</b> {as_html(self.question.model_answer or '')}")
        self.assessment = widgets.VBox(
            [self.model, widgets.HTML("<b>Which points did your answer make?</b>"),
             *[widgets.HBox([box, widgets.HTML(as_html(point))]) for box, point in zip(self.rubric_boxes,
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
        outcome = self.kind.score(self.question, answer)
        self._finish(answer, outcome)
        return outcome


# ---- terminal -----------------------------------------------------------------------------------

def ask(question: Question, term: Terminal, layout: Arrangement) -> Any:
    return term.read_paragraph("Your answer (end with an empty line):", question)


def rate(question: Question, term: Terminal, *, text: str, seconds: float | None = None,
         allowed_seconds: float | None = None) -> Any:
    """Show the model answer and rubric of an interview question; read the rubric ticks and a 0..5 rating."""
    term.say(f"Model answer: {question.model_answer}")
    term.say("Rubric:")
    for i, point in enumerate(question.rubric, 1):
        term.say(f"{i}) {point}", indent="  ")

    def ticks(line: str) -> list[int] | None:
        if line.casefold() in ("", "none", "0"):
            return []
        if line.casefold() == "all":
            return list(range(1, len(question.rubric) + 1))
        return numbers(line, len(question.rubric))
    made = term.ask("Which points did your answer make? (e.g. 1 3, all, none): ", question, ticks,
                    usage=f"numbers from 1 to {len(question.rubric)}, all or none")
    made = [] if made is SKIP else made
    term.say("Rate your answer: " + "; ".join(RATING_GUIDE))
    rating = term.ask("Rating (0-5): ", question,
                      lambda line: int(line) if line.isdigit() and 0 <= int(line) <= 5 else None,
                      usage="a whole number from 0 to 5")
    if rating is SKIP:
        return SKIP
    return {"text": text, "rubric": [i in made for i in range(1, len(question.rubric) + 1)], "rating": rating,
            "seconds": seconds, "allowed_seconds": allowed_seconds}


class Interview(QuestionType):
    name = "interview"
    label = "interview question"
    fields = ("model_answer", "rubric", "minutes")
    view = InterviewView
    self_rated = True
    interview_minutes = 5.0
    read = staticmethod(read)
    score = staticmethod(score)
    ask = staticmethod(ask)
    rate = staticmethod(rate)


TYPE = Interview()
