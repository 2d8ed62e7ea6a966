"""Loading and validating question banks."""

from __future__ import annotations

import pytest
import yaml

from ecsdojo.quiz.bank import (BankNotFound, arrange, default_banks_dir, find_bank, is_official_doc, load_bank,
                               load_banks, matching_questions)

from .conftest import BAD_BANKS, GOOD_BANKS, raw_question


def issues_of(path):
    return {(i.question_id, i.field): i for i in load_bank(path).issues}


def test_does_the_good_fixture_load_every_type_without_issues():
    banks = load_banks(GOOD_BANKS)
    assert banks.issues == ()
    assert [b.name for b in banks.banks] == ["basics", "interviews"]
    types = {q.type for b in banks.banks for q in b.questions}
    assert types == {"single", "multiple", "true_false", "ordering", "matching", "numeric", "short", "interview"}
    single = banks.by_id()["fx-single"]
    assert single.bank == "basics" and single.line == 3
    assert single.hint == "Think managed service."


def test_are_unquoted_yes_no_and_numbers_kept_as_written_in_text_fields():
    single = find_bank("basics", GOOD_BANKS).questions[0]
    assert [o.text for o in single.options] == ["AWS", "You", "No"]       # `text: No` is not False


def test_does_a_short_keyword_given_as_a_string_count_as_one_concept():
    short = find_bank("interviews", GOOD_BANKS).questions[0]
    assert short.keywords == (("task role", "taskRoleArn"), ("execution role", "executionRoleArn"), ("secrets",))
    assert short.min_keywords == 2


@pytest.mark.parametrize("qid, field, line, words", [
    ("bad-two-correct", "options", 10, "exactly one option must be correct, found 2"),
    ("bad-difficulty", "difficulty", 16, "'trivial' is not one of easy, medium, hard"),
    ("bad-sources", "sources", 27, "needs at least one official documentation URL"),
    ("bad-sources", "sources[1]", 29, "'not a url' is not a web address"),
    ("Bad_ID", "id", 31, "must be lowercase letters, digits and dashes"),
    ("Bad_ID", "items", 38, "needs at least 2 entries, has 1"),
    ("bad-missing-prompt", "prompt", 39, "missing"),
    ("bad-missing-prompt", "options", 48, "is not used by type matching"),
    ("bad-missing-prompt", "pairs[1]", 47, "repeats 'b'"),
    ("bad-type", "type", 58, "'essay' is not one of"),
    ("bad-short", "min_keywords", 72, "between 1 and the number of keywords (2), not 3"),
    ("bad-short", "model_answer", 64, "missing"),
    ("bad-interview", "rubric", 81, "needs at least 1 entry"),
    ("bad-interview", "minutes", 82, "must be more than 0"),
    ("bad-multiple", "options[1].correct", 92, "must be true or false, not text"),
    ("good-one", "id", 93, "is used twice in this bank (first at line 49)"),
])
def test_does_each_error_name_the_file_question_field_and_line(qid, field, line, words):
    issue = issues_of(BAD_BANKS / "broken.yaml")[(qid, field)]
    assert issue.line == line
    assert words in issue.message
    assert str(issue).startswith(f"broken.yaml:{line}: [{qid}] {field}: ")


def test_are_bad_questions_left_out_and_good_ones_kept():
    bank = load_bank(BAD_BANKS / "broken.yaml")
    assert [q.id for q in bank.questions] == ["good-one"]


def test_is_a_yaml_syntax_error_reported_with_its_line_without_stopping_other_banks():
    banks = load_banks(BAD_BANKS)
    broken_yaml = [i for i in banks.issues if i.file.name == "not-yaml.yaml"]
    assert len(broken_yaml) == 1
    assert "not valid YAML" in broken_yaml[0].message and "line 4" in broken_yaml[0].message
    assert banks.bank("broken").questions            # the other bank still loaded


def test_are_ids_repeated_across_banks_reported_and_the_later_one_left_out(bank_writer):
    bank_writer("a-first", [raw_question("single", id="shared-id")])
    bank_writer("b-second", [raw_question("true_false", id="shared-id"), raw_question("numeric")])
    banks = load_banks(bank_writer.directory)
    [issue] = banks.issues
    assert issue.file.name == "b-second.yaml" and issue.question_id == "shared-id" and issue.field == "id"
    assert "already used in a-first.yaml:3" in issue.message
    assert [q.id for q in banks.bank("b-second").questions] == ["q-numeric"]
    assert banks.by_id()["shared-id"].type == "single"


def test_are_unknown_and_repeated_fields_reported(bank_writer):
    path = bank_writer("typos", [raw_question("single", explaination="typo")])
    path.write_text(path.read_text() + "  topic: again\n")
    found = issues_of(path)
    assert "is not a field of the schema" in found[("q-single", "explaination")].message
    assert "appears more than once" in found[("q-single", "topic")].message


def test_are_bank_level_problems_reported(bank_writer):
    path = bank_writer("no-title", [raw_question("numeric", tolerance=-1)])
    path.write_text(path.read_text().replace("title: A test bank\n", "titel: A test bank\n"))
    found = issues_of(path)
    assert (None, "title") in found and (None, "titel") in found
    assert "must be 0 or more" in found[("q-numeric", "tolerance")].message


