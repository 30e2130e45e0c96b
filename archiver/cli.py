"""The command line: parse arguments, call the pipeline, print, map the report to an exit code.

Exit status: 0 every feed fetched (200 or 304); 1 some feed failed, or the archive
could not be written (for `check --output`: some archived file does not read);
2 usage or config error; 3 another run holds the archive's lock.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from archiver import __version__
from archiver.config import DEFAULT_CONFIG_PATH, DEFAULT_OUTPUT_DIR, Config, load_config
from archiver.errors import ConfigError, LockHeldError, StoreError
from archiver.models import FeedOutcome, RunReport, Status
from archiver.pipeline import RunOptions, run_async, select_feeds
from archiver.store import Archive

EXIT_OK = 0
EXIT_FEED_FAILED = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3

PROG = "archiver"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Archive RSS, Atom, RDF and JSON feeds as Markdown files.",
        epilog="Exit status: 0 all feeds fetched, 1 some feed failed, 2 usage or config "
        "error, 3 another run holds the archive's lock.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="fetch the feeds and archive new entries")
    run.add_argument("--config", type=Path, default=DEFAULT_CONFIG_PATH, metavar="PATH")
    run.add_argument("--output", type=Path, default=DEFAULT_OUTPUT_DIR, metavar="DIR")
    run.add_argument(
        "--feed",
        action="append",
        default=[],
        metavar="NAME",
        help="archive only this feed (repeatable)",
    )
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="fetch, parse and convert, but write nothing",
    )

    check = commands.add_parser(
        "check",
        help="validate the config without touching the network; "
        "with --output, also the front matter of every archived file",
    )
    check.add_argument("--config", type=Path, default=DEFAULT_CONFIG_PATH, metavar="PATH")
    check.add_argument("--output", type=Path, default=None, metavar="DIR")
    return parser


def _error(stderr: TextIO, message: str) -> None:
    print(f"{PROG}: {message}", file=stderr, flush=True)


def _say(stdout: TextIO, message: str) -> None:
    # Flushed line by line so that a log collecting both streams (cron's
    # `>> log 2>&1`) keeps errors and progress in the order they happened.
    print(message, file=stdout, flush=True)


def _outcome_line(outcome: FeedOutcome) -> str:
    if outcome.status is Status.NOT_MODIFIED:
        return f"{outcome.name}: not modified"
    if outcome.status is Status.SKIPPED:
        return f"{outcome.name}: skipped: {outcome.error}"
    return f"{outcome.name}: {outcome.new} new, {outcome.seen} already archived"


def _print_outcome(outcome: FeedOutcome, stdout: TextIO, stderr: TextIO) -> None:
    if outcome.status is Status.FAILED:
        _error(stderr, f"feed {outcome.name!r} failed: {outcome.error}")
    else:
        _say(stdout, _outcome_line(outcome))
    for warning in outcome.warnings:
        _error(stderr, f"feed {outcome.name!r}: warning: {warning}")


def _run(config: Config, args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    try:
        select_feeds(config, tuple(args.feed))
    except KeyError as exc:
        known = ", ".join(f.name for f in config.feeds)
        _error(stderr, f"no feed named {exc.args[0]!r} in {config.path} (known: {known})")
        return EXIT_USAGE
    options = RunOptions(output=args.output, feed_names=tuple(args.feed), dry_run=args.dry_run)
    try:
        report: RunReport = asyncio.run(
            run_async(config, options, on_outcome=lambda o: _print_outcome(o, stdout, stderr))
        )
    except LockHeldError as exc:
        _error(stderr, str(exc))
        return EXIT_LOCKED
    except StoreError as exc:
        _error(stderr, str(exc))
        return EXIT_FEED_FAILED
    for warning in report.warnings:
        _error(stderr, f"warning: {warning}")
    if report.aborted:
        _error(stderr, f"stopped: {report.aborted}")
    prefix = "dry run, nothing written; " if args.dry_run else ""
    _say(stdout, f"{PROG}: {prefix}{report.summary()}")
    return EXIT_FEED_FAILED if report.failed else EXIT_OK


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    args = _parser().parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        _error(stderr, str(exc))
        return EXIT_USAGE
    if args.command == "check":
        _say(stdout, f"{config.path}: {len(config.feeds)} feeds, configuration OK")
        return _check_archive(args.output, stdout, stderr) if args.output else EXIT_OK
    return _run(config, args, stdout, stderr)


def _check_archive(output: Path, stdout: TextIO, stderr: TextIO) -> int:
    damaged = 0
    for relpath, problem in Archive(output).damaged_entries():
        damaged += 1
        _error(stderr, f"{output / relpath}: {problem}")
    if damaged:
        _say(stdout, f"{output}: {damaged} archived files need attention (never overwritten)")
        return EXIT_FEED_FAILED
    _say(stdout, f"{output}: every archived file reads")
    return EXIT_OK
