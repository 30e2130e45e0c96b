"""`archiver backfill`: a feed's history, beyond the entries its live document carries.

Where the history comes from, in this order for each feed:

1. RFC 5005 section 4, archived feeds: `prev-archive` links back to the first archive
   document. Archive documents do not change, so one fetched completely is never
   fetched again.
2. RFC 5005 section 3, paged feeds (`next` links), and JSON Feed's `next_url`.
3. WordPress: `?paged=2`, 3, … until a 404, an empty page or a page seen already.
4. Blogger: `start-index` and `max-results` on the posts feed.
5. With `--wayback`, in addition: the Wayback Machine's snapshots of the feed.

The decisions (which source, which page next, when a walk stops) are pure
functions at the top; the walk below them does the requests, through the
pipeline's Session, so a backfilled entry is written exactly as `run` writes it.
Progress is kept in DIR/.archiver/backfill.json once the entries it vouches for
are on disk, so a walk that is stopped goes on where it stopped.
"""

from __future__ import annotations

import asyncio
import enum
import json
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from archiver.archive.disk import write_if_changed
from archiver.archive.store import STATE_DIR
from archiver.clock import Clock, utcnow
from archiver.config.model import DEFAULT_MAX_PAGES, Access, Config, FeedConfig
from archiver.errors import FeedError, FetchError
from archiver.fetch.guard import private_address_problem
from archiver.fetch.messages import PAGE
from archiver.fetch.retry import Sleep
from archiver.models import CatalogEntry, Entry, FetchResult, ParsedFeed
from archiver.pipeline.decide import select_feeds
from archiver.pipeline.session import Session, open_session
from archiver.text import plural
from archiver.urls import host_of, normalise_url

T = TypeVar("T")

PROGRESS_FILE = "backfill.json"
PROGRESS_VERSION = 1
BLOGGER_PAGE_SIZE = 25  # Blogger's own default for max-results


class Source(enum.Enum):
    FEED = "feed"  # the live document, which every backfill reads first
    ARCHIVES = "prev-archive"
    PAGED = "next"
    WORDPRESS = "wordpress"
    BLOGGER = "blogger"
    WAYBACK = "wayback"


# --- the pure part: which source, which page, when to stop ------------------------


def history_source(parsed: ParsedFeed) -> Source | None:
    """The first source of the feed's history that its live document offers, or None."""
    if parsed.link("prev-archive"):
        return Source.ARCHIVES
    if parsed.link("next"):
        return Source.PAGED
    generator = (parsed.generator or "").lower()
    if "wordpress" in generator:
        return Source.WORDPRESS
    if "blogger" in generator:
        return Source.BLOGGER
    return None


def with_query(url: str, **values: int) -> str:
    """`url` with these query parameters set (replacing any of the same name)."""
    parts = urlsplit(url)
    names = {name.replace("_", "-") for name in values}
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in names]
    added = [(name.replace("_", "-"), str(value)) for name, value in values.items()]
    return urlunsplit(parts._replace(query=urlencode(kept + added)))


def _query_number(url: str, name: str, default: int) -> int:
    for key, value in parse_qsl(urlsplit(url).query):
        if key == name and value.isdigit():
            return int(value)
    return default


def first_page(source: Source, feed_url: str, live: ParsedFeed) -> str | None:
    """The first page of the source's walk, from the feed's live document."""
    if source is Source.ARCHIVES:
        return live.link("prev-archive")
    if source is Source.PAGED:
        return live.link("next")
    if source is Source.WORDPRESS:
        return with_query(feed_url, paged=2)
    if source is Source.BLOGGER:
        start = 1 + len(live.entries)
        return with_query(feed_url, start_index=start, max_results=BLOGGER_PAGE_SIZE)
    return None


def next_page(source: Source, page_url: str, page: ParsedFeed) -> str | None:
    """The page after `page`, fetched from `page_url`; None at the end of the walk."""
    if source is Source.ARCHIVES:
        return page.link("prev-archive")
    if source is Source.PAGED:
        return page.link("next")
    if not page.entries:  # WordPress and Blogger have no link to say where they end
        return None
    if source is Source.WORDPRESS:
        return with_query(page_url, paged=_query_number(page_url, "paged", 1) + 1)
    if source is Source.BLOGGER:
        start = _query_number(page_url, "start-index", 1) + len(page.entries)
        size = _query_number(page_url, "max-results", BLOGGER_PAGE_SIZE)
        return with_query(page_url, start_index=start, max_results=size)
    return None


def off_site(url: str, feed_hosts: Iterable[str]) -> bool:
    return host_of(url) not in set(feed_hosts)


def older_than(entry: Entry, since: datetime | None) -> bool:
    """True for an entry dated before `since` (an undated entry is never older)."""
    date = entry.published or entry.updated
    return since is not None and date is not None and date < since


