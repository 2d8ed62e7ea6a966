"""Does collecting read a learner's file safely (no symlinks, only their own regular files) and find the newest copy?"""

from __future__ import annotations

import json
import os

import pytest

from ecsdojo.classroom.accounts import Account
from ecsdojo.classroom.collect import MANIFEST, _read_learner_file, latest_submissions


@pytest.fixture
def account(tmp_path):
    home = tmp_path / "home"
    (home / "ecs-dojo").mkdir(parents=True)
    return Account("ann", os.getuid(), os.getgid(), home)


def test_a_regular_file_of_the_learner_is_read_unchanged(account):
    path = account.home / "ecs-dojo" / "00_start_here.ipynb"
    path.write_bytes(b'{"cells": []}')
    before = os.stat(path)
    data, info = _read_learner_file(account, path)
    assert data == b'{"cells": []}' and info.st_size == 13
    after = os.stat(path)
    assert (after.st_mtime_ns, after.st_mode, after.st_uid) == (before.st_mtime_ns, before.st_mode, before.st_uid)


def test_a_symlink_is_refused_so_a_learner_cannot_make_root_copy_other_files(account, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("root only")
    (account.home / "ecs-dojo" / "00_start_here.ipynb").symlink_to(secret)
    with pytest.raises(OSError):
        _read_learner_file(account, account.home / "ecs-dojo" / "00_start_here.ipynb")


def test_a_symlinked_course_folder_is_refused(tmp_path):
    home = tmp_path / "home2"
    home.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "00_start_here.ipynb").write_text("{}")
    (home / "ecs-dojo").symlink_to(elsewhere)
    with pytest.raises(ValueError, match="not a folder"):
        _read_learner_file(Account("bob", os.getuid(), os.getgid(), home), home / "ecs-dojo" / "00_start_here.ipynb")


def test_no_course_folder_means_missing(tmp_path):
    with pytest.raises(FileNotFoundError):
        _read_learner_file(Account("cat", os.getuid(), os.getgid(), tmp_path), tmp_path / "ecs-dojo" / "00_x.ipynb")


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another uid needs root")
def test_a_file_owned_by_someone_else_is_refused(account):
    path = account.home / "ecs-dojo" / "00_start_here.ipynb"
    path.write_text("{}")
    os.chown(path, 12345, 12345)
    with pytest.raises(ValueError, match="owned by uid 12345"):
        _read_learner_file(account, path)


def test_the_newest_collection_of_each_learner_and_module_is_graded(tmp_path):
    def collection(learner, stamp, modules):
        folder = tmp_path / "submissions" / learner / stamp
        folder.mkdir(parents=True)
        (folder / MANIFEST).write_text(json.dumps({"learner": learner, "collected_at": stamp, "notebooks": {
            number: {"file": f"{number}_x.ipynb", "source": "s", "sha256": "h"} for number in modules}}))

    collection("ann", "20261202T100000Z", ["00", "01"])
    collection("ann", "20261202T110000Z", ["00"])
    collection("ann", "20261202T110000Z-2", ["00"])
    collection("bob", "20261202T090000Z", ["00"])
    found = {(s.learner, s.module): s.collected_at for s in latest_submissions(tmp_path)}
    assert found == {("ann", "00"): "20261202T110000Z-2", ("ann", "01"): "20261202T100000Z",
                     ("bob", "00"): "20261202T090000Z"}
    assert [s.module for s in latest_submissions(tmp_path, module="01")] == ["01"]
