"""LearnerSpawner: JupyterHub's own LocalProcessSpawner, plus each learner's engine, image and course copy.

JupyterHub's ``LocalProcessSpawner`` already starts a learner's JupyterLab as their Unix account, in their home,
on 127.0.0.1. This subclass only adds what ECS Dojo needs around it (imported by the hub, never by ``ecsdojo``):

- before the server starts: the learner's rootless Docker engine (:class:`LearnerEngine`), the demo image loaded
  into it from the shared archive, the course pulled into ``~/ecs-dojo`` by nbgitpuller (first spawn: a copy;
  later spawns: the instructor's updates merged, the learner's edits kept);
- the server's environment: ``DOCKER_HOST`` (their engine only), ``DOJO_HOME=~/.ecsdojo`` (their progress store),
  ``XDG_RUNTIME_DIR``, and the shared learner environment first on ``PATH``;
- after the server stops (logout, idle culling, ``dojo classroom down``): their ECS Dojo containers are removed and
  their engine is stopped. Nothing in their home is touched.

Example (``jupyterhub_config.py``)::

    c.JupyterHub.spawner_class = "ecsdojo.classroom.spawner.LearnerSpawner"
    c.LearnerSpawner.state_dir = "/var/lib/ecsdojo-classroom"
    c.LearnerSpawner.learner_python = "/var/lib/ecsdojo-classroom/venv/bin/python"
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner
from traitlets import Unicode

from ecsdojo.classroom.accounts import ensure_runtime_dir, find_account
from ecsdojo.classroom.engine import SYSTEM_PATH, LearnerEngine, read_image_archive
from ecsdojo.classroom.handout import COURSE_FOLDER, pull_course

__all__ = ["LearnerSpawner"]


class LearnerSpawner(LocalProcessSpawner):
    """LocalProcessSpawner with a per-learner rootless Docker engine and an nbgitpuller copy of the course."""

    state_dir = Unicode("/var/lib/ecsdojo-classroom", config=True,
                        help="The classroom's state: the saved demo image and the course repository.")
    learner_python = Unicode(config=True, help="The shared learner environment's python.")

    @property
    def _course_repository(self) -> Path:
        return Path(self.state_dir) / "course"

    def _prepare(self) -> None:
        account = find_account(self.user.name)
        ensure_runtime_dir(account)
        engine = LearnerEngine(account)
        engine.start()
        engine.load_image(read_image_archive(Path(self.state_dir)))
        self.log.info("ecsdojo: %s's engine answers at %s", account.name, engine.docker_host)
        pull_course(account, repository=self._course_repository, python=Path(self.learner_python))
        (account.home / ".ecsdojo").mkdir(exist_ok=True)
        os.chown(account.home / ".ecsdojo", account.uid, account.gid)

    def get_env(self):
        env = super().get_env()
        account = find_account(self.user.name)
        env.update({
            "DOCKER_HOST": account.docker_host,
            "XDG_RUNTIME_DIR": str(account.runtime_dir),
            "DOJO_HOME": str(account.home / ".ecsdojo"),
            "PATH": f"{Path(self.learner_python).parent}:{SYSTEM_PATH}",
            "DOJO_CLASSROOM": "1",
            "DOJO_CLASSROOM_STATE": str(self.state_dir),      # interview rounds (ecsdojo.classroom.interview)
        })
        return env

    async def start(self):
        await asyncio.to_thread(self._prepare)
        return await super().start()

    async def stop(self, now=False):
        await super().stop(now=now)
        try:
            account = find_account(self.user.name)
        except Exception as error:  # noqa: BLE001 - an account removed under a running hub
            self.log.warning("ecsdojo: no engine to stop for %s: %s", self.user.name, error)
            return
        await asyncio.to_thread(LearnerEngine(account).stop)
        self.log.info("ecsdojo: stopped %s's engine (their home is kept)", self.user.name)


# The page a learner lands on (relative to their home): module 00 of their own copy.
START_PAGE = f"/lab/tree/{COURSE_FOLDER}/00_start_here.ipynb"
