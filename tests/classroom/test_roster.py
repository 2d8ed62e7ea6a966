"""Does a roster give one valid, unique learner per row, and name the file, row and field when it cannot?"""

from __future__ import annotations

import pytest

from ecsdojo.classroom.roster import RosterError, numbered_learners, read_roster


def write(tmp_path, text):
    path = tmp_path / "roster.csv"
    path.write_text(text)
    return path


def test_a_roster_keeps_given_passwords_and_generates_missing_ones(tmp_path):
    learners = read_roster(write(tmp_path, "username,password\nada,correct-horse\nalan,\n\n"))
    assert [learner.name for learner in learners] == ["ada", "alan"]
    assert learners[0].password == "correct-horse"
    assert len(learners[1].password) >= 8


def test_a_password_never_shows_in_a_repr(tmp_path):
    learners = read_roster(write(tmp_path, "username,password\nada,correct-horse\n"))
    assert "correct-horse" not in repr(learners)


@pytest.mark.parametrize(("text", "expected"), [
    ("name\nada\n", "row 1 (header): no 'username' column"),
    ("username\nAda\n", "row 2, field 'username': 'Ada' is not a valid account name"),
    ("username\nada\nada\n", "row 3, field 'username': 'ada' already appears in row 2"),
    ("username\nroot\n", "row 2, field 'username': 'root' is a system account name"),
    ("username,password\nada,short\n", "row 2, field 'password': too short for 'ada'"),
    ("username\n", "the roster lists no learners"),
])
def test_bad_rosters_name_the_file_row_and_field(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(RosterError) as caught:
        read_roster(path)
    assert str(path) in str(caught.value)
    assert expected in str(caught.value)


def test_a_missing_roster_file_is_named(tmp_path):
    with pytest.raises(RosterError, match="cannot read the roster"):
        read_roster(tmp_path / "absent.csv")


def test_numbered_learners_are_distinct_with_distinct_passwords():
    learners = numbered_learners(12, prefix="ws")
    assert learners[0].name == "ws01" and learners[-1].name == "ws12"
    assert len({learner.password for learner in learners}) == 12


def test_numbered_learners_refuses_zero():
    with pytest.raises(RosterError, match="at least 1"):
        numbered_learners(0)
