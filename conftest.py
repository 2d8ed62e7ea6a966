"""Notebook runs under nbval (`make test`): modules that need a Docker engine are skipped, with the reason, when
none answers — unless DOJO_REQUIRE_DOCKER=1 (CI's engine stage), where they run and fail loudly instead.

(The unit tests' own fixtures live in tests/conftest.py.)
"""

from __future__ import annotations

import os
import re

import pytest


def _engine_answers() -> bool:
    from ecsdojo.images import engine_answers

    return engine_answers()


def pytest_collection_modifyitems(config, items):
    from ecsdojo.course import DOCKER_ONLY_MODULES

    notebook_items = [item for item in items if str(item.path).endswith(".ipynb")]
    if not notebook_items or os.environ.get("DOJO_REQUIRE_DOCKER", "") not in ("", "0", "false", "no"):
        return
    docker_only = [item for item in notebook_items
                   if (match := re.match(r"(\d\d)_", item.path.name)) and match.group(1) in DOCKER_ONLY_MODULES]
    if docker_only and not _engine_answers():
        skip = pytest.mark.skip(reason="this module needs a Docker engine and none answers "
                                       "(it stops at its first cell with the fix; see course.DOCKER_ONLY_MODULES)")
        for item in docker_only:
            item.add_marker(skip)
