"""Per feed: state → fetch → parse → skip what is archived → convert → write → state.

Feeds are fetched concurrently; as each arrives it is parsed and its new entries
converted in worker processes (workers.py), side by side with the other feeds.
Everything that touches the archive happens here, in the event loop's thread,
one feed's entries at a time, and entries reach the disk before the state that
vouches for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import time
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx

import archiver
from archiver.archive.catalog import Written, read_front_matter_entry
from archiver.archive.disk import REAL_DISK, Disk
from archiver.archive.health import next_health
from archiver.archive.ids import IdSet
from archiver.archive.pages import (
    DEFAULT_FORM,
    PageForm,
    month_of,
    page_form,
    render_pages,
    stale_months,
)
from archiver.archive.shard import Shard
from archiver.archive.store import Archive
from archiver.archive.updates import first_written, plan_update
from archiver.config.load import Config, FeedConfig
from archiver.convert.filters import keeps
from archiver.convert.fulltext import wants_full_text, with_article
from archiver.convert.images import ImageKeeper
from archiver.errors import FeedError, ParseError, StoreError
from archiver.fetch.client import Clock, Fetcher, make_client
from archiver.fetch.retry import Sleep
from archiver.models import (
    CatalogEntry,
    Document,
    Entry,
    FeedHealth,
    FeedOutcome,
    FeedState,
    FetchResult,
    ParsedFeed,
    RunReport,
    Status,
    header,
    parse_instant,
    utcnow,
)
from archiver.pipeline.workers import Workers, default_workers

OutcomeHook = Callable[[FeedOutcome], None]
_T = TypeVar("_T")

# How often, at most, a run writes its state while feeds are still coming in. Writing
# it after every feed re-encoded every feed's state each time, which grows with the
# square of the feeds; a run stopped between two writes loses only validators, and
# the next run fetches those feeds again and finds their entries archived.
STATE_SAVE_INTERVAL = 2.0  # seconds


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


def select_feeds(
    config: Config, names: tuple[str, ...], shard: Shard | None = None
) -> tuple[FeedConfig, ...]:
    """The feeds named (KeyError for a name the config lacks), of the shard if there is one."""
    feeds = config.feeds
    if names:
        by_name = {feed.name: feed for feed in config.feeds}
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise KeyError(unknown[0])
        feeds = tuple(by_name[n] for n in dict.fromkeys(names))
    return tuple(f for f in feeds if shard.holds(f.url)) if shard else feeds


def rebuild_index(
    archive: Archive,
    ids: Mapping[str, str],
    months: Collection[str] | None = None,
    form: PageForm = DEFAULT_FORM,
) -> list[str]:
    """The index pages from the catalog of every shard, for the entries `ids` names (id to
    path, as `scan_ids` gives them), in the form of the archive's flavour; the pages that
    changed.

    With `months`, only the root page and those months' pages are built, and then any
    other month whose count the old root page does not match (a run that stopped before
    its pages, a file removed by hand): a large archive's other pages are not read again.
    """
    if months is None:
        return archive.write_pages(
            render_pages(archive.catalog.current(archive.root, ids), form=form)
        )
    months = set(months)
    pages = render_pages(archive.catalog.current(archive.root, ids), months, form)
    stale = stale_months(archive.read_file(form.root), pages[form.root]) - months
    if stale:
        catching_up = render_pages(archive.catalog.current(archive.root, ids), stale, form)
        pages |= {page: text for page, text in catching_up.items() if page != form.root}
    return archive.write_pages(pages)


@dataclass(frozen=True)
class ArchivedEntries:
    """What archiving a list of entries did (Run.archive_entries)."""

    written: tuple[CatalogEntry, ...]
    seen: int  # already archived
    filtered: int
    failures: int  # entries that could not be converted (each a warning)
    warnings: tuple[str, ...]


@dataclass
class _Run:
    """What one run shares between its feeds: the archive, its index and its state."""

    archive: Archive
    # The archive's ids, read in the writer's thread while the first feeds download:
    # archive_feed waits for them before it looks at an entry.
    index_scan: asyncio.Future[IdSet]
    states: dict[str, FeedState]
    health: dict[str, FeedHealth]
    dry_run: bool
    started: datetime
    writer: Executor  # one thread: entries are written one feed at a time, in order
    state_saved_at: float = field(default=-float("inf"))  # time.monotonic() of the last write
    state_unsaved: bool = False
    written_paths: dict[str, str] = field(default_factory=dict)  # id → path, this run's
    archived_paths: dict[str, str] | None = None  # id → path of all, once a feed needs them

    @property
    def index(self) -> IdSet:
        return self.index_scan.result()

    def skip_reason(self, feed: FeedConfig) -> str | None:
        """Why the feed is not to be fetched in this run, or None."""
        state = self.states.get(feed.name)
        if state is None or state.url != feed.url:
            return None
        if state.gone_since:
            return (
                f"gone (HTTP 410 since {state.gone_since[:10]}); "
                "remove it from the config, or give it a new url to fetch it again"
            )
        if state.retry_not_before and self.started < parse_instant(state.retry_not_before):
            return f"the server asked us to wait until {state.retry_not_before}"
        return None

    def skipped(self, feed: FeedConfig, reason: str) -> FeedOutcome:
        return FeedOutcome(feed.name, feed.url, Status.SKIPPED, error=reason)

    def failed(self, feed: FeedConfig, error: FeedError) -> FeedOutcome:
        previous = self.states.get(feed.name)
        if previous is None or previous.url != feed.url:
            previous = FeedState(url=feed.url)
        status = getattr(error, "status", None)
        retry_after = getattr(error, "retry_after", None)
        state = replace(
            previous,
            failing_since=previous.failing_since or self.started.isoformat(),
            last_error=str(error),
        )
        if status == 410:
            state = replace(state, gone_since=previous.gone_since or self.started.isoformat())
        if retry_after:
            until = self.started + timedelta(seconds=retry_after)
            state = replace(state, retry_not_before=until.isoformat(timespec="seconds"))
        self._set_state(feed, state)
        return FeedOutcome(feed.name, feed.url, Status.FAILED, http_status=status, error=str(error))

    async def archive_feed(
        self, feed: FeedConfig, fetched: FetchResult, tools: _Tools
    ) -> FeedOutcome:
        if fetched.not_modified:
            self._set_state(feed, self._state_after(feed, fetched))
            return FeedOutcome(feed.name, feed.url, Status.NOT_MODIFIED, http_status=304)
        # With the filters in the digest, changing them makes the same bytes worth
        # reading again: entries left out before may be wanted now.
        filters = repr((feed.include, feed.exclude)).encode()
        digest = hashlib.sha256(fetched.body + b"\0" + filters).hexdigest()
        if self._same_body_as_last_time(feed, digest):
            self._set_state(feed, self._state_after(feed, fetched))
            return FeedOutcome(
                feed.name,
                feed.url,
                Status.NOT_MODIFIED,
                http_status=fetched.status,
                bytes=len(fetched.body),
                body_sha256=digest,
            )
        parsed = await self._parse(feed, fetched, tools)
        if isinstance(parsed, FeedOutcome):
            return parsed
        await self.index_scan

        warnings = [parsed.warning] if parsed.warning else []
        if fetched.permanent_redirect:
            warnings.append(
                f"moved permanently to {fetched.permanent_redirect}; update its url in the config"
            )
        entries, seen, filtered = self._fresh(feed, parsed.entries)
        documents, failures = await self._convert(feed, parsed, entries, tools, warnings)
        updated, revised = await self._republished(feed, parsed, tools, warnings)
        written, seen_meanwhile = await self._write_new(feed, documents)
        seen += seen_meanwhile
        state = self._state_after(feed, fetched)
        if failures:
            # Forget the validators so the skipped entries are tried again next run.
            state = replace(state, etag=None, last_modified=None)
        self._set_state(feed, state)
        return FeedOutcome(
            feed.name,
            feed.url,
            Status.OK,
            http_status=fetched.status,
            new=len(written),
            seen=seen,
            filtered=filtered,
            updated=updated,
            written=tuple(written),
            revised=revised,
            warnings=tuple(warnings),
            bytes=len(fetched.body),
            body_sha256=None if failures else digest,
        )

    async def archive_entries(
        self, feed: FeedConfig, parsed: ParsedFeed, entries: Sequence[Entry], tools: _Tools
    ) -> ArchivedEntries:
        """Archive `entries` (of the document `parsed`) as a run archives a feed's new
        ones, archived entries left as they are: the seam `archiver backfill` writes through."""
        warnings: list[str] = []
        fresh, seen, filtered = self._fresh(feed, entries)
        documents, failures = await self._convert(feed, parsed, fresh, tools, warnings)
        written, seen_meanwhile = await self._write_new(feed, documents)
        return ArchivedEntries(
            tuple(written), seen + seen_meanwhile, filtered, len(failures), tuple(warnings)
        )

    def _fresh(self, feed: FeedConfig, entries: Sequence[Entry]) -> tuple[list[Entry], int, int]:
        """(the entries to convert, how many are archived, how many the filters leave out)."""
        # Ids are checked before any conversion: what is archived costs nothing more,
        # and of entries sharing an id the first wins.
        fresh: dict[str, Entry] = {}
        filtered = 0
        for entry in entries:
            if entry.id in fresh or self._archived_id(entry):
                continue
            if keeps(feed, entry):
                fresh[entry.id] = entry
            else:
                filtered += 1  # never written, and looked at again next time
        seen = len(entries) - len(fresh) - filtered
        return list(fresh.values()), seen, filtered

    def _archived_id(self, entry: Entry) -> str | None:
        """The id the entry is archived under, if it is: its own, or one it had before."""
        return next((i for i in (entry.id, *entry.former_ids) if i in self.index), None)

    async def _convert(
        self,
        feed: FeedConfig,
        parsed: ParsedFeed,
        entries: list[Entry],
        tools: _Tools,
        warnings: list[str],
    ) -> tuple[list[Document], list[str]]:
        """The entries' documents (their images kept, if the feed asks), and the failures."""
        if feed.fulltext:
            entries = await _with_full_text(entries, feed, tools, warnings)
        converted = await tools.workers.convert(entries, feed, parsed, self.started)
        failures = [c for c in converted if isinstance(c, str)]
        documents = [c for c in converted if isinstance(c, Document)]
        warnings += failures
        if feed.images == "download" and not self.dry_run:
            documents, image_warnings = await tools.images.keep(documents, feed)
            warnings += image_warnings
        return documents, failures

    async def _write_new(
        self, feed: FeedConfig, documents: list[Document]
    ) -> tuple[list[CatalogEntry], int]:
        """Write the documents not archived meanwhile, with their catalog lines; (what was
        written, how many were archived meanwhile)."""
        seen = 0
        new_documents = []
        for document in documents:
            if document.id in self.index:
                seen += 1  # the same article came through another feed meanwhile
            else:
                self.index.add(document.id)
                self.written_paths[document.id] = document.relpath
                new_documents.append(document)
        written = [CatalogEntry(d.id, d.relpath, d.title, feed.name, d.date) for d in new_documents]
        if not self.dry_run:
            files = [(d.relpath, d.text) for d in new_documents]
            digests = {d.id: first_written(d) for d in new_documents}
            await self._in_writer(self._write, files, written, digests)
        return written, seen

    async def _republished(
        self, feed: FeedConfig, parsed: ParsedFeed, tools: _Tools, warnings: list[str]
    ) -> tuple[int, tuple[CatalogEntry, ...]]:
        """Write again the archived entries that came back changed, as `on_update` says: how
        many were, and the catalog's new lines (their current titles, for the index)."""
        if feed.on_update == "keep":
            return 0, ()
        known: dict[str, Entry] = {}
        for entry in parsed.entries:
            archived = self._archived_id(entry)
            if archived and keeps(feed, entry):
                # Under the id its file has, which an entry archived before may not have now.
                known.setdefault(archived, replace(entry, id=archived))
        entries = list(known.values())
        if feed.fulltext:
            entries = await _with_full_text(entries, feed, tools, warnings)
        converted = await tools.workers.convert(entries, feed, parsed, self.started)
        documents = [d for d in converted if isinstance(d, Document)]
        warnings += [failure for failure in converted if isinstance(failure, str)]
        if not documents:
            return 0, ()
        paths = {document.id: self.path_of(document.id) for document in documents}
        # In the writer's thread, after the writes before it: none is read half-appended.
        lines = await self._in_writer(self.archive.catalog.written, paths)
        updated, revised = 0, []
        for document in documents:
            relpath = paths[document.id]
            last_line, recorded = lines.get(document.id, (None, None))
            update = plan_update(feed.on_update, document, relpath, recorded, self.archive)
            if update.note:
                warnings.append(update.note)
            updated += bool(update.writes)
            if update.written is None:
                continue
            # The line keeps the date and feed the entry was first listed with: its file
            # stays where that date put it.
            listed = last_line or read_front_matter_entry(self.archive.root, document.id, relpath)
            line = (
                replace(listed, title=document.title)
                if listed
                else CatalogEntry(document.id, relpath, document.title, feed.name, document.date)
            )
            revised.append(line)
            if not self.dry_run:
                files = [(write.relpath, write.text) for write in update.writes]
                await self._in_writer(self._write, files, [line], {line.id: update.written})
        return updated, tuple(revised)

    def _write(
        self,
        files: list[tuple[str, str]],
        lines: list[CatalogEntry],
        written: Mapping[str, Written],
    ) -> None:
        """Entries' files, then their catalog lines: one call in the writer's thread, so a
        run stopped by a signal finishes both. An await interrupted in between would drop
        the lines, and with them the digests that tell archiver's files from edited ones."""
        self.archive.write_entries(files)
        self.archive.catalog.append(lines, written)

    def path_of(self, entry_id: str) -> str:
        """Where an archived entry is. Only `on_update` needs to know: the paths are read
        from the file names the first time, and held from then on."""
        if entry_id in self.written_paths:
            return self.written_paths[entry_id]
        if self.archived_paths is None:
            self.archived_paths = self.archive.scan_ids(remove_temporary=False)
        return self.archived_paths[entry_id]

    async def _in_writer(self, work: Callable[..., _T], *args: Any) -> _T:
        # In the writer thread: creating files is kernel time (most of a cold run's
        # main process), during which the event loop keeps the downloads and the
        # workers going.
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.writer, work, *args)

    def _earlier_health(self, feed: FeedConfig) -> FeedHealth | None:
        """What earlier runs learnt of the feed, if they fetched the same URL."""
        state = self.states.get(feed.name)
        if state is None or state.url != feed.url:
            return None
        return self.health.get(feed.name)

    def _same_body_as_last_time(self, feed: FeedConfig, digest: str) -> bool:
        health = self._earlier_health(feed)
        return health is not None and health.body_sha256 == digest

    async def _parse(
        self, feed: FeedConfig, fetched: FetchResult, tools: _Tools
    ) -> ParsedFeed | FeedOutcome:
        """The feed's entries, or the outcome of a body that is no feed we can read."""
        known = self._same_unreadable_body_as_last_time(feed, fetched)
        if known is not None:
            reason, digest = known
            return replace(self.failed(feed, ParseError(reason)), unreadable_sha256=digest)
        try:
            return await tools.workers.parse(fetched)
        except ParseError as exc:
            outcome = self.failed(feed, exc)
            return replace(outcome, unreadable_sha256=_unreadable_digest(fetched))
        except FeedError as exc:
            return self.failed(feed, exc)

    def _same_unreadable_body_as_last_time(
        self, feed: FeedConfig, fetched: FetchResult
    ) -> tuple[str, str] | None:
        """(why, digest) when these bytes could not be read as a feed last time either: a
        feed URL that now serves a web page would otherwise be parsed (and the workers
        started) on every run, to fail the same way."""
        health = self._earlier_health(feed)
        if health is None or not (health.unreadable_sha256 and health.unreadable_reason):
            return None
        digest = _unreadable_digest(fetched)
        return (health.unreadable_reason, digest) if digest == health.unreadable_sha256 else None

    @staticmethod
    def _state_after(feed: FeedConfig, fetched: FetchResult) -> FeedState:
        return FeedState(
            url=feed.url,
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            permanent_redirect=fetched.permanent_redirect,
        )

    def _set_state(self, feed: FeedConfig, state: FeedState) -> None:
        # Called only once the feed's entries are on disk: the state never vouches
        # for an entry the archive does not hold.
        self.states[feed.name] = state
        self.state_unsaved = True
        if time.monotonic() - self.state_saved_at >= STATE_SAVE_INTERVAL:
            self.save_state()

    def save_state(self) -> None:
        if self.state_unsaved and not self.dry_run:
            self.archive.save_state(self.states)
        self.state_unsaved = False
        self.state_saved_at = time.monotonic()


