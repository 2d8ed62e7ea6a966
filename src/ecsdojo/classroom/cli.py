"""`dojo classroom up|down|status|push|spawn|collect|grade` and `dojo bench classroom`.

Example::

    sudo dojo classroom up --learners 30            # prints the URL and each learner's first-login password
    sudo dojo classroom up --roster roster.csv --detach
    sudo dojo classroom push                        # hand out a fixed notebook: learners get it on next start
    sudo dojo classroom collect --module 00        # read-only copies in STATE/submissions/LEARNER/TIME/
    sudo dojo classroom grade --module 00          # STATE/grades/gradebook.csv + ~LEARNER/feedback/
    sudo dojo classroom down                        # stops servers and engines; every home is kept
"""

from __future__ import annotations

import os
import secrets
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
        instructors = _instructors(args.instructor or [])
        hub = start_hub(HubSettings(state_dir=str(state_dir), learner_python=str(room.learner_python),
                                    learners=tuple(a.name for a in room.accounts), port=args.port,
                                    idle_timeout_s=args.idle_timeout, instructors=tuple(instructors)))
    except (RosterError, AccountError, EngineError, HandoutError, HubError, LearnerPythonError) as error:
        print(f"✗ {error}", file=sys.stderr)
        return 1
    _print_credentials(hub.settings.url, room.credentials)
    for name, password in instructors.items():
        print(f"instructor {name}: " + (f"new account, password {password}" if password else "existing account")
              + f"; the class dashboard: {hub.settings.url}/services/dojo-dashboard/")
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


def _instructors(names: list[str]) -> dict[str, str]:
    """name → the new account's password ('' for an existing account, used as it is)."""
    from ecsdojo.classroom.accounts import ensure_instructor
    from ecsdojo.classroom.roster import Learner

    made = {}
    for name in names:
        person = Learner(name, secrets.token_urlsafe(9))
        made[name] = person.password if ensure_instructor(person) else ""
    return made


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


def _collect(args) -> int:
    from ecsdojo.classroom.accounts import AccountError, require_root
    from ecsdojo.classroom.collect import CollectError, collect

    try:
        require_root("dojo classroom collect")
        report = collect(Path(args.state_dir), module=args.module, learners=args.names or None)
    except (AccountError, CollectError) as error:
        print(f"✗ {error}", file=sys.stderr)
        return 1
    for name, copies in sorted(report.collected.items()):
        print(f"{name:16} collected {', '.join(path.name for path in copies)} → {copies[0].parent}")
    for name, modules in sorted(report.missing.items()):
        print(f"{name:16} missing: module(s) {', '.join(modules)} (no notebook: not started)")
    for name, reasons in sorted(report.refused.items()):
        for reason in reasons:
            print(f"{name:16} refused: {reason}", file=sys.stderr)
    print(f"{len(report.collected)} learner(s) collected, {len(report.missing)} with missing notebooks; "
          f"copies are read-only in {report.folder}")
    return 0


def _grade(args) -> int:
    from ecsdojo.classroom.accounts import AccountError, require_root
    from ecsdojo.classroom.classgrade import grade_class
    from ecsdojo.classroom.collect import CollectError
    from ecsdojo.classroom.room import SOURCE_TREE
    from ecsdojo.grading.grade import NoSolutions
    from ecsdojo.grading.markers import MarkerError
    from ecsdojo.grading.sandbox import SandboxUnavailable

    try:
        require_root("dojo classroom grade")
        outcome = grade_class(Path(args.state_dir), module=args.module,
                              solutions_dir=Path(args.solutions) if args.solutions else SOURCE_TREE / "solutions",
                              workers=args.workers, sandbox=args.sandbox,
                              on_result=lambda line: print(line, flush=True))
    except (AccountError, CollectError, NoSolutions, MarkerError, SandboxUnavailable) as error:
        print(f"✗ {error}", file=sys.stderr)
        return 1
    for name, why in sorted(outcome.not_delivered.items()):
        print(f"✗ feedback for {name} not delivered: {why}", file=sys.stderr)
    delivered = sum(len(paths) for paths in outcome.delivered.values())
    print(f"wrote {outcome.gradebook} ({len(outcome.rows)} rows) and {delivered} feedback file(s) in learners' "
          f"~/feedback/")
    return 1 if outcome.not_delivered else 0


