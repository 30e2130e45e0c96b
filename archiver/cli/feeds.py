"""The commands that read or edit the list of feeds: `init`, `add`, `remove`,
`import-opml`, `export-opml` and `check`."""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from archiver.cli.archive import check_archive
from archiver.cli.common import EXIT_FEED_FAILED, EXIT_OK, EXIT_USAGE, Invocation, no_feeds_yet
from archiver.cli.run import backfill
from archiver.config.load import load_config
from archiver.config.model import Config
from archiver.config.secrets import credential_hint, redact_url
from archiver.config.starter import write_starter_config
from archiver.errors import FetchError
from archiver.report.console import error, say
from archiver.text import plural

if TYPE_CHECKING:
    from archiver.subscriptions import FoundFeed


def init(args: argparse.Namespace, given: Invocation) -> int:
    write_starter_config(args.config)
    say(given.stdout, f"wrote {args.config}: {no_feeds_yet(args.config)}")
    return EXIT_OK


def check(config: Config, args: argparse.Namespace, given: Invocation) -> int:
    """The config as loaded (it was, or the command stopped at its error), and with
    --output the archive's files."""
    stdout = given.stdout
    if config.feeds:
        say(stdout, f"{config.source}: {plural(len(config.feeds), 'feed')}, configuration OK")
    else:
        say(stdout, f"{config.source}: configuration OK, {no_feeds_yet(config.source)}")
    for problem in config.unset:
        say(stdout, f"note: {problem} (archiver run needs it)")
    return check_archive(args.output, stdout, given.stderr) if args.output else EXIT_OK


def add(args: argparse.Namespace, given: Invocation) -> int:
    """Like the other subscription commands, but a missing config is created (once a
    feed is found), not an error: it is how a new user starts."""
    import asyncio

    from archiver.subscriptions import NewFeed, add_feed, find_feeds
    from archiver.urls import is_web_url

    stdout, stderr = given.stdout, given.stderr
    if not is_web_url(args.url):
        guess = "" if "://" in args.url else f"; did you mean 'https://{args.url}'?"
        error(stderr, f"expected an http:// or https:// URL, got {args.url!r}{guess}")
        return EXIT_USAGE
    path: Path = args.config
    exists = path.exists()
    if exists:
        load_config(path)  # a broken config is reported before any request
    try:
        found = asyncio.run(find_feeds(args.url))
    except FetchError as exc:
        error(stderr, str(exc))
        return EXIT_FEED_FAILED
    if not found:
        nowhere = "nor advertised by it, nor at the usual paths"
        error(stderr, f"no feed found at {redact_url(args.url)} ({nowhere})")
        return EXIT_FEED_FAILED
    choice = _choose(found, args.pick, given)
    if choice is None:
        return EXIT_USAGE
    if not exists:
        write_starter_config(path)
        say(stdout, f"created {path} (there was none)")
    new = NewFeed(args.name or choice.title or choice.url, choice.url, tuple(args.category))
    name = add_feed(path, new)
    shown = redact_url(choice.url)
    if name is None:
        say(stdout, f"{shown} is already in {path}")
    else:
        say(stdout, f"added {name}: {shown}")
        hint = credential_hint(choice.url)
        if hint:
            error(stderr, f"warning: {name}: {hint}")
    if args.backfill:
        config = load_config(path)
        named = name or next(f.name for f in config.feeds if f.url == choice.url)
        args.feed = [named]
        return backfill(config, args, given)
    return EXIT_OK


def _choose(found: Sequence[FoundFeed], pick: int | None, given: Invocation) -> FoundFeed | None:
    """The feed --pick names, the one found, or the one the person at the terminal
    types; None, once said why, when none is chosen."""
    stdout, stderr = given.stdout, given.stderr
    if pick is not None and not 1 <= pick <= len(found):
        _list_found(found, stdout)
        numbered = f"{_found(len(found))}, numbered 1 to {len(found)}"
        error(stderr, f"--pick {pick} is out of range: {numbered}")
        return None
    if len(found) == 1:
        return found[0]
    if pick is None:
        _list_found(found, stdout)
        pick = _ask(len(found), stdout, given.stdin) if given.stdin.isatty() else None
    if pick is None:
        error(stderr, f"{_found(len(found))}; choose one with --pick K")
        return None
    return found[pick - 1]


def _found(count: int) -> str:
    return f"{plural(count, 'feed')} found"


def _list_found(found: Sequence[FoundFeed], stdout: TextIO) -> None:
    for number, feed in enumerate(found, 1):
        say(stdout, f"{number}. {feed.title or '(untitled)'}  {redact_url(feed.url)}")


def _ask(count: int, stdout: TextIO, stdin: TextIO) -> int | None:
    """A number from 1 to `count` typed at the terminal, or None."""
    stdout.write(f"Which one (1-{count})? ")
    stdout.flush()
    answer = stdin.readline().strip()
    return int(answer) if answer.isdigit() and 1 <= int(answer) <= count else None


def remove(config: Config, args: argparse.Namespace, given: Invocation) -> int:
    from archiver.subscriptions import remove_feed

    if not remove_feed(config.source, args.name):
        names = [feed.name for feed in config.feeds]
        close = difflib.get_close_matches(args.name, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        error(given.stderr, f"no feed named {args.name!r} in {config.source}{hint}")
        return EXIT_USAGE
    say(given.stdout, f"removed {args.name}; its archived entries stay")
    return EXIT_OK


def import_opml(config: Config, args: argparse.Namespace, given: Invocation) -> int:
    from archiver.subscriptions import import_opml as import_feeds

    stdout, stderr = given.stdout, given.stderr
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        error(stderr, f"cannot read {args.file}: {exc.strerror}")
        return EXIT_USAGE
    imported = import_feeds(config.source, data, str(args.file))
    for name in imported.added:
        say(stdout, f"added {name}")
    for problem in imported.unusable:
        error(stderr, f"{args.file}: skipped {problem}")
    for name, hint in imported.credentials:
        error(stderr, f"warning: {name}: {hint}")
    counts = [f"{plural(len(imported.added), 'feed')} added", f"{imported.present} already there"]
    if imported.unusable:
        counts.append(f"{len(imported.unusable)} skipped")
    say(stdout, ", ".join(counts))
    return EXIT_OK


def export_opml(config: Config, args: argparse.Namespace, given: Invocation) -> int:
    from archiver.subscriptions import write_opml

    given.stdout.write(write_opml(config))
    return EXIT_OK