@dataclass(frozen=True)
class Snapshot:
    timestamp: str  # the Wayback Machine's 14 digits, YYYYMMDDhhmmss, UTC
    original: str

    @property
    def instant(self) -> datetime | None:
        try:
            return datetime.strptime(self.timestamp[:14], "%Y%m%d%H%M%S").replace(
                tzinfo=timezone.utc
            )
        except ValueError:
            return None


def cdx_url(wayback: str, feed_url: str) -> str:
    """The CDX query for every distinct 200 snapshot of the feed (the Wayback CDX server
    API: `collapse=digest` drops captures whose bytes repeat the one before)."""
    query = urlencode(
        [
            ("url", feed_url),
            ("output", "json"),
            ("collapse", "digest"),
            ("filter", "statuscode:200"),
        ]
    )
    return f"{wayback.rstrip('/')}/cdx/search/cdx?{query}"


def snapshot_url(wayback: str, snapshot: Snapshot) -> str:
    # `id_` after the timestamp asks for the bytes as captured, without the replay's
    # rewritten links and banner.
    return f"{wayback.rstrip('/')}/web/{snapshot.timestamp}id_/{snapshot.original}"


def parse_cdx(body: bytes) -> list[Snapshot]:
    """The snapshots of a CDX answer in JSON: a header row of field names, then a row per
    capture; ValueError for anything else. Of captures with the same bytes, the first."""
    rows = json.loads(body) if body.strip() else []
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ValueError("expected a list of rows")
    if not rows:
        return []
    header = rows[0]
    try:
        at, original = header.index("timestamp"), header.index("original")
    except ValueError:
        raise ValueError("no timestamp and original columns") from None
    digest = header.index("digest") if "digest" in header else None
    status = header.index("statuscode") if "statuscode" in header else None
    seen: set[str] = set()
    snapshots = []
    for row in rows[1:]:
        if len(row) != len(header) or (status is not None and row[status] != "200"):
            continue
        key = str(row[digest]) if digest is not None else str(row[at])
        if key not in seen:
            seen.add(key)
            snapshots.append(Snapshot(str(row[at]), str(row[original])))
    return snapshots


# --- the progress file -------------------------------------------------------------


@dataclass
class Walk:
    """Where one source's walk of one feed stands."""

    next: str | None = None  # the page to fetch next; None: start from the live document
    visited: list[str] = field(default_factory=list)  # pages fetched, to see a loop
    finished: bool = False  # reached the end: nothing to fetch next time
    # Archive documents (and snapshots) fetched completely, each with the page it links
    # to: the walk passes them again without a request.
    done: dict[str, str | None] = field(default_factory=dict)

    def encode(self) -> dict[str, Any]:
        record: dict[str, Any] = {"finished": self.finished}
        if self.next:
            record["next"] = self.next
        if self.visited:
            record["visited"] = self.visited
        if self.done:
            record["done"] = self.done
        return record

    @classmethod
    def decode(cls, record: Any) -> Walk:
        if not isinstance(record, dict):
            return cls()
        visited = record.get("visited")
        done = record.get("done")
        return cls(
            next=record["next"] if isinstance(record.get("next"), str) else None,
            visited=[v for v in visited if isinstance(v, str)] if isinstance(visited, list) else [],
            finished=record.get("finished") is True,
            done={
                k: v if isinstance(v, str) else None
                for k, v in (done.items() if isinstance(done, dict) else [])
            },
        )


class Progress:
    """DIR/.archiver/backfill.json: every feed's walks, by feed name and source."""

    def __init__(self, path: Path, *, dry_run: bool) -> None:
        self.path = path
        self.dry_run = dry_run
        self.warning: str | None = None
        self._feeds: dict[str, dict[str, Any]] = {}
        try:
            document = json.loads(path.read_bytes())
            if document.get("version") == PROGRESS_VERSION and isinstance(
                document.get("feeds"), dict
            ):
                self._feeds = document["feeds"]
            else:
                raise ValueError(f"expected a version {PROGRESS_VERSION} document")
        except FileNotFoundError:
            pass
        except (OSError, ValueError, AttributeError) as exc:
            self.warning = f"{path} cannot be used ({exc}); every walk starts again"

    def walk(self, feed: FeedConfig, source: Source) -> Walk:
        record = self._feeds.get(feed.name)
        if not isinstance(record, dict) or record.get("url") != feed.url:
            return Walk()  # a feed whose URL changed is another feed's history
        sources = record.get("sources")
        return Walk.decode(sources.get(source.value) if isinstance(sources, dict) else None)

    def save(self, feed: FeedConfig, source: Source, walk: Walk) -> None:
        """Record the walk; called once the entries of its pages are on disk."""
        record = self._feeds.get(feed.name)
        if not isinstance(record, dict) or record.get("url") != feed.url:
            record = self._feeds[feed.name] = {"url": feed.url, "sources": {}}
        record.setdefault("sources", {})[source.value] = walk.encode()
        if self.dry_run:
            return
        document = {"version": PROGRESS_VERSION, "feeds": self._feeds}
        text = json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        write_if_changed(self.path, text.encode())


