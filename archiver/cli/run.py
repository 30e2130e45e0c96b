"""`archiver run` and `archiver backfill`: archive the feeds' entries, new or past, and
say how it went."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TextIO

from archiver.cli.common import (
    EXIT_FEED_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    Invocation,
    no_feeds_yet,
    selected,
    until_stopped,
    write_report,
)
from archiver.config.model import Config
from archiver.config.secrets import Redactor
from archiver.models import RunReport, Status
from archiver.report.console import (
    NORMAL,
    QUIET,
    VERBOSE,
    JsonReporter,
    PlainReporter,
    TerminalReporter,
    error,
    say,
)
from archiver.report.structured import run_report, step_summary, workflow_annotations

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from archiver.pipeline.backfill_report import FeedBackfill

_STOPPED = "what was archived is kept; the next run fetches the rest"
_STOPPED_BACKFILL = "what was archived is kept; the next backfill goes on from there"


def run(config: Config, args: argparse.Namespace, given: Invocation) -> int:
    from archiver.pipeline.run import RunOptions, run_async

    stdout, stderr = given.stdout, given.stderr
    if not config.feeds and not args.feed:
        say(stdout, f"{config.source}: {no_feeds_yet(config.source)}")
        return EXIT_OK
    feeds = selected(config, tuple(args.feed), args.shard, stderr)
    if feeds is None:
        return EXIT_USAGE
    options = RunOptions(
        output=args.output,
        feed_names=tuple(args.feed),
        dry_run=args.dry_run,
        wait=args.wait,
        shard=args.shard,
        release_workers=given.release_workers,
    )
    reporter = _reporter(args, len(feeds), given)
    running = run_async(config, options, on_outcome=reporter.outcome, disk=given.disk)
    outcome = until_stopped(running, stderr, _STOPPED)
    if isinstance(outcome, int):
        return outcome
    report = outcome
    reporter.finish(report, dry_run=args.dry_run)
    redactor = Redactor(config.secrets)
    _in_github_actions(report, stdout, redactor, given.env)
    if args.report and not write_report(args.report, run_report(report), redactor, stderr):
        return EXIT_FEED_FAILED
    if args.apply_redirects and not args.dry_run:
        _apply_redirects(config, args.output, stdout)
    return _exit_status(report, args.fail_after)


def _reporter(
    args: argparse.Namespace, total: int, given: Invocation
) -> PlainReporter | JsonReporter:
    stdout, stderr = given.stdout, given.stderr
    verbosity = QUIET if args.quiet else VERBOSE if args.verbose else NORMAL
    if args.log_format == "json":
        return JsonReporter(stdout, verbosity)
    if stdout.isatty() and stderr.isatty():
        colour = "NO_COLOR" not in given.env
        return TerminalReporter(stdout, stderr, verbosity, total=total, colour=colour)
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


def _apply_redirects(config: Config, output: Path, stdout: TextIO) -> None:
    from archiver.subscriptions import apply_permanent_redirects

    redirects = apply_permanent_redirects(config, output)
    for name, url in redirects.by_hand:
        say(stdout, f"{name}: moved to {url}; its url carries a secret, so change it by hand")
    for name, url in redirects.applied:
        say(stdout, f"{name}: url updated in {config.source} to {url}")


def backfill(config: Config, args: argparse.Namespace, given: Invocation) -> int:
    from archiver.pipeline.backfill import BackfillOptions, backfill_async

    stdout, stderr = given.stdout, given.stderr
    if selected(config, tuple(args.feed), None, stderr) is None:
        return EXIT_USAGE
    options = BackfillOptions(
        output=args.output,
        feed_names=tuple(args.feed),
        max_pages=args.max_pages,
        since=args.since,
        wayback=args.wayback,
        dry_run=getattr(args, "dry_run", False),
        release_workers=given.release_workers,
    )
    quiet = getattr(args, "quiet", False)
    verbose = getattr(args, "verbose", False)

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

    work = backfill_async(config, options, on_feed=show)
    outcome = until_stopped(work, stderr, _STOPPED_BACKFILL)
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
    if report_path and not write_report(report_path, report.record(), redactor, stderr):
        return EXIT_FEED_FAILED
    return EXIT_FEED_FAILED if report.failed else EXIT_OK
