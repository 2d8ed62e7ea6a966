"""The question types: one module each behind one registry (ecsdojo.quiz.types).

The registry tests check it is the single source: the bank schema, the docs, the real banks and the
modules agree with it, no other quiz module names a type, and a type added to the registry alone is
validated, scored, shown and asked. The per-type tests check each unit's schema, scoring and terminal.
"""

from __future__ import annotations

import ast
import io
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import ecsdojo.quiz.types as types_package
from ecsdojo.progress_store import ProgressStore
from ecsdojo.quiz import bank as bank_module
from ecsdojo.quiz.bank import arrange, default_banks_dir, load_bank, load_banks
from ecsdojo.quiz.drill import SKIP, Terminal, allowed_minutes, ask_answer, interview_questions
from ecsdojo.quiz.outcome import AnswerInvalid, Outcome
from ecsdojo.quiz.scoring import score_answer
from ecsdojo.quiz.types import QUESTION_TYPES, REGISTRY, QuestionType, UnknownQuestionType, question_type
from ecsdojo.quiz.types.short import ShortView
from ecsdojo.quiz.view import QuestionView
from ecsdojo.quiz.widgets import Quiz

from .conftest import _TYPE_FIELDS, raw_question, write_bank

QUIZ_SOURCES = Path(bank_module.__file__).resolve().parent
README = default_banks_dir() / "README.md"


# ---- the registry is the single source ------------------------------------------------------------

def test_does_every_type_module_register_once_and_every_registered_type_have_a_module():
    modules = {m.name for m in pkgutil.iter_modules(types_package.__path__)} - {"base"}
    assert modules == set(REGISTRY)
    assert QUESTION_TYPES == tuple(REGISTRY)
    for name, kind in REGISTRY.items():
        assert isinstance(kind, QuestionType) and kind.name == name
        assert type(kind).__module__ == f"ecsdojo.quiz.types.{name}"
        assert issubclass(kind.view, QuestionView)


def test_do_the_bank_schema_and_the_registry_name_the_same_types_and_fields():
    assert bank_module.QUESTION_TYPES == QUESTION_TYPES
    assert bank_module.TYPE_FIELDS == {name: kind.fields for name, kind in REGISTRY.items()}
    assert set(_TYPE_FIELDS) == set(REGISTRY)          # the test factory covers every type


def test_does_the_schema_doc_list_exactly_the_registered_types_with_their_fields():
    text = README.read_text(encoding="utf-8")
    table = dict(re.findall(r"^\| `(\w+)` \| (.*) \|$", text, re.M))
    assert list(table) == list(REGISTRY)
    for name, kind in REGISTRY.items():
        for field_name in kind.fields:
            assert f"`{field_name}`" in table[name], (name, field_name)
    listed = re.search(r"type: \w+ +# (.*)$", text, re.M).group(1)
    assert [t.strip() for t in listed.split("|")] == list(REGISTRY)


def test_does_every_course_bank_use_registered_types_and_every_type_appear_in_a_bank():
    banks = load_banks()
    assert not banks.issues, [str(i) for i in banks.issues]
    used = {q.type for b in banks.banks for q in b.questions}
    assert used == set(REGISTRY)


def test_does_no_quiz_module_outside_types_name_a_question_type():
    """A literal "single" or "interview" outside quiz/types/ would be a second registry."""
    for path in QUIZ_SOURCES.glob("*.py"):
        literals = [node.value for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                    if isinstance(node, ast.Constant) and node.value in REGISTRY]
        assert literals == [], f"{path.name} names question types {literals}"


def test_does_an_unknown_type_name_a_clear_error():
    with pytest.raises(UnknownQuestionType, match="'essay'.*known: single, multiple"):
        question_type("essay")


class _Echo(QuestionType):
    """A made-up type, registered only in the registry, to show nothing else needs a change."""
    name = "echo"
    label = "say it back"
    fields = ("model_answer",)
    view = ShortView
    interview_minutes = 1.5

    def read(self, r, raw):
        return {"model_answer": r.text(raw.get("model_answer"), ("model_answer",))}

    def score(self, question, answer):
        if not isinstance(answer, str):
            raise AnswerInvalid(question, answer, "text")
        correct = answer == question.model_answer
        return Outcome(correct, float(correct), "Correct." if correct else "Not quite.")

    def ask(self, question, term, layout):
        return term.ask("Say it back: ", question, lambda line: line or None, usage="some text")


def test_is_a_type_added_to_the_registry_alone_validated_scored_shown_and_asked(tmp_path, monkeypatch):
    monkeypatch.setitem(REGISTRY, "echo", _Echo())
    raw = raw_question("short", id="q-echo", type="echo", keywords=None, min_keywords=None, model_answer="awsvpc")
    path = write_bank(tmp_path / "banks", "echo", [raw, {**raw, "id": "q-echo-bad", "options": []}])
    bank = load_bank(path)
    assert [q.id for q in bank.questions] == ["q-echo"]
    assert [(i.question_id, i.field) for i in bank.issues] == [("q-echo-bad", "options")]
    assert "is not used by type echo (it belongs to single, multiple)" in str(bank.issues[0])
    question = bank.questions[0]
    assert score_answer(question, "awsvpc").correct and not score_answer(question, "bridge").correct
    term = Terminal(io.StringIO("awsvpc\n"), io.StringIO())
    assert ask_answer(question, term) == "awsvpc"
    store = ProgressStore(tmp_path / "progress.sqlite")
    try:
        shown = Quiz([question], title="echo", store=store)
        view = shown.views[0]
        assert isinstance(view, ShortView) and view.kind.name == "echo"
        view.select("awsvpc")
        assert view.submit().correct and shown.score.points == 1
        assert allowed_minutes(question, None) == 1.5
        assert [q.id for q in interview_questions(load_banks(path.parent), store, n=5)] == ["q-echo"]
    finally:
        store.close()


