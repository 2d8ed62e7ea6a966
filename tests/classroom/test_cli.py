"""Does `dojo classroom` refuse bad input with a clear message before touching the machine?"""

from __future__ import annotations

from ecsdojo.cli import main


def test_a_bad_roster_is_refused_naming_the_file_row_and_field(tmp_path, capsys):
    roster = tmp_path / "roster.csv"
    roster.write_text("username,password\nada,correct-horse\nAda Lovelace,\n")
    assert main(["classroom", "up", "--roster", str(roster), "--state-dir", str(tmp_path / "state")]) == 1
    error = capsys.readouterr().err
    assert f"{roster}, row 3, field 'username'" in error
    assert not (tmp_path / "state").exists()          # nothing was made


def test_learners_and_roster_are_exclusive(tmp_path, capsys):
    import pytest

    with pytest.raises(SystemExit):
        main(["classroom", "up", "--learners", "3", "--roster", "r.csv"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_status_without_a_hub_says_so(tmp_path, capsys):
    assert main(["classroom", "status", "--state-dir", str(tmp_path)]) == 0
    assert "hub: not running" in capsys.readouterr().out


def test_bench_classroom_is_registered():
    from ecsdojo.cli import build_parser

    args = build_parser().parse_args(["bench", "classroom", "--learners", "2"])
    assert args.learners == 2 and callable(args.handler)
