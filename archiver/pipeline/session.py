"""A run's archive and tools for entries found elsewhere than in a feed's live document
(`archiver backfill`): they go through the same ids, conversion and writes as a run's."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from archiver.archive.pages import month_of, page_form, rebuild_pages
from archiver.archive.store import Archive
from archiver.clock import Clock, utcnow
from archiver.config.model import Config, FeedConfig
from archiver.fetch.client import Fetcher
from archiver.fetch.retry import Sleep
from archiver.models import CatalogEntry, Entry, FetchResult, ParsedFeed
from archiver.pipeline.steps import ArchivedEntries, Run
from archiver.pipeline.tools import Tools, open_tools


@dataclass
class Session:
    """A locked archive, its ids and the tools: entries are archived by the same code
    as a run's."""

    archive: Archive
    fetcher: Fetcher
    _run: Run
    _tools: Tools
    written: list[CatalogEntry] = field(default_factory=list)

    async def parse(self, fetched: FetchResult) -> ParsedFeed:
        """The document's entries; ParseError or FeedError when it is no feed we can read."""
        return await self._tools.workers.parse(fetched)

    async def archive_entries(
        self, feed: FeedConfig, parsed: ParsedFeed, entries: Sequence[Entry]
    ) -> ArchivedEntries:
        """Archive the entries not archived yet; on disk when this returns."""
        async with self._tools.slots:
            archived = await self._run.archive_entries(feed, parsed, entries, self._tools)
        self.written.extend(archived.written)
        return archived


@contextlib.asynccontextmanager
async def open_session(
    config: Config,
    feeds: Sequence[FeedConfig],
    *,
    output: Path,
    dry_run: bool = False,
    release_workers: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: Sleep = asyncio.sleep,
    clock: Clock = utcnow,
) -> AsyncIterator[Session]:
    """The archive locked (unless `dry_run`), its ids read and the tools ready; on the way
    out, the pages of the months written to. LockHeldError, StoreError."""
    archive = Archive(output)
    with contextlib.ExitStack() as stack:
        if not dry_run:
            stack.enter_context(archive.lock())
            archive.remove_leftovers()
        writer = stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="archiver-writer"))
        scan = functools.partial(archive.archived_ids, remove_temporary=not dry_run)
        ids_scan = asyncio.get_running_loop().run_in_executor(writer, scan)
        await ids_scan
        run = Run(archive, ids_scan, {}, {}, dry_run, clock(), writer)
        tools_context = open_tools(
            config, archive, feeds, transport=transport, sleep=sleep, clock=clock
        )
        async with tools_context as tools:
            session = Session(archive, tools.fetcher, run, tools)
            try:
                yield session
            finally:
                if release_workers:
                    tools.workers.release()
        if config.pages and session.written and not dry_run:
            months = {month_of(entry) for entry in session.written}
            form = page_form(feed.flavor for feed in config.feeds)
            rebuild_pages(archive, archive.scan_ids(remove_temporary=False), months, form)
