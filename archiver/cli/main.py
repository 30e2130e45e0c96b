"""The command line: parse arguments, call the pipeline, print, map the report to an exit code.

Exit status: 0 every feed fetched (200 or 304); 1 some feed failed (with --fail-after N:
failed N runs in a row), or the archive could not be written (for `check --output`: some
archived file does not read); 2 usage or config error (`init`: the file exists already);
3 another run holds the lock; 130, 143 stopped by Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import errno
import json
import os
import shlex
import signal
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeVar

# What every command needs is imported here; the pipeline, the network and the
# subscription editing (feedparser, BeautifulSoup, lxml, markdownify, httpx, asyncio)
# are imported by the commands that use them, when they run: `--version`, `--help`
# and `check` answer without loading them.
from archiver.about import __version__
from archiver.archive.disk import REAL_DISK, Disk
from archiver.archive.health import (
    DEFAULT_FAILING_DAYS,
    DEFAULT_SILENT_DAYS,
    FeedStatus,
    feed_statuses,
)
from archiver.archive.pages import DEFAULT_FORM, PageForm, page_form
from archiver.archive.shard import Shard
from archiver.clock import utcnow
from archiver.config.load import (
    DEFAULT_CONFIG_PATH,
    DEFAULT_MAX_PAGES,
    DEFAULT_OUTPUT_DIR,
    Config,
    FeedConfig,
    load_config,
)
from archiver.config.secrets import MARKER, Redactor, credential_hint, redact_url
from archiver.config.starter import write_starter_config
from archiver.errors import ConfigError, FetchError, LockHeldError, StoreError
from archiver.models import RunReport, Status, current_state
from archiver.report.console import (
    NORMAL,
    QUIET,
    VERBOSE,
    JsonReporter,
    PlainReporter,
    TerminalReporter,
    error,
    redacted,
    say,
)
from archiver.report.status import status_document, status_table
from archiver.report.structured import run_report, step_summary, workflow_annotations
from archiver.text import plural

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from archiver.subscriptions import FoundFeed

T = TypeVar("T")

EXIT_OK = 0
EXIT_FEED_FAILED = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3
# Stopped by a signal, as a shell reports it: 128 + the signal's number.
EXIT_INTERRUPTED = 128 + signal.SIGINT
EXIT_TERMINATED = 128 + signal.SIGTERM

# `archiver run` stops its worker processes before it builds the index pages (see
# Workers.release). The test suite, which runs commands in-process hundreds of times,
# turns this off and keeps one pool.
RELEASE_WORKERS = True


def _positive(kind: type[float] | type[int]) -> argparse._ActionType:
    def parse(text: str) -> float | int:
        value = kind(text)
        if value < 0:
            raise argparse.ArgumentTypeError(f"expected a number of at least 0, got {text}")
        return value

    return parse


def _shard(text: str) -> Shard:
    try:
        return Shard.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CONFIG_PATH,
        metavar="PATH",
        help="the list of feeds (default: %(default)s)",
    )


def _output_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT_DIR,
        metavar="DIR",
        help="the archive's folder (default: %(default)s)",
    )


def _since(text: str) -> datetime:
    """--since: a date (YYYY-MM-DD) or an ISO 8601 time; UTC unless it says otherwise."""
    try:
        moment = datetime.fromisoformat(text.strip())
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a date such as 2020-01-31 (or an ISO 8601 time), got {text!r}"
        ) from None


def _backfill_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-pages",
        type=_positive(int),
        default=DEFAULT_MAX_PAGES,
        metavar="N",
        help="fetch at most N pages per feed and source (default %(default)s); "
        "the next backfill goes on from there",
    )
    parser.add_argument(
        "--since", type=_since, metavar="DATE", help="stop at entries older than DATE"
    )
    parser.add_argument(
        "--wayback",
        action="store_true",
        help="also the feed's snapshots in the Wayback Machine (wayback_url)",
    )


def _backfill_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    backfill = _command_parser(
        commands,
        "backfill",
        "archive the feeds' past entries: RFC 5005 archives, paged feeds, WordPress, Blogger",
    )
    _config_option(backfill)
    _output_option(backfill)
    backfill.add_argument(
        "--feed", action="append", default=[], metavar="NAME", help="only this feed (repeatable)"
    )
    _backfill_options(backfill)
    backfill.add_argument("--dry-run", action="store_true", help="fetch, parse; write nothing")
    backfill.add_argument(
        "--report", type=Path, metavar="PATH", help="write a JSON report per feed and source here"
    )
    backfill_loudness = backfill.add_mutually_exclusive_group()
    backfill_loudness.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    backfill_loudness.add_argument(
        "-v", "--verbose", action="store_true", help="a line per entry too"
    )


def _command_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, summary: str
) -> argparse.ArgumentParser:
    """A subcommand whose --help starts with the line the top-level help lists it by."""
    description = summary[0].upper() + summary[1:] + "."
    return commands.add_parser(name, help=summary, description=description)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="archiver",
        description="Archive RSS, Atom, RDF and JSON feeds as Markdown files.",
        epilog="Exit status: 0 all feeds fetched, 1 some feed failed, 2 usage or config "
        "error, 3 another run holds the archive's lock, 130 or 143 stopped by Ctrl-C or "
        "SIGTERM. Start with `archiver init`, then `archiver add URL`.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = _command_parser(
        commands, "init", "write a commented feeds.yaml to start from (never overwrites one)"
    )
    _config_option(init)

    run = _command_parser(commands, "run", "fetch the feeds and archive new entries")
    _config_option(run)
    _output_option(run)
    run.add_argument(
        "--feed", action="append", default=[], metavar="NAME", help="only this feed (repeatable)"
    )
    run.add_argument("--dry-run", action="store_true", help="fetch, parse, convert; write nothing")
    run.add_argument(
        "--wait",
        type=_positive(float),
        default=0.0,
        metavar="SECONDS",
        help="wait this long for another run's lock instead of exiting with status 3",
    )
    run.add_argument(
        "--report", type=Path, metavar="PATH", help="write a JSON report of the run here"
    )
    run.add_argument(
        "--fail-after",
        type=_positive(int),
        default=1,
        metavar="N",
        help="exit with status 1 only for feeds that have failed N runs in a row (default 1)",
    )
    loudness = run.add_mutually_exclusive_group()
    loudness.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    loudness.add_argument("-v", "--verbose", action="store_true", help="a line per entry too")
    run.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="json: one JSON object per line, for log collectors (default: %(default)s)",
    )
    run.add_argument(
        "--shard",
        type=_shard,
        metavar="K/N",
        help="archive only the feeds of shard K of N (by URL hash), for parallel jobs",
    )

    run.add_argument(
        "--apply-redirects",
        action="store_true",
        help="after the run, replace the url of feeds that moved permanently, in the config",
    )

    _backfill_parser(commands)

    add = _command_parser(
        commands,
        "add",
        "add a feed, or the feed a web page advertises; creates the config if there is none",
    )
    add.add_argument("url", metavar="URL", help="a feed, or a web page that advertises one")
    _config_option(add)
    add.add_argument("--name", metavar="NAME", help="default: from the feed's title")
    add.add_argument(
        "--category", action="append", default=[], metavar="C", help="a category (repeatable)"
    )
    add.add_argument("--pick", type=int, metavar="K", help="which of several feeds found (1..)")
    add.add_argument(
        "--backfill", action="store_true", help="then archive the feed's past entries as well"
    )
    _output_option(add)
    _backfill_options(add)

    remove = _command_parser(commands, "remove", "remove a feed from the config")
    remove.add_argument("name", metavar="NAME")
    _config_option(remove)

    import_opml = _command_parser(commands, "import-opml", "add the feeds of an OPML file")
    import_opml.add_argument("file", type=Path, metavar="FILE")
    _config_option(import_opml)

    export_opml = _command_parser(commands, "export-opml", "print the feeds as OPML 2.0")
    _config_option(export_opml)

    index = _command_parser(
        commands,
        "index",
        "rebuild the archive's README.md and monthly index.md pages "
        "(_index.md for a Hugo, Hexo or Jekyll site)",
    )
    _output_option(index)
    # The pages come from the archive; the configuration, where there is one, only
    # says which form they take (a site flavour's _index.md).
    index.add_argument(
        "--config",
        type=Path,
        metavar="PATH",
        help=f"whose feeds' flavour gives the pages' form (default: {DEFAULT_CONFIG_PATH} "
        "if there is one)",
    )

    check = _command_parser(
        commands,
        "check",
        "validate the config without touching the network; "
        "with --output, also the front matter of every archived file",
    )
    _config_option(check)
    check.add_argument(
        "--output",
        type=Path,
        default=None,
        metavar="DIR",
        help="also read every archived file of this archive (default: the config only)",
    )

    status = _command_parser(commands, "status", "the health of every feed, from the archive")
    _config_option(status)
    _output_option(status)
    status.add_argument("--json", action="store_true", help="one JSON document for machines")
    status.add_argument(
        "--failing-days",
        type=_positive(float),
        default=DEFAULT_FAILING_DAYS,
        metavar="DAYS",
        help=f"flag feeds failing for longer (default {DEFAULT_FAILING_DAYS})",
    )
    status.add_argument(
        "--silent-days",
        type=_positive(float),
        default=DEFAULT_SILENT_DAYS,
        metavar="DAYS",
        help=f"flag feeds with no new entry for longer (default {DEFAULT_SILENT_DAYS})",
    )
    return parser


def _reporter(
    args: argparse.Namespace, total: int, stdout: TextIO, stderr: TextIO
) -> PlainReporter | JsonReporter:
    verbosity = QUIET if args.quiet else VERBOSE if args.verbose else NORMAL
    if args.log_format == "json":
        return JsonReporter(stdout, verbosity)
    if stdout.isatty() and stderr.isatty():
        return TerminalReporter(stdout, stderr, verbosity, total=total)
    return PlainReporter(stdout, stderr, verbosity)


def _in_github_actions(
    report: RunReport, stdout: TextIO, redactor: Redactor, env: Mapping[str, str]
) -> None:
    """The step summary table and a ::warning per failing feed, when run by GitHub Actions."""
    if env.get("GITHUB_ACTIONS") != "true":
        return
    for line in workflow_annotations(report):
        say(stdout, line)
    summary = env.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(redactor.text(step_summary(report)))


def _exit_status(report: RunReport, fail_after: int) -> int:
    if report.aborted:
        return EXIT_FEED_FAILED
    for outcome in report.outcomes:
        if outcome.status is Status.FAILED:
            streak = report.health[outcome.name].consecutive_failures
            if streak >= fail_after:
                return EXIT_FEED_FAILED
    return EXIT_OK


def _no_feeds_yet(config_path: Path) -> str:
    add = "archiver add URL"
    if config_path != DEFAULT_CONFIG_PATH:
        add += f" --config {shlex.quote(str(config_path))}"
    return f"no feeds yet; add one with `{add}`"


def _run(
    config: Config,
    args: argparse.Namespace,
    stdout: TextIO,
    stderr: TextIO,
    env: Mapping[str, str],
    *,
    disk: Disk,
) -> int:
    from archiver.pipeline.run import RunOptions, run_async
    from archiver.pipeline.workers import return_large_blocks

    if not config.feeds and not args.feed:
        say(stdout, f"{config.path}: {_no_feeds_yet(config.path)}")
        return EXIT_OK
    feeds = _selected(config, tuple(args.feed), args.shard, stderr)
    if feeds is None:
        return EXIT_USAGE
    redactor = Redactor(config.secrets)
    return_large_blocks()  # this process holds feeds of megabytes too
    options = RunOptions(
        output=args.output,
        feed_names=tuple(args.feed),
        dry_run=args.dry_run,
        wait=args.wait,
        shard=args.shard,
        release_workers=RELEASE_WORKERS,
    )
    reporter = _reporter(args, len(feeds), stdout, stderr)
    running = run_async(config, options, on_outcome=reporter.outcome, disk=disk)
    outcome = _until_stopped(running, stderr)
    if isinstance(outcome, int):
        return outcome
    report = outcome
    reporter.finish(report, dry_run=args.dry_run)
    _in_github_actions(report, stdout, redactor, env)
    if args.report and not _write_report(args.report, run_report(report), redactor, stderr):
        return EXIT_FEED_FAILED
    if args.apply_redirects and not args.dry_run:
        _apply_redirects(config, args.output, stdout)
    return _exit_status(report, args.fail_after)


_STOPPED = "what was archived is kept; the next run fetches the rest"


def _backfill(
    config: Config,
    args: argparse.Namespace,
    stdout: TextIO,
    stderr: TextIO,
    *,
    quiet: bool = False,
    verbose: bool = False,
) -> int:
    from archiver.pipeline.backfill import BackfillOptions, FeedBackfill, backfill_async

    if _selected(config, tuple(args.feed), None, stderr) is None:
        return EXIT_USAGE
    options = BackfillOptions(
        output=args.output,
        feed_names=tuple(args.feed),
        max_pages=args.max_pages,
        since=args.since,
        wayback=args.wayback,
        dry_run=getattr(args, "dry_run", False),
        release_workers=RELEASE_WORKERS,
    )

    def show(feed: FeedBackfill) -> None:
        if feed.error:
            error(stderr, f"feed {feed.name!r} failed: {feed.error}")
        if not quiet:
            say(stdout, feed.line())
            for warning in feed.warnings:
                error(stderr, f"feed {feed.name!r}: warning: {warning}")
        if verbose:
            for entry in feed.written:
                say(stdout, f"  + {entry.path}")

    outcome = _until_stopped(
        backfill_async(config, options, on_feed=show), stderr, stopped=_STOPPED_BACKFILL
    )
    if isinstance(outcome, int):
        return outcome
    report = outcome
    for warning in report.warnings:
        error(stderr, f"warning: {warning}")
    if not quiet:
        prefix = "dry run, nothing written; " if options.dry_run else ""
        say(stdout, f"archiver: {prefix}{report.summary()}")
    report_path = getattr(args, "report", None)
    redactor = Redactor(config.secrets)
    if report_path and not _write_report(report_path, report.record(), redactor, stderr):
        return EXIT_FEED_FAILED
    return EXIT_FEED_FAILED if report.failed else EXIT_OK


_STOPPED_BACKFILL = "what was archived is kept; the next backfill goes on from there"


def _selected(
    config: Config, names: tuple[str, ...], shard: Shard | None, stderr: TextIO
) -> tuple[FeedConfig, ...] | None:
    """The feeds a run or a backfill takes; None, once said why, when it cannot start:
    an unknown name, or a variable one of them needs is not set."""
    from archiver.pipeline.decide import select_feeds

    try:
        feeds = select_feeds(config, names, shard)
    except KeyError as exc:
        known = ", ".join(f.name for f in config.feeds) or "none"
        error(stderr, f"no feed named {exc.args[0]!r} in {config.path} (known: {known})")
        return None
    unset = config.unset_for(feeds)
    for problem in unset:
        error(stderr, str(problem))
    return None if unset else tuple(feeds)


def _until_stopped(work: Awaitable[T], stderr: TextIO, stopped: str = _STOPPED) -> T | int:
    """What `work` returns, or the exit status of what stopped it, once said."""
    import asyncio

    try:
        return asyncio.run(_stoppable(work))
    except LockHeldError as exc:
        error(stderr, str(exc))
        return EXIT_LOCKED
    except StoreError as exc:
        error(stderr, str(exc))
        return EXIT_FEED_FAILED
    except KeyboardInterrupt:
        error(stderr, f"interrupted: {stopped}")
        return EXIT_INTERRUPTED
    except asyncio.CancelledError:  # SIGTERM, by _stoppable
        error(stderr, f"terminated (SIGTERM): {stopped}")
        return EXIT_TERMINATED


def _write_report(path: Path, record: object, redactor: Redactor, stderr: TextIO) -> bool:
    """The --report file, every secret of the run replaced; False, once said, if it could
    not be written."""
    from archiver.archive.disk import write_atomic

    document = redactor.text(json.dumps(record, ensure_ascii=False, indent=2) + "\n")
    try:
        write_atomic(path, document.encode("utf-8"))
    except OSError as exc:
        error(stderr, f"cannot write the report {path}: {exc.strerror}")
        return False
    return True


async def _stoppable(run: Awaitable[T]) -> T:
    """`run`, which SIGTERM (cron's `timeout`, a cancelled CI job, systemd) stops the way
    asyncio stops it on Ctrl-C: at its next await, so the feeds already archived keep
    their state, the writes under way finish, and the lock is released."""
    import asyncio

    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    handled = False
    # No signal handlers outside the main thread, nor on Windows: SIGTERM then kills.
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
        handled = True
    try:
        return await run
    finally:
        if handled:
            loop.remove_signal_handler(signal.SIGTERM)


def _apply_redirects(config: Config, output: Path, stdout: TextIO) -> None:
    from archiver.archive.store import Archive
    from archiver.subscriptions import apply_redirects

    states, _ = Archive(output).load_state(utcnow(), set_aside=False)
    moves = [
        (feed.name, state.permanent_redirect)
        for feed in config.feeds
        if (state := current_state(states.get(feed.name), feed.url)) and state.permanent_redirect
    ]
    for name, url in moves:
        if MARKER in url:
            say(stdout, f"{name}: moved to {url}; its url carries a secret, so change it by hand")
    moves = [(name, url) for name, url in moves if MARKER not in url]
    for name in apply_redirects(config.path, moves):
        say(stdout, f"{name}: url updated in {config.path} to {dict(moves)[name]}")


def _no_archive_at(output: Path, stderr: TextIO) -> bool:
    """True, once said, when `output` is no folder: a mistyped --output is not an empty
    archive (and `index` would make one there)."""
    if output.is_dir():
        return False
    error(stderr, f"{output}: no archive there (no such folder)")
    return True


def _check_archive(output: Path, stdout: TextIO, stderr: TextIO) -> int:
    from archiver.archive.store import Archive

    if _no_archive_at(output, stderr):
        return EXIT_USAGE
    archive = Archive(output)
    damaged = 0
    for relpath, problem in archive.damaged_entries():
        damaged += 1
        error(stderr, f"{output / relpath}: {problem}")
    if damaged:
        files = plural(damaged, "archived file needs", "archived files need")
        say(stdout, f"{output}: {files} attention (never overwritten)")
        return EXIT_FEED_FAILED
    if not archive.scan_ids(remove_temporary=False):
        say(stdout, f"{output}: no archived files yet")
    else:
        say(stdout, f"{output}: every archived file reads")
    return EXIT_OK


def _status_rows(config: Config, args: argparse.Namespace) -> list[FeedStatus]:
    from archiver.archive.store import Archive

    archive = Archive(args.output)
    now = utcnow()
    states, _ = archive.load_state(now, set_aside=False)
    ids = archive.scan_ids(remove_temporary=False)
    catalog = archive.catalog.reconcile(archive.root, ids, persist=False)
    return feed_statuses(
        config.feeds,
        states,
        archive.health_of_every_shard(),
        catalog.values(),
        now=now,
        failing_days=args.failing_days,
        silent_days=args.silent_days,
    )


def _status(config: Config, args: argparse.Namespace, stdout: TextIO) -> int:
    rows = _status_rows(config, args)
    if not rows and not args.json:
        say(stdout, f"{config.path}: {_no_feeds_yet(config.path)}")
        return EXIT_OK
    if args.json:
        say(stdout, json.dumps(status_document(rows), ensure_ascii=False, indent=2))
        return EXIT_OK
    for line in status_table(rows):
        say(stdout, line)
    return EXIT_OK


def _add(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """Like the other subscription commands, but a missing config is created (once a
    feed is found), not an error: it is how a new user starts."""
    import asyncio

    from archiver.subscriptions import NewFeed, add_feed, find_feeds
    from archiver.urls import is_web_url

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
    choice = found[0]
    pick = args.pick
    if pick is not None and not 1 <= pick <= len(found):
        _list_found(found, stdout)
        numbered = f"{_found(len(found))}, numbered 1 to {len(found)}"
        error(stderr, f"--pick {pick} is out of range: {numbered}")
        return EXIT_USAGE
    if len(found) > 1:
        if pick is None:
            _list_found(found, stdout)
            pick = _ask(len(found), stdout) if sys.stdin.isatty() else None
        if pick is None:
            error(stderr, f"{_found(len(found))}; choose one with --pick K")
            return EXIT_USAGE
        choice = found[pick - 1]
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
        return _backfill(config, args, stdout, stderr)
    return EXIT_OK


def _found(count: int) -> str:
    return f"{plural(count, 'feed')} found"


def _list_found(found: Sequence[FoundFeed], stdout: TextIO) -> None:
    for number, feed in enumerate(found, 1):
        say(stdout, f"{number}. {feed.title or '(untitled)'}  {redact_url(feed.url)}")


def _ask(count: int, stdout: TextIO) -> int | None:
    """A number from 1 to `count` typed at the terminal, or None."""
    stdout.write(f"Which one (1-{count})? ")
    stdout.flush()
    answer = sys.stdin.readline().strip()
    return int(answer) if answer.isdigit() and 1 <= int(answer) <= count else None


def _remove(config: Config, args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from archiver.subscriptions import remove_feed

    if not remove_feed(config.path, args.name):
        names = [feed.name for feed in config.feeds]
        close = difflib.get_close_matches(args.name, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        error(stderr, f"no feed named {args.name!r} in {config.path}{hint}")
        return EXIT_USAGE
    say(stdout, f"removed {args.name}; its archived entries stay")
    return EXIT_OK


def _import_opml(config: Config, args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from archiver.subscriptions import import_opml

    try:
        data = args.file.read_bytes()
    except OSError as exc:
        error(stderr, f"cannot read {args.file}: {exc.strerror}")
        return EXIT_USAGE
    imported = import_opml(config.path, data, str(args.file))
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


def _export_opml(config: Config, args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from archiver.subscriptions import write_opml

    stdout.write(write_opml(config))
    return EXIT_OK


SUBSCRIPTION_COMMANDS = {
    "remove": _remove,
    "import-opml": _import_opml,
    "export-opml": _export_opml,
}


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    env: Mapping[str, str] | None = None,
    disk: Disk = REAL_DISK,
) -> int:
    """`disk`: what a run writes the archive through (a FaultyDisk in a test)."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    args = _parser().parse_args(argv)
    try:
        return _command(args, stdout, stderr, os.environ if env is None else env, disk=disk)
    except KeyboardInterrupt:  # before or after a run, which handles its own
        error(stderr, "interrupted")
        return EXIT_INTERRUPTED


def _command(
    args: argparse.Namespace,
    stdout: TextIO,
    stderr: TextIO,
    env: Mapping[str, str],
    *,
    disk: Disk = REAL_DISK,
) -> int:
    if args.command == "index":
        return _index(args, stdout, stderr)
    try:
        if args.command == "init":
            return _init(args, stdout)
        if args.command == "add":
            return _add(args, stdout, stderr)
        if args.command == "import-opml" and not args.config.exists():
            # As `add` does: importing a reader's subscriptions is how many start.
            if not args.file.is_file():
                error(stderr, f"cannot read {args.file}: {os.strerror(errno.ENOENT)}")
                return EXIT_USAGE
            write_starter_config(args.config)
            say(stdout, f"created {args.config} (there was none)")
        config = load_config(args.config, env)
    except ConfigError as exc:
        error(stderr, str(exc))
        return EXIT_USAGE
    redactor = Redactor(config.secrets)
    stdout, stderr = redacted(stdout, redactor), redacted(stderr, redactor)
    if args.command == "check":
        if config.feeds:
            say(stdout, f"{config.path}: {plural(len(config.feeds), 'feed')}, configuration OK")
        else:
            say(stdout, f"{config.path}: configuration OK, {_no_feeds_yet(config.path)}")
        for problem in config.unset:
            say(stdout, f"note: {problem} (archiver run needs it)")
        return _check_archive(args.output, stdout, stderr) if args.output else EXIT_OK
    if args.command == "status":
        if config.feeds and _no_archive_at(args.output, stderr):
            return EXIT_USAGE
        return _status(config, args, stdout)
    if args.command == "backfill":
        return _backfill(config, args, stdout, stderr, quiet=args.quiet, verbose=args.verbose)
    if args.command in SUBSCRIPTION_COMMANDS:
        try:
            return SUBSCRIPTION_COMMANDS[args.command](config, args, stdout, stderr)
        except ConfigError as exc:
            error(stderr, str(exc))
            return EXIT_USAGE
    return _run(config, args, stdout, stderr, env, disk=disk)


def _page_form(config_path: Path | None) -> PageForm:
    """The index pages' form, from the flavour of the configured feeds: those of the
    configuration named, else of feeds.yaml if there is one; else the default form."""
    if config_path is None:
        if not Path(DEFAULT_CONFIG_PATH).is_file():
            return DEFAULT_FORM
        config_path = Path(DEFAULT_CONFIG_PATH)
    return page_form(feed.flavor for feed in load_config(config_path).feeds)


def _init(args: argparse.Namespace, stdout: TextIO) -> int:
    write_starter_config(args.config)
    say(stdout, f"wrote {args.config}: {_no_feeds_yet(args.config)}")
    return EXIT_OK


def _index(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from archiver.archive.pages import rebuild_pages
    from archiver.archive.store import Archive

    if _no_archive_at(args.output, stderr):
        return EXIT_USAGE
    try:
        form = _page_form(args.config)
    except ConfigError as exc:
        error(stderr, str(exc))
        return EXIT_USAGE
    try:
        archive = Archive(args.output)
        with archive.lock():
            changed = rebuild_pages(archive, archive.scan_ids(), form=form)
    except LockHeldError as exc:
        error(stderr, str(exc))
        return EXIT_LOCKED
    except StoreError as exc:
        error(stderr, str(exc))
        return EXIT_FEED_FAILED
    say(stdout, f"{args.output}: {plural(len(changed), 'index page')} written")
    return EXIT_OK
