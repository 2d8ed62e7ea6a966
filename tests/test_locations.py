"""Finding the course's folders wherever a command runs."""

from __future__ import annotations

from pathlib import Path

from ecsdojo.locations import course_folder, course_root

REPO = Path(__file__).resolve().parents[1]


def test_is_the_course_found_from_the_installed_package_in_any_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("DOJO_COURSE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert course_root() == REPO
    assert course_folder("notebooks") == REPO / "notebooks"


def test_does_dojo_course_choose_the_course(tmp_path, monkeypatch):
    (tmp_path / "solutions").mkdir()
    monkeypatch.setenv("DOJO_COURSE", str(tmp_path))
    assert course_root() == tmp_path
    assert course_folder("solutions") == tmp_path / "solutions" and course_folder("notebooks") is None