# --- the report --------------------------------------------------------------------


@dataclass
class SourceReport:
    source: Source
    pages: int = 0
    entries: int = 0
    new: int = 0
    seen: int = 0  # already archived
    failures: int = 0
    written: list[CatalogEntry] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        return {
            "source": self.source.value,
            "pages": self.pages,
            "entries": self.entries,
            "new": self.new,
            "already_archived": self.seen,
            "failures": self.failures,
        }


@dataclass
class FeedBackfill:
    """What backfilling one feed did."""

    name: str
    url: str
    sources: list[SourceReport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None  # set when the feed, or a page of it, could not be had
    note: str | None = None  # why nothing was walked (complete, no history found)

    def source(self, source: Source) -> SourceReport:
        for report in self.sources:
            if report.source is source:
                return report
        self.sources.append(SourceReport(source))
        return self.sources[-1]

    @property
    def written(self) -> list[CatalogEntry]:
        return [entry for report in self.sources for entry in report.written]

    @property
    def failed(self) -> bool:
        return self.error is not None

    def line(self) -> str:
        """`name: 6 pages via prev-archive, 140 entries, 131 new`, the live document's
        entries counted in."""
        walked = [r for r in self.sources if r.source is not Source.FEED]
        entries = sum(r.entries for r in self.sources)
        new = sum(r.new for r in self.sources)
        counts = f"{plural(entries, 'entry', 'entries')}, {new} new"
        if self.note:
            return f"{self.name}: {self.note}; {counts}"
        pages = sum(r.pages for r in walked)
        via = ", ".join(r.source.value for r in walked) or "nothing"
        return f"{self.name}: {plural(pages, 'page')} via {via}, {counts}"

    def record(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.url,
            "status": "failed" if self.failed else "ok",
            "note": self.note,
            "error": self.error,
            "warnings": list(self.warnings),
            "sources": [r.record() for r in self.sources],
            "written": [entry.path for entry in self.written],
        }


@dataclass
class BackfillReport:
    feeds: list[FeedBackfill] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(feed.failed for feed in self.feeds)

    def summary(self) -> str:
        pages = sum(r.pages for f in self.feeds for r in f.sources if r.source is not Source.FEED)
        new = sum(r.new for f in self.feeds for r in f.sources)
        failed = sum(f.failed for f in self.feeds)
        return (
            f"backfill: {plural(len(self.feeds), 'feed')}, {failed} failed; "
            f"{plural(pages, 'page')} of history, {plural(new, 'new entry', 'new entries')}"
        )

    def record(self) -> dict[str, Any]:
        return {"warnings": list(self.warnings), "feeds": [f.record() for f in self.feeds]}


# --- the walk ----------------------------------------------------------------------


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
        return {host_of(self.feed.url), *self._extra_hosts}

    _extra_hosts: tuple[str, ...] = ()

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
        report.seen += archived.already_archived
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
        self._extra_hosts = (host_of(fetched.url),)
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
                key = normalise_url(url)
                if key in visited:
                    raise _Stop(f"{source.value}: {url} was reached before, a loop; stopped there")
                visited.add(key)
                if source is Source.ARCHIVES and url in walk.done:
                    url = walk.done[url]
                    continue
                if off_site(url, self._hosts()) and not self.feed.backfill_offsite:
                    walk.next = url
                    raise _Stop(
                        f"{source.value}: {url} is on another site; not followed "
                        "(backfill_offsite: true follows it)",
                        finished=False,
                    )
                if pages >= self.options.max_pages:
                    walk.next = url
                    self.report.warnings.append(
                        f"{source.value}: stopped after --max-pages {self.options.max_pages}; "
                        "the next backfill goes on from there"
                    )
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
            if exc.status == 404 and source is Source.WORDPRESS:
                raise _Stop() from None  # past the last page
            raise
        parsed = await self.read(fetched)
        ids = {entry.id for entry in parsed.entries}
        if parsed.entries and ids <= seen_ids and source is not Source.ARCHIVES:
            raise _Stop()  # a server that ignores the page number repeats a page
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
            fetched_now = 0
            for snapshot in snapshots:
                if snapshot.timestamp in walk.done:
                    continue
                when = snapshot.instant
                if self.options.since and when and when < self.options.since:
                    continue
                if fetched_now >= self.options.max_pages:
                    self.report.warnings.append(
                        f"wayback: stopped after --max-pages {self.options.max_pages}; "
                        "the next backfill goes on from there"
                    )
                    break
                fetched_now += 1
                await self.snapshot(snapshot, walk)
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
