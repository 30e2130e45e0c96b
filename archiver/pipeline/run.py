"""Per feed: state → fetch → parse → skip what is archived → convert → write → state.

Feeds are fetched concurrently; as each arrives it is parsed and its new entries
converted in worker processes (workers.py), side by side with the other feeds.
Everything that touches the archive happens in the event loop's thread and the
writer's, one feed's entries at a time (steps.py), as decide.py decides.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import httpx

from archiver.archive.disk import REAL_DISK, Disk
from archiver.archive.health import next_health
from archiver.archive.pages import month_of, page_form, rebuild_pages
from archiver.archive.shard import Shard
from archiver.archive.store import Archive
from archiver.clock import Clock, utcnow
from archiver.config.model import Config, FeedConfig
from archiver.errors import FeedError, StoreError
from archiver.fetch.retry import Sleep
from archiver.models import FeedOutcome, RunReport, Status
from archiver.pipeline.decide import select_feeds
from archiver.pipeline.memory import return_large_blocks
from archiver.pipeline.steps import STATE_SAVE_INTERVAL, Run
from archiver.pipeline.tools import Tools, open_tools
from archiver.pipeline.workers import WorkerPool

OutcomeHook = Callable[[FeedOutcome], None]


@dataclass(frozen=True)
class RunOptions:
    output: Path
    feed_names: tuple[str, ...] = ()  # empty: every feed
    dry_run: bool = False
    wait: float = 0.0  # seconds to wait for another run's lock before giving up
    shard: Shard | None = None
    # Stop the worker processes once the feeds are done. A program that runs the
    # pipeline many times (the test suite) keeps them instead, having paid to start them.
    release_workers: bool = False


async def _fetch_and_archive(
    run: Run, tools: Tools, feed: FeedConfig
) -> tuple[FeedOutcome, str | None]:
    """The feed's outcome, and why the run must stop if the archive could not be written."""
    async with tools.admission:
        started = time.monotonic()
        try:
            try:
                fetched = await tools.fetcher.fetch(feed, run.states.get(feed.name))
            except FeedError as exc:
                outcome = run.failed(feed, exc)
            else:
                # Feeds are parsed and converted side by side, so every worker has work;
                # the slots bound how many parsed feeds wait in memory at once.
                async with tools.slots:
                    outcome = await run.archive_feed(feed, fetched, tools)
        except StoreError as exc:
            # The archive cannot take more: this feed's state is not advanced, so the
            # next run fetches what was missed.
            return FeedOutcome(feed.name, feed.url, Status.FAILED, error=str(exc)), str(exc)
        return replace(outcome, elapsed=round(time.monotonic() - started, 3)), None


def _finish(run: Run, config: Config, report: RunReport, *, dry_run: bool) -> None:
    """After the feeds: the health of each, and the pages when something was written."""
    assert report.finished is not None
    health = dict(run.health)
    for outcome in report.outcomes:
        health[outcome.name] = next_health(health.get(outcome.name), outcome, report.finished)
    report.health = health
    if dry_run:
        return
    run.archive.save_health(health)
    # A shard sees only part of the archive's new entries: pages built by parallel
    # shards would clash, so `archiver index` builds them once the shards are merged.
    sharded = run.archive.shard is not None
    listed = [
        entry for outcome in report.outcomes for entry in (*outcome.written, *outcome.revised)
    ]
    if config.pages and listed and not report.aborted and not sharded:
        months = {month_of(entry) for entry in listed}
        # The paths from the file names again: the run held only the ids (ids.py).
        form = page_form(feed.flavor for feed in config.feeds)
        rebuild_pages(run.archive, run.archive.scan_ids(remove_temporary=False), months, form)


async def _archive_each(
    run: Run, tools: Tools, feeds: list[FeedConfig], report: RunReport, record: OutcomeHook
) -> None:
    """Every feed fetched and archived side by side, each recorded as it ends; the run
    stops at the first that cannot be written."""
    pending = [asyncio.ensure_future(_fetch_and_archive(run, tools, feed)) for feed in feeds]
    try:
        for next_done in asyncio.as_completed(pending):
            outcome, stop = await next_done
            record(outcome)
            if stop:
                report.aborted = stop
                break
    finally:
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        # Even when interrupted: what the finished feeds vouch for is on disk.
        try:
            run.save_state()
        except StoreError as exc:
            report.aborted = report.aborted or str(exc)


async def run_async(
    config: Config,
    options: RunOptions,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: Sleep = asyncio.sleep,
    clock: Clock = utcnow,
    on_outcome: OutcomeHook | None = None,
    workers: WorkerPool | None = None,
    state_save_interval: float = STATE_SAVE_INTERVAL,
    disk: Disk = REAL_DISK,
    archive: Archive | None = None,
) -> RunReport:
    """Archive the selected feeds. Raises LockHeldError, StoreError only before any feed.

    The seams: `workers`, where feeds are parsed and converted (else as many processes as
    the config says); the state written at most every `state_save_interval` seconds until
    the end; `disk`, what the archive writes through (a FaultyDisk in a test); `archive`,
    the Archive of `options.output` and `options.shard` (a test passes a stand-in)."""
    return_large_blocks()  # this process holds feeds of megabytes too, as the workers do
    feeds = select_feeds(config, options.feed_names, options.shard)
    if archive is None:
        archive = Archive(options.output, options.shard, disk=disk)
    report = RunReport()

    def record(outcome: FeedOutcome) -> None:
        report.outcomes.append(outcome)
        if on_outcome:
            on_outcome(outcome)

    with contextlib.ExitStack() as stack:
        if not options.dry_run:
            stack.enter_context(archive.lock(wait=options.wait))
            archive.remove_leftovers()
        started = report.started = clock()
        states, warning = archive.load_state(started, set_aside=not options.dry_run)
        report.warnings.extend([warning] if warning else [])
        # Left only once every write has finished, so nothing is written after the lock goes.
        writer = stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="archiver-writer"))
        scan = functools.partial(archive.archived_ids, remove_temporary=not options.dry_run)
        ids_scan = asyncio.get_running_loop().run_in_executor(writer, scan)
        health = archive.load_health()
        run = Run(
            archive, ids_scan, states, health, options.dry_run, started, writer, state_save_interval
        )
        to_fetch = []
        for feed in feeds:
            reason = run.skip_reason(feed)
            if reason:
                record(FeedOutcome(feed.name, feed.url, Status.SKIPPED, skip_reason=reason))
            else:
                to_fetch.append(feed)
        tools_context = open_tools(
            config,
            archive,
            to_fetch,
            transport=transport,
            sleep=sleep,
            clock=clock,
            workers=workers,
        )
        async with tools_context as tools:
            await _archive_each(run, tools, to_fetch, report, record)
            if options.release_workers:
                tools.workers.release()
        done = {outcome.name for outcome in report.outcomes}
        for feed in feeds:
            if feed.name not in done:
                error = f"not archived: the run stopped ({report.aborted})"
                record(FeedOutcome(feed.name, feed.url, Status.FAILED, error=error))
        report.finished = clock()
        try:
            _finish(run, config, report, dry_run=options.dry_run)
        except StoreError as exc:
            report.aborted = report.aborted or str(exc)
    return report