def _unreadable_digest(fetched: FetchResult) -> str:
    # What reading the bytes depends on: the version that read them (a later one may
    # read them), the Content-Type (its charset, JSON or XML) and the URL (the base of
    # the feed a web page points to, in the message).
    content_type = header(fetched.headers, "content-type")
    key = f"{archiver.__version__}\0{content_type}\0{fetched.url}\0".encode()
    return hashlib.sha256(key + fetched.body).hexdigest()


@dataclass(frozen=True)
class _Tools:
    """What every feed of a run shares: the network, the worker processes, the images."""

    fetcher: Fetcher
    workers: Workers
    images: ImageKeeper
    slots: asyncio.Semaphore  # bounds how many parsed feeds wait in memory at once
    # Bounds the feeds between the start of their fetch and their end: fetching runs
    # ahead of conversion only as far as keeps the workers fed, so a run of thousands
    # of feeds never holds thousands of downloaded bodies.
    admission: asyncio.Semaphore


async def _with_full_text(
    entries: list[Entry], feed: FeedConfig, tools: _Tools, warnings: list[str]
) -> list[Entry]:
    """The entries, each with its page's article where the feed asks for it; an entry
    whose page cannot be had or read keeps the feed's text, with a warning."""

    async def one(entry: Entry) -> Entry:
        if entry.link is None or not wants_full_text(entry, feed.fulltext):
            return entry
        try:
            page, final_url = await tools.fetcher.fetch_page(entry.link, feed)
        except FeedError as exc:
            warnings.append(f"entry {entry.link}: the feed's text is kept, no page: {exc}")
            return entry
        article = await tools.workers.extract_article(page, final_url)
        if article is None:
            warnings.append(f"entry {entry.link}: the feed's text is kept, no article found")
            return entry
        return with_article(entry, article, final_url)

    return list(await asyncio.gather(*(one(entry) for entry in entries)))


