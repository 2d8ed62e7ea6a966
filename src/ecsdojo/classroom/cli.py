"""`dojo classroom up|down|status|push|spawn` and `dojo bench classroom`.

Example::

    sudo dojo classroom up --learners 30            # prints the URL and each learner's first-login password
    sudo dojo classroom up --roster roster.csv --detach
    sudo dojo classroom push                        # hand out a fixed notebook: learners get it on next start
    sudo dojo classroom down                        # stops servers and engines; every home is kept
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

__all__ = ["register"]


def _learners(args):
    from ecsdojo.classroom.roster import numbered_learners, read_roster

    if args.roster:
        return read_roster(Path(args.roster)), True
    return numbered_learners(args.learners or 3, prefix=args.prefix), False


def _print_credentials(url: str, credentials: dict[str, str]) -> None:
    print(f"\nClassroom hub: {url}  (bound to 127.0.0.1; see labs/INSTRUCTOR.md to serve a room)")
    print("First-login credentials (also in STATE/credentials.csv, root only):")
    width = max(len(name) for name in credentials)
    for name, password in credentials.items():
        print(f"  {name:{width}}  {password}")


def _up(args) -> int:
    from ecsdojo.classroom.accounts import AccountError
    from ecsdojo.classroom.engine import EngineError
    from ecsdojo.classroom.handout import HandoutError
    from ecsdojo.classroom.hub import HubError, HubSettings, start_hub, stop_hub
    from ecsdojo.classroom.learner_python import LearnerPythonError
    from ecsdojo.classroom.room import prepare_classroom
    from ecsdojo.classroom.roster import RosterError

    state_dir = Path(args.state_dir)
    try:
        learners, from_roster = _learners(args)
        room = prepare_classroom(learners, state_dir=state_dir, venv=Path(args.venv) if args.venv else None,
                                 roster_sets_passwords=from_roster, progress=lambda line: print(line, flush=True))
        hub = start_hub(HubSettings(state_dir=str(state_dir), learner_python=str(room.learner_python),
                                    learners=tuple(a.name for a in room.accounts), port=args.port,
                                    idle_timeout_s=args.idle_timeout))
    except (RosterError, AccountError, EngineError, HandoutError, HubError, LearnerPythonError) as error:
        print(f"✗ {error}", file=sys.stderr)
        return 1
    _print_credentials(hub.settings.url, room.credentials)
    if args.detach:
        print(f"\nThe hub runs in the background (pid {hub.pid}); stop it with `dojo classroom down`.")
        return 0
    print("\nCtrl+C stops the classroom (every learner's work is kept).", flush=True)
    signal.signal(signal.SIGTERM, signal.default_int_handler)      # `kill` stops the classroom like Ctrl+C
    signal.signal(signal.SIGINT, signal.default_int_handler)       # even when started in the background
    try:
        while _alive(hub.pid):
            time.sleep(1)
        print("the hub exited (see STATE/hub/jupyterhub.log)", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        _stop_everything(state_dir)
    return 0


def _alive(pid: int) -> bool:
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
        return not finished
    except ChildProcessError:
        try:
            os.kill(pid, 0)
            return True
        except ProcessLookupError:
            return False


def _stop_everything(state_dir: Path) -> None:
    from ecsdojo.classroom.accounts import AccountError, find_account, learner_names
    from ecsdojo.classroom.engine import LearnerEngine
    from ecsdojo.classroom.hub import stop_hub

    stopped = stop_hub(state_dir)
    print("hub stopped (it stopped every learner server)" if stopped else "no hub was running")
    engines = 0
    for name in learner_names():        # belt and braces: an engine whose server died without the hub
        try:
            engine = LearnerEngine(find_account(name))
        except AccountError:
            continue
        if engine.pid() is not None:
            engine.stop()
            engines += 1
    print(f"{engines} leftover learner engine(s) stopped; every learner's home is kept")


def _down(args) -> int:
    _stop_everything(Path(args.state_dir))
    return 0


def _status(args) -> int:
    from ecsdojo.classroom.accounts import find_account, learner_names
    from ecsdojo.classroom.engine import LearnerEngine
    from ecsdojo.classroom.hub import running_hub

    hub = running_hub(Path(args.state_dir))
    print(f"hub: {hub.settings.url} (pid {hub.pid})" if hub else "hub: not running")
    users = {user["name"]: user for user in (hub.client.call("GET", "/users") if hub else [])}
    for name in learner_names():
        engine = LearnerEngine(find_account(name))
        server = (users.get(name, {}).get("servers") or {}).get("")
        print(f"  {name:16} server {'ready' if server and server.get('ready') else 'stopped':8} "
              f"engine {'running' if engine.pid() else 'stopped'}")
    return 0


def _push(args) -> int:
    from ecsdojo.classroom.handout import publish_course
    from ecsdojo.classroom.room import SOURCE_TREE

    commit = publish_course(SOURCE_TREE / "notebooks", Path(args.state_dir) / "course")
    print(f"course @ {commit[:10]} published. Learners get it the next time their server starts, or now through "
          f"nbgitpuller's link: HUB/hub/user-redirect/git-pull?repo={Path(args.state_dir) / 'course'}&branch=main"
          f"&urlpath=lab/tree/ecs-dojo — their own edits are kept (nbgitpuller merges, the learner's side wins).")
    return 0


def _spawn(args) -> int:
    from ecsdojo.classroom.hub import HubError, running_hub

    hub = running_hub(Path(args.state_dir))
    if hub is None:
        print("✗ no classroom hub runs: `dojo classroom up` first", file=sys.stderr)
        return 1
    for name in args.names or list(hub.settings.learners):
        try:
            seconds = hub.client.spawn(name)
            print(f"{name}: ready in {seconds:.1f} s")
        except HubError as error:
            print(f"✗ {name}: {error}", file=sys.stderr)
            return 1
    return 0


def _image(args) -> int:
    from ecsdojo.classroom.learner_image import LearnerImageError, build_learner_image
    from ecsdojo.images import ImageBuildError

    try:
        build_learner_image(force=args.force, progress=lambda line: print(line, flush=True))
    except (LearnerImageError, ImageBuildError) as error:
        print(f"✗ {error}", file=sys.stderr)
        return 1
    return 0


def _bench(args) -> int:
    from ecsdojo.classroom.bench import bench_command

    return bench_command(args)


def register(commands) -> None:
    from ecsdojo.classroom.room import DEFAULT_STATE_DIR

    classroom = commands.add("classroom", help="a workshop on JupyterHub: one isolated ECS Dojo per learner")
    sub = classroom.add_subparsers(dest="classroom_command", metavar="ACTION", required=True)

    def with_state(parser):
        parser.add_argument("--state-dir", default=str(DEFAULT_STATE_DIR),
                            help=f"the classroom's state folder (default {DEFAULT_STATE_DIR})")
        return parser

    up = with_state(sub.add_parser("up", help="make the learners' accounts and start JupyterHub on 127.0.0.1"))
    who = up.add_mutually_exclusive_group()
    who.add_argument("--learners", type=int, help="this many numbered learners (default 3)")
    who.add_argument("--roster", help="a CSV file with a username column (and optionally password)")
    up.add_argument("--prefix", default="learner", help="name prefix for --learners (default learner)")
    up.add_argument("--port", type=int, default=8000, help="the hub's port on 127.0.0.1 (default 8000)")
    up.add_argument("--idle-timeout", type=int, default=3600, help="cull servers idle this many seconds")
    up.add_argument("--venv", help="the shared learner environment (default STATE/venv)")
    up.add_argument("--detach", action="store_true", help="return once the hub answers; stop with `down`")
    up.set_defaults(handler=_up)
    with_state(sub.add_parser("down", help="stop the hub, every learner server and engine; homes are kept")
               ).set_defaults(handler=_down)
    with_state(sub.add_parser("status", help="the hub and each learner's server and engine")).set_defaults(
        handler=_status)
    with_state(sub.add_parser("push", help="publish the current notebooks/ to learners (nbgitpuller merges)")
               ).set_defaults(handler=_push)
    spawn = with_state(sub.add_parser("spawn", help="start learner servers now through the hub's REST API"))
    spawn.add_argument("names", nargs="*", help="learners (default: all)")
    spawn.set_defaults(handler=_spawn)

    image = sub.add_parser("image", help="build the learner image for Zero to JupyterHub offline (no registry)")
    image.add_argument("--force", action="store_true", help="rebuild even when nothing changed")
    image.set_defaults(handler=_image)

    bench = commands.add_bench("classroom", help="spawn K learners; spawn time, memory and CPU per learner (JSON)")
    bench.add_argument("--learners", type=int, default=5)
    bench.add_argument("--state-dir", default="/var/lib/ecsdojo-classroom-bench")
    bench.add_argument("--venv", help="the shared learner environment (default STATE/venv)")
    bench.add_argument("--keep", action="store_true", help="keep the bench learners' accounts afterwards")
    bench.set_defaults(handler=_bench)
