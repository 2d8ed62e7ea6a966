"""The live class dashboard: a JupyterHub service, so the hub's own login protects it; instructors and admins only.

The hub starts it (``labs/classroom/jupyterhub_config.py``: a managed service ``dojo-dashboard`` on 127.0.0.1,
reached through the proxy at ``/services/dojo-dashboard/``). It uses JupyterHub's OAuth for services
(``jupyterhub.services.auth.HubOAuthenticated``, https://jupyterhub.readthedocs.io/en/stable/reference/services.html):
a visitor logs in at the hub, and the hub grants the service only to users holding the scope
``access:services!service=dojo-dashboard`` — given by the config to the ``dojo-instructor`` role (the roster's
instructors) and to admins. A learner has only the default ``user`` role (scope ``self``) and is refused by the hub;
as a second lock, the handlers here answer 403 to anyone who is not an admin or a listed instructor.

Pages: ``/`` the dashboard (it fetches ``api/state`` every 2 s and redraws: no reload), ``api/state`` the JSON of
:func:`ecsdojo.classroom.dashboard_data.class_snapshot`, read from the learners' stores read-only.

Run by the hub as ``python -m ecsdojo.classroom.dashboard --state-dir STATE``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pwd
from pathlib import Path
from urllib.parse import urlparse

__all__ = ["make_app", "learner_stores", "main", "SERVICE_NAME"]

SERVICE_NAME = "dojo-dashboard"
PAGE = Path(__file__).with_name("dashboard.html")


def learner_stores(names: list[str]) -> dict[str, Path]:
    """learner → their progress store's path (``~/.ecsdojo/progress.sqlite``, as the spawner sets DOJO_HOME)."""
    stores = {}
    for name in names:
        try:
            stores[name] = Path(pwd.getpwnam(name).pw_dir) / ".ecsdojo" / "progress.sqlite"
        except KeyError:
            continue
    return stores


def make_app(*, state_dir: Path, learners: list[str], instructors: set[str], solutions_dir: Path, prefix: str):
    from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
    from jupyterhub.utils import url_path_join
    from tornado import web

    from ecsdojo.classroom.dashboard_data import class_snapshot, load_catalogue
    from ecsdojo.classroom.interview import read_rounds

    stores = learner_stores(learners)
    catalogue: list = []
    loaded = asyncio.Lock()

    async def checks() -> list:
        """The solutions' checks, parsed on the first request (start-up stays fast: the hub waits for us)."""
        async with loaded:
            if not catalogue:
                catalogue.extend(await asyncio.to_thread(load_catalogue, solutions_dir))
        return catalogue

    class InstructorOnly(HubOAuthenticated, web.RequestHandler):
        def instructor(self) -> dict:
            user = self.get_current_user()
            if not user or user.get("kind", "user") != "user":
                raise web.HTTPError(403)
            if not (user.get("admin") or user["name"] in instructors):
                raise web.HTTPError(403, f"{user['name']} is not an instructor of this classroom")
            return user

    class PageHandler(InstructorOnly):
        @web.authenticated
        def get(self) -> None:
            user = self.instructor()
            self.set_header("Cache-Control", "no-store")
            # fetch() is not a navigation: JupyterHub accepts its cookie only with the XSRF token (JupyterHub >= 4.1)
            self.write(PAGE.read_text().replace("{{user}}", json.dumps(user["name"]))
                       .replace("{{xsrf}}", json.dumps(self.xsrf_token.decode() if isinstance(self.xsrf_token, bytes)
                                                       else self.xsrf_token)))

    class StateHandler(InstructorOnly):
        async def get(self) -> None:            # an API: 403 without a session, never a login redirect
            self.instructor()
            rounds = read_rounds(state_dir)
            snapshot = await asyncio.to_thread(class_snapshot, stores, await checks(), rounds=rounds)
            self.set_header("Content-Type", "application/json")
            self.set_header("Cache-Control", "no-store")
            self.write(json.dumps(snapshot))

    return web.Application([
        (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
        (url_path_join(prefix, "api/state"), StateHandler),
        (prefix, PageHandler),
    ], cookie_secret=os.urandom(32))


def main(argv: list[str] | None = None) -> None:
    from tornado.ioloop import IOLoop
    from tornado.log import enable_pretty_logging

    enable_pretty_logging()              # requests and refusals go to the hub's log (the service's stderr)

    parser = argparse.ArgumentParser(description="the ECS Dojo class dashboard (a JupyterHub service)")
    parser.add_argument("--state-dir", required=True)
    args = parser.parse_args(argv)
    state_dir = Path(args.state_dir)
    settings = json.loads((state_dir / "hub" / "settings.json").read_text())
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", f"/services/{SERVICE_NAME}/")
    app = make_app(state_dir=state_dir, learners=list(settings["learners"]),
                   instructors=set(settings.get("instructors") or ()), solutions_dir=Path(__file__).resolve().parents[3] / "solutions",
                   prefix=prefix)
    url = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", f"http://127.0.0.1:{settings['dashboard_port']}"))
    app.listen(url.port, "127.0.0.1")
    IOLoop.current().start()


if __name__ == "__main__":
    main()