def _interview(args) -> int:
    import datetime

    from ecsdojo.classroom.interview import InterviewError, close_round, open_round, read_rounds
    from ecsdojo.quiz.bank import BanksFolderNotFound

    state_dir = Path(args.state_dir)
    try:
        if args.interview_action == "open":
            record = open_round(state_dir, minutes=args.minutes, questions=args.questions, topics=args.topic,
                                seed=args.seed, title=args.title or "")
            print(f"{record['id']} open for {record['minutes']:g} min: "
                  + ", ".join(f"{q['bank']}/{q['id']}" for q in record["questions"]))
            print("Learners run `from ecsdojo.classroom.interview import interview_round; interview_round()` in a "
                  "notebook; results appear on the dashboard (HUB/services/dojo-dashboard/).")
        elif args.interview_action == "close":
            print(f"{close_round(state_dir)['id']} closed; later answers count as late")
        else:
            for record in read_rounds(state_dir):
                closes = datetime.datetime.fromtimestamp(record["closes_at"], datetime.timezone.utc)
                print(f"{record['id']}  {len(record['questions'])} questions  closes {closes:%Y-%m-%d %H:%M} UTC  "
                      f"{record['title']}")
    except (InterviewError, BanksFolderNotFound, OSError) as error:
        print(f"✗ {error}", file=sys.stderr)
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
    up.add_argument("--instructor", action="append", metavar="NAME",
                    help="may open the class dashboard (an existing Unix account, or a new one); repeatable")
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

    collect = with_state(sub.add_parser("collect", help="copy learners' notebooks into STATE/submissions "
                                                       "(read-only; their files are never touched)"))
    collect.add_argument("--module", metavar="NN", help="one module (default: every module)")
    collect.add_argument("names", nargs="*", help="learners (default: all)")
    collect.set_defaults(handler=_collect)
    grade = with_state(sub.add_parser("grade", help="grade the newest collected notebooks: STATE/grades/"
                                                   "gradebook.csv, feedback in each learner's ~/feedback/"))
    grade.add_argument("--module", metavar="NN", help="one module (default: every collected module)")
    grade.add_argument("--workers", type=int, help="parallel kernels (default: one per core)")
    grade.add_argument("--solutions", help="the solutions folder (default: the course's solutions/)")
    grade.add_argument("--sandbox", choices=("none", "docker"), default="none",
                       help="docker: each kernel in a container without network (see `dojo grade`)")
    grade.set_defaults(handler=_grade)

    interview = sub.add_parser("interview", help="a mock-interview round for the whole class (same questions, "
                                                 "time limit; results on the dashboard)")
    rounds = interview.add_subparsers(dest="interview_action", metavar="ACTION", required=True)
    opened = with_state(rounds.add_parser("open", help="choose the questions and open a round now"))
    opened.add_argument("--minutes", type=float, default=15, help="the round's time limit (default 15)")
    opened.add_argument("--questions", type=int, default=3, help="how many questions (default 3)")
    opened.add_argument("--topic", action="append", help="a topic or bank name; repeatable (default: any)")
    opened.add_argument("--seed", type=int, help="pick the same questions again")
    opened.add_argument("--title", help="shown to learners and on the dashboard")
    with_state(rounds.add_parser("close", help="end the current round now"))
    with_state(rounds.add_parser("list", help="every round so far"))
    interview.set_defaults(handler=_interview)

    image = sub.add_parser("image", help="build the learner image for Zero to JupyterHub offline (no registry)")
    image.add_argument("--force", action="store_true", help="rebuild even when nothing changed")
    image.set_defaults(handler=_image)

    bench = commands.add_bench("classroom", help="spawn K learners; spawn time, memory and CPU per learner (JSON)")
    bench.add_argument("--learners", type=int, default=5)
    bench.add_argument("--state-dir", default="/var/lib/ecsdojo-classroom-bench")
    bench.add_argument("--venv", help="the shared learner environment (default STATE/venv)")
    bench.add_argument("--keep", action="store_true", help="keep the bench learners' accounts afterwards")
    bench.set_defaults(handler=_bench)

    from ecsdojo.classroom import bench_grade

    bench_grade.register(commands)
