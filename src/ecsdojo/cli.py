"""`dojo`: the course's command line. Each feature module contributes its own subcommands.

A command module defines ``register(commands: CommandRegistry) -> None`` and adds parsers with
``commands.add(name, help=...)`` (or ``commands.add_bench(name, help=...)`` for ``dojo bench NAME``),
setting ``handler=`` to a function ``(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

# The modules that contribute subcommands, in the order `dojo --help` lists them.
COMMAND_MODULES = (
    "ecsdojo.doctor",          # doctor
    "ecsdojo.images",          # images build|list
    "ecsdojo.lab",             # lab
    "ecsdojo.control.cli",     # up, down, status
    "ecsdojo.control.logs_tail",  # logs tail (AWS CLI v2's `aws logs tail`)
    "ecsdojo.labs",            # verify (terminal labs)
    "ecsdojo.grading.cli",     # release, grade, progress, bench grade
    "ecsdojo.quiz.cli",        # quiz, drill
    "ecsdojo.load",            # load
    "ecsdojo.bench",           # bench heal, scale, idle, chaos
    "ecsdojo.classroom.cli",   # classroom up|down|status|push|spawn|collect|grade|interview|image, bench classroom(-grade)
)


class CommandRegistry:
    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self._commands = parser.add_subparsers(dest="command", metavar="COMMAND")
        self._bench_parser = self._commands.add_parser(
            "bench", help="benchmarks that print one JSON line (heal, scale, idle, chaos, grade)")
        self._bench = self._bench_parser.add_subparsers(dest="bench", metavar="BENCHMARK")
        self._bench_parser.set_defaults(handler=lambda args: _print_help(self._bench_parser))

    def add(self, name: str, *, help: str, handler: Callable[[argparse.Namespace], int] | None = None,
            **kwargs) -> argparse.ArgumentParser:
        parser = self._commands.add_parser(name, help=help, description=help, **kwargs)
        if handler is not None:
            parser.set_defaults(handler=handler)
        return parser

    def add_bench(self, name: str, *, help: str, handler: Callable[[argparse.Namespace], int] | None = None,
                  **kwargs) -> argparse.ArgumentParser:
        parser = self._bench.add_parser(name, help=help, description=help, **kwargs)
        if handler is not None:
            parser.set_defaults(handler=handler)
        return parser


def _print_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _version() -> str:
    try:
        return importlib.metadata.version("ecsdojo")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dojo", description="ECS Dojo: learn Amazon ECS offline, on real containers.")
    parser.add_argument("--version", action="version", version=f"ecsdojo {_version()} ({Path(__file__).parent})")
    registry = CommandRegistry(parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(registry)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
