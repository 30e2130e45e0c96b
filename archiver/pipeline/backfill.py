"""`archiver backfill`: a feed's history, beyond the entries its live document carries.

The walk: the requests, paced per host, through the pipeline's Session, so a backfilled
entry is written exactly as `run` writes it. What to fetch and when to stop is decided in
`backfill_plan`; where each walk stands is kept by `backfill_progress`.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import httpx

from archiver.archive.store import STATE_DIR
from archiver.clock import Clock, utcnow
from archiver.config.model import DEFAULT_MAX_PAGES, Access, Config, FeedConfig
from archiver.errors import FeedError, FetchError
from archiver.fetch.guard import private_address_problem
from archiver.fetch.messages import PAGE
from archiver.fetch.retry import Sleep
from archiver.models import Entry, FetchResult, ParsedFeed
from archiver.pipeline.backfill_plan import (
    Snapshot,
    Source,
    Step,
    cdx_url,
    first_page,
    history_source,
    next_page,
    off_site,
    older_than,
    page_limit_warning,
    parse_cdx,
    past_the_last_page,
    repeats_a_page,
    snapshot_url,
    snapshots_to_fetch,
    step_before,
    stop_warning,
)
from archiver.pipeline.backfill_progress import PROGRESS_FILE, Progress, Walk
from archiver.pipeline.backfill_report import BackfillReport, FeedBackfill
from archiver.pipeline.decide import select_feeds
from archiver.pipeline.session import Session, open_session
from archiver.urls import host_of, normalise_url

T = TypeVar("T")


@dataclass(frozen=True)
class BackfillOptions:
    output: Path
    feed_names: tuple[str, ...] = ()  # empty: every feed
    max_pages: int = DEFAULT_MAX_PAGES  # per feed and source, in one backfill
    since: datetime | None = None
    wayback: bool = False
    dry_run: bool = False
    release_workers: bool = False


class Pacer:
    """One request at a time per host, `delay` seconds apart: a backfill asks a site for
    hundreds of pages, where a run asks for one."""

    def __init__(self, delay: float, sleep: Sleep) -> None:
        self._delay = delay
        self._sleep = sleep
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._asked: set[str] = set()

    async def fetch(self, host: str, request: Callable[[], Awaitable[T]]) -> T:
        async with self._locks[host]:
            if host in self._asked and self._delay:
                await self._sleep(self._delay)
            self._asked.add(host)
            return await request()


class _Stop(Exception):
    """Ends a walk: with `warning` for a loop or a link off the site; `finished` when
    there is nothing left to fetch next time."""

    def __init__(self, warning: str | None = None, *, finished: bool = True) -> None:
        super().__init__(warning)
        self.warning = warning
        self.finished = finished


@dataclass
class _FeedWalker:
    feed: FeedConfig
    config: Config
    options: BackfillOptions
    session: Session
    pacer: Pacer
    progress: Progress
    report: FeedBackfill
    # The host the live document was finally served from, after redirects: its pages
    # are the feed's own site too.
    served_from: tuple[str, ...] = ()

    async def fetch(self, url: str, *, wayback: bool = False) -> FetchResult:
        """A page of the feed's history: the fetcher's limits, retries and Retry-After,
        one request at a time per host. A page the feed's own site does not serve is
        guarded against private addresses as any address from feed content is."""
        access = self.feed.request
        if wayback:
            access = Access(url)  # the feed's headers and credentials are not the archive's
        elif off_site(url, self._hosts()):
            if not self.feed.allow_private:
                problem = await private_address_problem(url, PAGE)
                if problem:
                    raise FetchError(problem)
            access = Access(url, headers=access.headers)  # credentials stay with the feed
        else:
            access = replace(access, url=url)
        feed = replace(self.feed, url=url, access=access)
        return await self.pacer.fetch(host_of(url), lambda: self.session.fetcher.fetch(feed, None))

    def _hosts(self) -> set[str]:
        return {host_of(self.feed.url), *self.served_from}

    async def read(self, fetched: FetchResult, *, original: str | None = None) -> ParsedFeed:
        # Links resolve against the document that holds them; ids key on the feed's URL.
        fetched = replace(fetched, url=original or fetched.url, feed_url=self.feed.url)
        return await self.session.parse(fetched)

    async def archive(self, source: Source, parsed: ParsedFeed, entries: Sequence[Entry]) -> None:
        report = self.report.source(source)
        report.pages += 1
        report.entries += len(entries)
        archived = await self.session.archive_entries(self.feed, parsed, entries)
        report.new += len(archived.written)
        report.already_archived += archived.already_archived
        report.failures += archived.failures
        report.written += archived.written
        self.report.warnings += archived.warnings

    def kept(self, parsed: ParsedFeed) -> tuple[list[Entry], bool]:
        """The entries of `parsed` not older than --since, and whether any was."""
        since = self.options.since
        kept = [e for e in parsed.entries if not older_than(e, since)]
        return kept, len(kept) < len(parsed.entries)

    async def run(self) -> None:
        if self.feed.request.url != self.feed.url:
            # The pages of its history would be built from, and recorded with, an address
            # that shows the secret's marker, not the secret.
            self.report.error = (
                "its url holds a secret (${NAME}, a password or a credential parameter): "
                "backfill walks only feeds whose address holds none"
            )
            return
        try:
            fetched = await self.pacer.fetch(
                host_of(self.feed.url), lambda: self.session.fetcher.fetch(self.feed, None)
            )
            live = await self.read(fetched)
        except FeedError as exc:
            self.report.error = str(exc)
            return
        self.served_from = (host_of(fetched.url),)
        entries, _ = self.kept(live)
        await self.archive(Source.FEED, live, entries)
        if live.complete:
            # RFC 5005 section 2: a complete feed holds every entry it ever will.
            self.report.note = "complete feed (fh:complete), nothing more to fetch"
            return
        source = history_source(live)
        if source is not None:
            await self.walk(source, live)
        elif not self.options.wayback:
            self.report.note = (
                "no history found (no prev-archive or next link, not WordPress or Blogger; "
                "--wayback asks the Wayback Machine)"
            )
        if self.options.wayback:
            await self.wayback()

    async def walk(self, source: Source, live: ParsedFeed) -> None:
        saved = self.progress.walk(self.feed, source)
        if saved.finished and source is not Source.ARCHIVES:
            self.report.source(source)  # walked to its end before: no request
            return
        walk = saved
        # Archive documents never change: the walk starts again from the live document
        # each time (a newer archive may have appeared) and passes the ones done freely.
        url = first_page(source, self.feed.url, live)
        if source is not Source.ARCHIVES and saved.next:
            url = saved.next
        visited = set() if source is Source.ARCHIVES else set(walk.visited)
        seen_ids: set[str] = {e.id for e in live.entries}
        pages = 0
        try:
            while url is not None:
                step = step_before(
                    source,
                    url,
                    visited=visited,
                    done=walk.done,
                    hosts=self._hosts(),
                    offsite_allowed=self.feed.backfill_offsite,
                    pages=pages,
                    max_pages=self.options.max_pages,
                )
                visited.add(normalise_url(url))
                if step is Step.LOOP:
                    raise _Stop(stop_warning(step, source, url, self.options.max_pages))
                if step is Step.PASS:
                    url = walk.done[url]
                    continue
                if step is Step.OFF_SITE:
                    walk.next = url
                    raise _Stop(
                        stop_warning(step, source, url, self.options.max_pages), finished=False
                    )
                if step is Step.PAGE_LIMIT:
                    walk.next = url
                    self.report.warnings.append(page_limit_warning(source, self.options.max_pages))
                    break
                url = await self.page(source, url, walk, seen_ids)
                pages += 1
            else:
                walk.finished = True
                walk.next = None
        except _Stop as stop:
            if stop.warning:
                self.report.warnings.append(stop.warning)
            if stop.finished:
                walk.next = None
                walk.finished = True
        except FeedError as exc:
            self.report.source(source).failures += 1
            self.report.error = f"{source.value}: {exc}"
        self.report.source(source)
        self.progress.save(self.feed, source, walk)

    async def page(self, source: Source, url: str, walk: Walk, seen_ids: set[str]) -> str | None:
        """Fetch and archive one page; the page after it. The walk's progress is saved
        once its entries are on disk."""
        walk.next = url
        try:
            fetched = await self.fetch(url)
        except FetchError as exc:
            if past_the_last_page(source, exc.status):
                raise _Stop() from None
            raise
        parsed = await self.read(fetched)
        ids = {entry.id for entry in parsed.entries}
        if repeats_a_page(source, ids, seen_ids):
            raise _Stop()
        seen_ids |= ids
        entries, older = self.kept(parsed)
        await self.archive(source, parsed, entries)
        following = next_page(source, url, parsed)
        if older:
            # Entries older than --since: the walk stops here, and starts here next time.
            raise _Stop(finished=False)
        if source is Source.ARCHIVES:
            walk.done[url] = following
        else:
            walk.visited.append(normalise_url(url))
            walk.next = following
        self.progress.save(self.feed, source, walk)
        return following

    async def wayback(self) -> None:
        """Every distinct snapshot of the feed the Wayback Machine holds, each once."""
        walk = self.progress.walk(self.feed, Source.WAYBACK)
        report = self.report.source(Source.WAYBACK)
        wayback = self.config.wayback_url
        try:
            index = await self.fetch(cdx_url(wayback, self.feed.url), wayback=True)
            try:
                snapshots = parse_cdx(index.body)
            except ValueError as exc:
                raise FetchError(f"the Wayback Machine's index does not read: {exc}") from None
            wanted, limited = snapshots_to_fetch(
                snapshots,
                done=walk.done,
                since=self.options.since,
                max_pages=self.options.max_pages,
            )
            for snapshot in wanted:
                await self.snapshot(snapshot, walk)
            if limited:
                self.report.warnings.append(
                    page_limit_warning(Source.WAYBACK, self.options.max_pages)
                )
        except FeedError as exc:
            report.failures += 1
            self.report.error = f"wayback: {exc}"

    async def snapshot(self, snapshot: Snapshot, walk: Walk) -> None:
        fetched = await self.fetch(snapshot_url(self.config.wayback_url, snapshot), wayback=True)
        parsed = await self.read(fetched, original=snapshot.original)
        when = snapshot.instant
        origin = (("via", "wayback"),) + ((("snapshot", when.isoformat()),) if when else ())
        entries, _ = self.kept(parsed)
        await self.archive(Source.WAYBACK, parsed, [replace(e, origin=origin) for e in entries])
        walk.done[snapshot.timestamp] = None
        self.progress.save(self.feed, Source.WAYBACK, walk)


async def backfill_async(
    config: Config,
    options: BackfillOptions,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: Sleep = asyncio.sleep,
    clock: Clock = utcnow,
    on_feed: Callable[[FeedBackfill], None] | None = None,
) -> BackfillReport:
    """Walk the history of the selected feeds (KeyError for a name the config lacks).
    Raises LockHeldError, StoreError."""
    feeds = select_feeds(config, options.feed_names)
    report = BackfillReport()
    progress = Progress(options.output / STATE_DIR / PROGRESS_FILE, dry_run=options.dry_run)
    report.warnings += [progress.warning] if progress.warning else []
    pacer = Pacer(config.backfill_delay, sleep)
    session_context = open_session(
        config,
        feeds,
        output=options.output,
        dry_run=options.dry_run,
        release_workers=options.release_workers,
        transport=transport,
        sleep=sleep,
        clock=clock,
    )
    async with session_context as session:

        async def one(feed: FeedConfig) -> None:
            outcome = FeedBackfill(feed.name, feed.url)
            walker = _FeedWalker(feed, config, options, session, pacer, progress, outcome)
            await walker.run()
            report.feeds.append(outcome)
            if on_feed:
                on_feed(outcome)

        await asyncio.gather(*(one(feed) for feed in feeds))
    return report
