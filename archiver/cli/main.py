"""The command line: parse the arguments, hand them to their command, return its exit status.

Exit status: 0 every feed fetched (200 or 304); 1 some feed failed (with --fail-after N:
failed N runs in a row), or the archive could not be written (for `check --output`: some
archived file does not read); 2 usage or config error (`init`: the file exists already);
3 another run holds the lock; 130, 143 stopped by Ctrl-C or SIGTERM.

What every command needs is imported at the top of the cli modules; the pipeline, the
network and the subscription editing (feedparser, BeautifulSoup, lxml, markdownify, httpx,
asyncio) are imported by the commands that use them, when they run: `--version`, `--help`
and `check` answer without loading them.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TextIO

from archiver.archive.disk import REAL_DISK, Disk
from archiver.cli import archive, feeds, run
from archiver.cli.common import (
    EXIT_FEED_FAILED,
    EXIT_INTERRUPTED,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_TERMINATED,
    EXIT_USAGE,
    Invocation,
)
from archiver.cli.parser import argument_parser
from archiver.config.load import load_config
from archiver.config.model import Config
from archiver.config.secrets import Redactor
from archiver.config.starter import write_starter_config
from archiver.errors import ConfigError
from archiver.report.console import error, redacted, say

__all__ = [
    "EXIT_FEED_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_LOCKED",
    "EXIT_OK",
    "EXIT_TERMINATED",
    "EXIT_USAGE",
    "main",
]

# The commands that take the loaded config, by name.
Command = Callable[[Config, argparse.Namespace, Invocation], int]
_WITH_CONFIG: dict[str, Command] = {
    "run": run.run,
    "backfill": run.backfill,
    "check": feeds.check,
    "status": archive.status,
}
# These edit the config, which may turn out broken only when it is written back.
_EDITING_CONFIG: dict[str, Command] = {
    "remove": feeds.remove,
    "import-opml": feeds.import_opml,
    "export-opml": feeds.export_opml,
}


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    env: Mapping[str, str] | None = None,
    stdin: TextIO | None = None,
    release_workers: bool = False,
    disk: Disk = REAL_DISK,
) -> int:
    """The `archiver` command with these arguments (default: the process's), reading
    and printing these streams; its exit status. `release_workers`, `disk`: see
    Invocation."""
    args = argument_parser().parse_args(argv)
    given = Invocation(
        stdout=stdout or sys.stdout,
        stderr=stderr or sys.stderr,
        env=os.environ if env is None else env,
        stdin=stdin or sys.stdin,
        release_workers=release_workers,
        disk=disk,
    )
    try:
        return _command(args, given)
    except KeyboardInterrupt:  # before or after a run, which handles its own
        error(given.stderr, "interrupted")
        return EXIT_INTERRUPTED


def _command(args: argparse.Namespace, given: Invocation) -> int:
    if args.command == "index":
        return archive.index(args, given)
    try:
        if args.command == "init":
            return feeds.init(args, given)
        if args.command == "add":
            return feeds.add(args, given)
        if args.command == "import-opml" and not args.config.exists():
            # As `add` does: importing a reader's subscriptions is how many start.
            if not args.file.is_file():
                error(given.stderr, f"cannot read {args.file}: {os.strerror(errno.ENOENT)}")
                return EXIT_USAGE
            write_starter_config(args.config)
            say(given.stdout, f"created {args.config} (there was none)")
        config = load_config(args.config, given.env)
    except ConfigError as exc:
        error(given.stderr, str(exc))
        return EXIT_USAGE
    redactor = Redactor(config.secrets)
    given = replace(
        given, stdout=redacted(given.stdout, redactor), stderr=redacted(given.stderr, redactor)
    )
    if args.command in _WITH_CONFIG:
        return _WITH_CONFIG[args.command](config, args, given)
    try:
        return _EDITING_CONFIG[args.command](config, args, given)
    except ConfigError as exc:
        error(given.stderr, str(exc))
        return EXIT_USAGE
