"""`dojo quiz` and `dojo drill`: the question banks in the terminal.

    dojo quiz --check [--banks DIR]          validate every bank; non-zero exit on any error
    dojo quiz                                list the banks
    dojo quiz BANK [--n N] [--seed S] [--topic T] [--difficulty D]
    dojo drill [--topics T ...] [--n N] [--interview K] [--minutes M] [--seed S] [--misses]

Both read answers from standard input (piped input works) and stop cleanly at its end.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import TextIO

from ecsdojo.progress_store import ProgressStore, ProgressStoreError
from ecsdojo.quiz.bank import (DIFFICULTIES, OFFICIAL_DOC_HOSTS, BankNotFound, BankSet, BanksFolderNotFound,
                               find_bank, load_banks, matching_questions)
from ecsdojo.quiz.drill import run_drill, run_quiz
from ecsdojo.quiz.types import REGISTRY


def register(commands) -> None:
    quiz = commands.add("quiz", help="answer a question bank in the terminal (--check validates every bank)",
                        handler=quiz_command)
    quiz.add_argument("bank", nargs="?", help="the bank's name (its file stem); omit to list the banks")
    quiz.add_argument("--check", action="store_true", help="validate every bank against the schema and exit")
    quiz.add_argument("--banks", type=Path, metavar="DIR", help="the quizzes folder (default: the course's)")
    quiz.add_argument("--n", type=int, metavar="N", help="ask at most N questions")
    quiz.add_argument("--seed", type=int, metavar="S", help="shuffle the questions with this seed")
    quiz.add_argument("--topic", action="append", metavar="T", help="only this topic (repeatable)")
    quiz.add_argument("--difficulty", action="append", choices=DIFFICULTIES, help="only this level (repeatable)")

    drill = commands.add("drill", help="spaced review of due questions, then a timed mock interview",
                         handler=drill_command)
    drill.add_argument("--topics", nargs="+", metavar="T", help="only these topics (or bank names)")
    drill.add_argument("--n", type=int, default=10, metavar="N", help="review at most N due cards (default 10)")
    drill.add_argument("--interview", type=int, default=1, metavar="K",
                       help="mock-interview questions after the review (default 1; 0 for none)")
    drill.add_argument("--minutes", type=float, metavar="M", help="minutes per interview question")
    drill.add_argument("--seed", type=int, metavar="S", help="seed for choosing interview questions")
    drill.add_argument("--banks", type=Path, metavar="DIR", help="the quizzes folder (default: the course's)")
    drill.add_argument("--misses", action="store_true",
                       help="review now the questions you answered wrong in the last 24 hours (due or not)")


def check_banks(banks: BankSet, *, out: TextIO) -> int:
    """Print the validation report of a set of banks; return the exit code (1 on any error)."""
    total = sum(len(b.questions) for b in banks.banks)
    print(f"Checked {len(banks.banks)} bank(s) in {banks.directory}: {total} valid question(s), "
          f"{len(banks.issues)} error(s).", file=out)
    width = max([len(b.name) for b in banks.banks] + [4])
    by_type: Counter[str] = Counter()
    errors_by_file = Counter(issue.file for issue in banks.issues)
    for bank in banks.banks:
        kinds = Counter(q.type for q in bank.questions)
        by_type.update(kinds)
        listing = ", ".join(f"{t} {kinds[t]}" for t in REGISTRY if kinds[t])
        errors = errors_by_file.get(bank.path, 0)
        print(f"  {bank.name:<{width}}  {len(bank.questions):>3} question(s)"
              + (f"  [{errors} error(s)]" if errors else "") + (f"  {listing}" if listing else ""), file=out)
    print("  by type: " + (", ".join(f"{t} {by_type[t]}" for t in REGISTRY if by_type[t]) or "none"),
          file=out)
    if not banks.banks:
        print(f"error: no bank files (*.yaml) in {banks.directory}", file=out)
        return 1
    if banks.issues:
        print(f"\n{len(banks.issues)} error(s) (questions with errors are left out of quizzes; official doc "
              f"hosts: {', '.join(OFFICIAL_DOC_HOSTS)}):", file=out)
        for issue in banks.issues:
            print(f"  {issue}", file=out)
        return 1
    print("All banks are valid.", file=out)
    return 0


def _list_banks(banks: BankSet, *, out: TextIO) -> int:
    if not banks.banks:
        print(f"No question banks in {banks.directory}.", file=out)
        return 1
    print(f"Question banks in {banks.directory}:", file=out)
    for bank in banks.banks:
        print(f"  {bank.name:<28} {len(bank.questions):>3} question(s)  {bank.title}", file=out)
    print("Run one with: dojo quiz BANK [--n N] [--seed S]", file=out)
    return 0


def _open_store(command: str) -> ProgressStore | None:
    """The learner's progress store, or None after saying why it cannot be opened (as `dojo progress`)."""
    try:
        return ProgressStore()
    except ProgressStoreError as error:
        print(f"dojo {command}: {error}", file=sys.stderr)
        return None


def quiz_command(args: argparse.Namespace, *, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    stdout = stdout if stdout is not None else sys.stdout
    try:
        if args.check or args.bank is None:
            banks = load_banks(args.banks)
            return check_banks(banks, out=stdout) if args.check else _list_banks(banks, out=stdout)
        bank = find_bank(args.bank, args.banks)
    except (BankNotFound, BanksFolderNotFound) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if bank.issues:
        print(f"warning: {len(bank.issues)} problem(s) in {bank.path.name}; the questions they affect are left "
              "out (dojo quiz --check lists them)", file=sys.stderr)
    questions = matching_questions(bank.questions, topic=args.topic, difficulty=args.difficulty, n=args.n,
                                   seed=args.seed)
    if not questions:
        print(f"error: no questions in {bank.name} match these filters", file=sys.stderr)
        return 1
    store = _open_store("quiz")
    if store is None:
        return 1
    try:
        run_quiz(questions, store=store, title=f"{bank.title} ({len(questions)} questions)", seed=args.seed,
                 stdin=stdin, stdout=stdout)
    finally:
        store.close()
    return 0


def drill_command(args: argparse.Namespace, *, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    try:
        banks = load_banks(args.banks)
    except BanksFolderNotFound as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if banks.issues:
        print(f"warning: {len(banks.issues)} problem(s) in the question banks; the questions they affect are "
              "left out (dojo quiz --check lists them)", file=sys.stderr)
    store = _open_store("drill")
    if store is None:
        return 1
    try:
        run_drill(banks, store=store, topics=args.topics, n=args.n, interviews=args.interview, minutes=args.minutes,
                  seed=args.seed, misses=args.misses, stdin=stdin, stdout=stdout)
    finally:
        store.close()
    return 0