# ---- each type: schema, scoring, terminal ---------------------------------------------------------

def _terminal_single(q, layout):
    return f"{[o.text for o in layout.options].index('right') + 1}\n"


def _terminal_multiple(q, layout):
    texts = [o.text for o in layout.options]
    return f"{texts.index('b') + 1} {texts.index('a') + 1}\n"


def _terminal_ordering(q, layout):
    return " ".join(str(layout.items.index(item) + 1) for item in q.items) + "\n"


def _terminal_matching(q, layout):
    right_of = {p.left: p.right for p in q.pairs}
    return " ".join("abc"[layout.rights.index(right_of[left])] for left in layout.lefts) + "\n"


# type: (a right answer, a wrong answer, an answer of the wrong shape, terminal input giving the right
#        answer, a schema override that breaks the type's own fields, the issue it must report)
CASES = {
    "single": ("right", "wrong", "nope", _terminal_single,
               {"options": [{"text": "x", "correct": True}, {"text": "y", "correct": True}]},
               "options: exactly one option must be correct, found 2"),
    "multiple": (["a", "b"], ["a"], "a", _terminal_multiple,
                 {"options": [{"text": "x", "correct": False}, {"text": "y", "correct": False}]},
                 "options: at least one option must be correct, found none"),
    "true_false": (True, False, "yes", lambda q, layout: "t\n", {"answer": "maybe"},
                   "answer: must be true or false, not text"),
    "ordering": (["first", "second", "third"], ["third", "second", "first"], ["first"], _terminal_ordering,
                 {"items": ["only one"]}, "items: needs at least 2 entries, has 1"),
    "matching": ({"task": "pod", "service": "deployment", "cluster": "cluster"},
                 {"task": "deployment", "service": "pod", "cluster": "cluster"}, {"task": "pod"},
                 _terminal_matching,
                 {"pairs": [{"left": "a", "right": "b"}, {"left": "a", "right": "c"}]}, "pairs[1]: repeats 'a'"),
    "numeric": (31, 40, "thirty", lambda q, layout: "31 seconds\n", {"tolerance": -1},
                "tolerance: must be 0 or more, not -1"),
    "short": ("The task role and the execution role.", "Only secrets.", 3,
              lambda q, layout: "task role plus execution role\n", {"min_keywords": 5},
              "min_keywords: must be between 1 and the number of keywords (3), not 5"),
    "interview": ({"text": "mine", "rubric": [True, True], "rating": 4},
                  {"text": "mine", "rubric": [False, False], "rating": 1},
                  {"text": "mine", "rating": 9}, lambda q, layout: "my answer\n\nall\n4\n", {"minutes": 0},
                  "minutes: must be more than 0, not 0"),
}


def test_does_every_type_have_a_case_here():
    assert set(CASES) == set(REGISTRY)


@pytest.mark.parametrize("name", list(CASES))
def test_does_the_schema_accept_a_valid_question_and_name_a_broken_field(name, tmp_path):
    *_, override, message = CASES[name]
    path = write_bank(tmp_path, "t", [raw_question(name), raw_question(name, id="q-broken", **override)])
    bank = load_bank(path)
    assert [q.id for q in bank.questions] == [raw_question(name)["id"]]
    assert bank.questions[0].type == name
    assert any(issue.question_id == "q-broken" and message in str(issue) for issue in bank.issues), \
        [str(i) for i in bank.issues]


@pytest.mark.parametrize("name", list(CASES))
def test_does_the_type_score_right_wrong_and_refuse_a_wrong_shape(name, make_question):
    kind = question_type(name)
    right, wrong, invalid, *_ = CASES[name]
    question = make_question(name)
    good = kind.score(question, right)
    assert good.correct and good.score > 0.5
    bad = kind.score(question, wrong)
    assert not bad.correct and bad.score < good.score
    with pytest.raises(AnswerInvalid, match=question.id):
        kind.score(question, invalid)
    assert score_answer(question, right) == good          # the public entry goes through the registry


@pytest.mark.parametrize("name", list(CASES))
def test_does_the_terminal_read_an_answer_that_scores(name, make_question):
    kind = question_type(name)
    question = make_question(name)
    layout = arrange(question, seed=3)
    typed = CASES[name][3](question, layout)
    out = io.StringIO()
    term = Terminal(io.StringIO(typed), out)
    answer = kind.ask(question, term, layout)
    assert answer is not SKIP
    if kind.self_rated:
        answer = kind.rate(question, term, text=answer, seconds=None, allowed_seconds=None)
        assert answer == {"text": "my answer", "rubric": [True, True], "rating": 4, "seconds": None,
                          "allowed_seconds": None}
    assert kind.score(question, answer).correct, (typed, answer, out.getvalue())
    assert kind.ask(question, Terminal(io.StringIO("skip\n"), io.StringIO()), layout) is SKIP


def test_does_the_terminal_load_every_type_without_importing_ipywidgets():
    """Each type's module defines its widget, yet `dojo quiz` (and every `dojo` command, which loads the quiz
    commands) must not pay for importing ipywidgets: view.widgets imports it on first use."""
    code = ("import sys, io; from ecsdojo.quiz import cli, drill; from ecsdojo.quiz.types import REGISTRY; "
            "from ecsdojo.quiz.bank import load_banks; load_banks(); "
            "assert REGISTRY and 'ipywidgets' not in sys.modules, sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)
