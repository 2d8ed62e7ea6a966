"""The terminal side every question type shares: reading lines, with ``hint``, ``skip`` and ``quit``
working at every prompt. Each type's prompt (``ecsdojo.quiz.types.<type>``) is built on it.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable
from typing import Any, TextIO

from ecsdojo.quiz.model import Question


class EndOfInput(Exception):
    """Standard input ended (EOF): the session stops, keeping what was answered."""


class QuitRequested(Exception):
    """The learner typed ``quit``."""


SKIP = object()


class Terminal:
    """Questions on a text stream. Works with piped input: the answer read is echoed when the input is
    not a terminal, so a transcript reads naturally."""

    def __init__(self, stdin: TextIO | None = None, stdout: TextIO | None = None, *, width: int = 88) -> None:
        self.stdin = stdin if stdin is not None else sys.stdin
        self.stdout = stdout if stdout is not None else sys.stdout
        self.width = width
        isatty = getattr(self.stdin, "isatty", None)
        self.echo = not (isatty() if callable(isatty) else False)

    def say(self, text: str = "", *, indent: str = "") -> None:
        for paragraph in str(text).split("\n"):
            wrapped = textwrap.fill(paragraph, self.width, initial_indent=indent, subsequent_indent=indent + "  ",
                                    break_long_words=False, break_on_hyphens=False) if paragraph else ""
            print(wrapped, file=self.stdout)
        self.stdout.flush()

    def read_line(self, prompt: str) -> str:
        self.stdout.write(prompt)
        self.stdout.flush()
        line = self.stdin.readline()
        if line == "":
            self.stdout.write("\n")
            raise EndOfInput()
        line = line.rstrip("\r\n")
        if self.echo:
            self.stdout.write(line + "\n")
        return line

    def ask(self, prompt: str, question: Question, parse: Callable[[str], Any], *, usage: str) -> Any:
        """Read until ``parse`` accepts a line; ``hint``, ``skip`` and ``quit`` work at every prompt."""
        while True:
            line = self.read_line(prompt).strip()
            command = line.casefold()
            if command == "quit":
                raise QuitRequested()
            if command == "skip":
                return SKIP
            if command == "hint":
                self.say(f"Hint: {question.hint}" if question.hint else "No hint for this one.")
                continue
            try:
                value = parse(line)
            except ValueError:
                value = None
            if value is not None:
                return value
            self.say(f"Please answer with {usage} (or hint, skip, quit).")

    def read_paragraph(self, prompt: str, question: Question) -> Any:
        """Lines up to an empty line (or a line with a single dot); ``hint``, ``skip`` and ``quit``
        work as the first line."""
        self.say(prompt)
        lines: list[str] = []
        while True:
            line = self.read_line("> ")
            command = line.strip().casefold()
            if command in ("", "."):
                if lines:
                    return "\n".join(lines)
                continue
            if not lines and command == "quit":
                raise QuitRequested()
            if not lines and command == "skip":
                return SKIP
            if not lines and command == "hint":
                self.say(f"Hint: {question.hint}" if question.hint else "No hint for this one.")
                continue
            lines.append(line)


def numbers(line: str, count: int) -> list[int] | None:
    """The numbers 1..count typed on a line ("1 3" or "1,3"), or None when anything else is there."""
    parts = line.replace(",", " ").split()
    if not parts or not all(p.isdigit() for p in parts):
        return None
    values = [int(p) for p in parts]
    return values if all(1 <= v <= count for v in values) else None