async def _fetch_and_archive(
    run: _Run, tools: _Tools, feed: FeedConfig
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


def _finish(run: _Run, config: Config, report: RunReport, *, dry_run: bool) -> None:
    """After the feeds: the health of each, and the index pages when something was written."""
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
    if config.index and listed and not report.aborted and not sharded:
        months = {month_of(entry) for entry in listed}
        # The paths from the file names again: the run held only the ids (ids.py).
        form = page_form(feed.flavor for feed in config.feeds)
        rebuild_index(run.archive, run.archive.scan_ids(remove_temporary=False), months, form)


@contextlib.asynccontextmanager
async def _open_tools(
    config: Config,
    archive: Archive,
    feeds: list[FeedConfig],
    *,
    transport: httpx.AsyncBaseTransport | None,
    sleep: Sleep,
    clock: Clock,
) -> AsyncIterator[_Tools]:
    """The network clients, the fetcher, the worker processes and the image keeper."""
    async with contextlib.AsyncExitStack() as clients:
        client = await clients.enter_async_context(
            make_client(transport, concurrency=config.concurrency)
        )
        insecure = None
        if any(not feed.verify_tls for feed in feeds):
            insecure = await clients.enter_async_context(
                make_client(transport, concurrency=config.concurrency, verify_tls=False)
            )
        fetcher = Fetcher(
            client,
            concurrency=config.concurrency,
            per_host=config.per_host,
            sleep=sleep,
            clock=clock,
            insecure_client=insecure,
            secrets=config.secrets,
        )
        workers = Workers(config.workers or default_workers())
        slots = 2 * workers.count
        yield _Tools(
            fetcher,
            workers,
            ImageKeeper(fetcher, archive),
            slots=asyncio.Semaphore(slots),
            # As many fetched feeds waiting as there are slots: with fewer, a run of
            # small or broken feeds left the workers idle while it was downloaded
            # (the benchmark's cold run: 9.2 s, now 8.8 s, at the same peak memory).
            admission=asyncio.Semaphore(config.concurrency + 2 * slots),
        )


async def _archive_each(
    run: _Run, tools: _Tools, feeds: list[FeedConfig], report: RunReport, record: OutcomeHook
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
    disk: Disk = REAL_DISK,
) -> RunReport:
    """Archive the selected feeds. Raises LockHeldError, StoreError only before any feed.
    `disk` is what the archive writes through (a FaultyDisk in a test)."""
    feeds = select_feeds(config, options.feed_names, options.shard)
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
        index_scan = asyncio.get_running_loop().run_in_executor(writer, scan)
        health = archive.load_health()
        run = _Run(archive, index_scan, states, health, options.dry_run, started, writer)
        to_fetch = []
        for feed in feeds:
            reason = run.skip_reason(feed)
            if reason:
                record(run.skipped(feed, reason))
            else:
                to_fetch.append(feed)
        tools_context = _open_tools(
            config, archive, to_fetch, transport=transport, sleep=sleep, clock=clock
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


@dataclass
class Session:
    """A run's archive and tools, for a command that archives entries found elsewhere than
    in a feed's live document (`archiver backfill`): entries go through the same ids,
    conversion and writes as a run's, by the same code."""

    archive: Archive
    fetcher: Fetcher
    _run: _Run
    _tools: _Tools
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
    out, the index pages of the months written to. LockHeldError, StoreError."""
    archive = Archive(output)
    with contextlib.ExitStack() as stack:
        if not dry_run:
            stack.enter_context(archive.lock())
            archive.remove_leftovers()
        writer = stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="archiver-writer"))
        scan = functools.partial(archive.archived_ids, remove_temporary=not dry_run)
        index_scan = asyncio.get_running_loop().run_in_executor(writer, scan)
        await index_scan
        run = _Run(archive, index_scan, {}, {}, dry_run, clock(), writer)
        tools_context = _open_tools(
            config, archive, list(feeds), transport=transport, sleep=sleep, clock=clock
        )
        async with tools_context as tools:
            session = Session(archive, tools.fetcher, run, tools)
            try:
                yield session
            finally:
                if release_workers:
                    tools.workers.release()
        if config.index and session.written and not dry_run:
            months = {month_of(entry) for entry in session.written}
            form = page_form(feed.flavor for feed in config.feeds)
            rebuild_index(archive, archive.scan_ids(remove_temporary=False), months, form)