def test_does_the_validator_catch_type_rules(bank_writer):
    path = bank_writer("rules", [
        raw_question("multiple", id="m", options=[{"text": "a", "correct": False}, {"text": "b", "correct": False}]),
        raw_question("true_false", id="t", answer="yes"),
        raw_question("numeric", id="n", answer="thirty"),
        raw_question("matching", id="p", pairs=[{"left": "x", "right": "y"}, {"left": "x", "right": "z"}]),
        raw_question("single", id="s", options=[{"text": "a", "correct": True}, {"text": "a", "correct": False}]),
        raw_question("interview", id="i", rubric=None),
        raw_question("short", id="k", keywords=[[]]),
        raw_question("single", id="src", sources=[]),
    ])
    found = issues_of(path)
    assert "at least one option must be correct" in found[("m", "options")].message
    assert "must be true or false" in found[("t", "answer")].message
    assert "must be a number" in found[("n", "answer")].message
    assert "repeats 'x'" in found[("p", "pairs[1]")].message
    assert "repeats 'a'" in found[("s", "options[1]")].message
    assert "missing" in found[("i", "rubric")].message
    assert "needs at least 1 entry" in found[("k", "keywords[0]")].message
    assert "needs at least 1 entry" in found[("src", "sources")].message
    assert load_bank(path).questions == ()


def test_which_hosts_count_as_official_documentation():
    assert is_official_doc("https://docs.aws.amazon.com/AmazonECS/latest/developerguide/Welcome.html")
    assert is_official_doc("https://aws.amazon.com/blogs/containers/x")
    assert is_official_doc("https://kubernetes.io/docs/concepts/")
    assert is_official_doc("https://docs.docker.com/engine/")
    assert not is_official_doc("https://stackoverflow.com/questions/1")
    assert not is_official_doc("https://docs.aws.amazon.com.evil.example/")


def test_does_an_unknown_bank_name_list_the_banks_there():
    with pytest.raises(BankNotFound, match=r"no question bank named 'nope' .*basics, interviews"):
        find_bank("nope", GOOD_BANKS)


def test_does_dojo_quizzes_choose_the_banks_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("DOJO_QUIZZES", str(tmp_path))
    assert default_banks_dir() == tmp_path
    monkeypatch.delenv("DOJO_QUIZZES")
    assert (default_banks_dir() / "README.md").is_file()        # the repository's quizzes/


def test_do_filters_and_seeds_choose_questions_reproducibly():
    questions = load_banks(GOOD_BANKS).questions()
    assert [q.id for q in matching_questions(questions, topic="networking")] == ["fx-true-false"]
    assert {q.bank for q in matching_questions(questions, topic="interviews")} == {"interviews"}   # bank name
    assert [q.difficulty for q in matching_questions(questions, difficulty="hard")] == ["hard", "hard"]
    assert [q.id for q in matching_questions(questions, n=2)] == ["fx-single", "fx-multiple"]
    first = [q.id for q in matching_questions(questions, seed=3)]
    assert first == [q.id for q in matching_questions(questions, seed=3)]
    assert sorted(first) == sorted(q.id for q in questions) and first != [q.id for q in questions]


def test_is_an_ordering_question_never_shown_in_the_right_order():
    ordering = load_banks(GOOD_BANKS).by_id()["fx-ordering"]
    for seed in range(30):
        layout = arrange(ordering, seed=seed)
        assert list(layout.items) != list(ordering.items)
        assert sorted(layout.items) == sorted(ordering.items)
    assert arrange(ordering, seed=5) == arrange(ordering, seed=5)


def test_must_a_short_questions_model_answer_pass_its_own_keywords(bank_writer):
    path = bank_writer("short", [raw_question("short", model_answer="Only the execution role."),
                                 raw_question("short", id="punct", keywords=[["!!"]], min_keywords=1)])
    found = issues_of(path)
    message = found[("q-short", "model_answer")].message
    assert "mentions only 1 of the keywords (2 needed to pass)" in message and "missing: task role, secrets" in message
    assert "has no letters or digits" in found[("punct", "keywords[0]")].message


ALIAS_BOMB = """title: laughs
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
questions: [*i, *i, *i, *i, *i, *i, *i, *i, *i]
"""


def test_is_a_yaml_alias_bomb_refused_naming_the_file_without_expanding_it(bank_writer):
    path = bank_writer.directory / "laughs.yaml"
    path.write_text(ALIAS_BOMB, encoding="utf-8")
    bank_writer("fine", [raw_question("single")])
    banks = load_banks(bank_writer.directory)                  # returns at once: ~10^9 values are never built
    [issue] = [i for i in banks.issues if i.file.name == "laughs.yaml"]
    assert "alias bomb" in issue.message and str(issue).startswith("laughs.yaml: is refused")
    assert banks.bank("fine").questions                        # the other banks still load


def test_is_a_self_referring_alias_refused(bank_writer):
    path = bank_writer.directory / "loop.yaml"
    path.write_text("title: loop\nquestions: &q [*q]\n", encoding="utf-8")
    [issue] = load_bank(path).issues
    assert "refers to itself" in issue.message


def test_is_a_small_alias_still_allowed(bank_writer):
    path = bank_writer("shared", [raw_question("single")])
    text = path.read_text().replace("sources:\n", "sources: &docs\n", 1)
    path.write_text(text + "- " + "\n  ".join(yaml.safe_dump(raw_question("numeric", sources=None)).splitlines())
                    + "\n  sources: *docs\n")
    bank = load_bank(path)
    assert not bank.issues, [str(i) for i in bank.issues]
    assert len(bank.questions) == 2
