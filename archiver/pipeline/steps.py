"""The steps of archiving one feed, over what a run shares between its feeds.

decide.py says what to do; this does it: the workers parse and convert, the writer's
thread writes, and the state follows. Entries reach the disk before the state that
vouches for them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

from archiver.about import __version__
from archiver.archive.catalog import Written, read_front_matter_entry
from archiver.archive.ids import IdSet
from archiver.archive.store import Archive
from archiver.archive.updates import first_written, plan_update
from archiver.config.model import FeedConfig
from archiver.errors import FeedError, ParseError
from archiver.models import (
    CatalogEntry,
    Document,
    Entry,
    FeedHealth,
    FeedOutcome,
    FeedState,
    FetchResult,
    ParsedFeed,
    Status,
)
from archiver.pipeline import decide
from archiver.pipeline.tools import Tools, with_full_text

_T = TypeVar("_T")

# How often, at most, a run writes its state while feeds are still coming in. Writing
# it after every feed re-encoded every feed's state each time, which grows with the
# square of the feeds; a run stopped between two writes loses only validators, and
# the next run fetches those feeds again and finds their entries archived.
STATE_SAVE_INTERVAL = 2.0  # seconds


@dataclass(frozen=True)
class ArchivedEntries:
    """What archiving a list of entries did (Run.archive_entries)."""

    written: tuple[CatalogEntry, ...]
    already_archived: int
    filtered: int
    failures: int  # entries that could not be converted (each a warning)
    warnings: tuple[str, ...]


@dataclass
class Run:
    """What one run shares between its feeds: the archive, its ids and its state."""

    archive: Archive
    # The archive's ids, read in the writer's thread while the first feeds download:
    # archive_feed waits for them before it looks at an entry.
    ids_scan: asyncio.Future[IdSet]
    states: dict[str, FeedState]
    health: dict[str, FeedHealth]
    dry_run: bool
    started: datetime
    writer: Executor  # one thread: entries are written one feed at a time, in order
    state_save_interval: float = STATE_SAVE_INTERVAL  # seconds
    state_saved_at: float = field(default=-float("inf"))  # time.monotonic() of the last write
    state_unsaved: bool = False
    written_paths: dict[str, str] = field(default_factory=dict)  # id → path, this run's
    archived_paths: dict[str, str] | None = None  # id → path of all, once a feed needs them

    @property
    def archived_ids(self) -> IdSet:
        return self.ids_scan.result()

    def skip_reason(self, feed: FeedConfig) -> str | None:
        """Why the feed is not to be fetched in this run, or None."""
        return decide.skip_reason(self.states.get(feed.name), feed.url, self.started)

    def failed(self, feed: FeedConfig, error: FeedError) -> FeedOutcome:
        previous = self.states.get(feed.name)
        self._set_state(feed, decide.state_after_failure(previous, feed.url, error, self.started))
        status = decide.http_status_of(error)
        return FeedOutcome(feed.name, feed.url, Status.FAILED, http_status=status, error=str(error))

    async def archive_feed(
        self, feed: FeedConfig, fetched: FetchResult, tools: Tools
    ) -> FeedOutcome:
        """Archive a fetched feed: its new entries written, its republished ones as
        `on_update` says, then its state; a 304 or the same body again costs no parsing."""
        if fetched.not_modified:
            return self._not_modified(feed, fetched)
        earlier = self._earlier_health(feed)
        digest = decide.body_digest(fetched.body, feed)
        if decide.is_same_body(earlier, digest):
            return self._unchanged(feed, fetched, digest)
        parsed = await self._parse(feed, fetched, earlier, tools)
        if isinstance(parsed, FeedOutcome):
            return parsed
        await self.ids_scan
        warnings = decide.feed_warnings(parsed, fetched)
        triage = decide.triage(feed, parsed.entries, self.archived_ids)
        documents, failures = await self._convert(feed, parsed, triage.fresh, tools, warnings)
        updated, revised = await self._republished(feed, parsed, tools, warnings)
        written, meanwhile = await self._write_new(feed, documents)
        state = decide.state_after_fetch(feed.url, fetched, all_converted=not failures)
        self._set_state(feed, state)
        return FeedOutcome(
            feed.name,
            feed.url,
            Status.OK,
            http_status=fetched.status,
            new=len(written),
            already_archived=triage.already_archived + meanwhile,
            filtered=triage.filtered,
            updated=updated,
            written=tuple(written),
            revised=revised,
            warnings=tuple(warnings),
            bytes=len(fetched.body),
            body_sha256=None if failures else digest,
        )

    async def archive_entries(
        self, feed: FeedConfig, parsed: ParsedFeed, entries: Sequence[Entry], tools: Tools
    ) -> ArchivedEntries:
        """Archive `entries` (of the document `parsed`) as a run archives a feed's new
        ones, archived entries left as they are: the seam `archiver backfill` writes through."""
        warnings: list[str] = []
        triage = decide.triage(feed, entries, self.archived_ids)
        documents, failures = await self._convert(feed, parsed, triage.fresh, tools, warnings)
        written, meanwhile = await self._write_new(feed, documents)
        return ArchivedEntries(
            tuple(written),
            triage.already_archived + meanwhile,
            triage.filtered,
            len(failures),
            tuple(warnings),
        )

    def _not_modified(self, feed: FeedConfig, fetched: FetchResult) -> FeedOutcome:
        self._set_state(feed, decide.state_after_fetch(feed.url, fetched, all_converted=True))
        return FeedOutcome(feed.name, feed.url, Status.NOT_MODIFIED, http_status=304)

    def _unchanged(self, feed: FeedConfig, fetched: FetchResult, digest: str) -> FeedOutcome:
        self._set_state(feed, decide.state_after_fetch(feed.url, fetched, all_converted=True))
        return FeedOutcome(
            feed.name,
            feed.url,
            Status.UNCHANGED,
            http_status=fetched.status,
            bytes=len(fetched.body),
            body_sha256=digest,
        )

    async def _parse(
        self, feed: FeedConfig, fetched: FetchResult, earlier: FeedHealth | None, tools: Tools
    ) -> ParsedFeed | FeedOutcome:
        """The feed's entries, or the outcome of a body that is no feed we can read."""
        known = decide.known_unreadable(earlier, fetched, __version__)
        if known is not None:
            reason, digest = known
            return replace(self.failed(feed, ParseError(reason)), unreadable_sha256=digest)
        try:
            return await tools.workers.parse(fetched)
        except ParseError as exc:
            digest = decide.unreadable_digest(fetched, __version__)
            return replace(self.failed(feed, exc), unreadable_sha256=digest)
        except FeedError as exc:
            return self.failed(feed, exc)

    async def _convert(
        self,
        feed: FeedConfig,
        parsed: ParsedFeed,
        entries: Sequence[Entry],
        tools: Tools,
        warnings: list[str],
        *,
        keep_images: bool = True,
    ) -> tuple[list[Document], list[str]]:
        """The entries' documents (their images kept, if the feed asks and `keep_images`),
        and the failures."""
        if feed.fulltext:
            entries = await with_full_text(entries, feed, tools, warnings)
        converted = await tools.workers.convert(entries, feed, parsed, self.started)
        failures = [c for c in converted if isinstance(c, str)]
        documents = [c for c in converted if isinstance(c, Document)]
        warnings += failures
        if keep_images and feed.images == "download" and not self.dry_run:
            documents, image_warnings = await tools.images.keep(documents, feed)
            warnings += image_warnings
        return documents, failures

    async def _write_new(
        self, feed: FeedConfig, documents: list[Document]
    ) -> tuple[list[CatalogEntry], int]:
        """Write the documents not archived meanwhile, with their catalog lines; (what was
        written, how many were archived meanwhile)."""
        new_documents, meanwhile = decide.not_archived(documents, self.archived_ids)
        for document in new_documents:
            self.archived_ids.add(document.id)
            self.written_paths[document.id] = document.relpath
        written = [CatalogEntry(d.id, d.relpath, d.title, feed.name, d.date) for d in new_documents]
        if not self.dry_run:
            files = [(d.relpath, d.text) for d in new_documents]
            digests = {d.id: first_written(d) for d in new_documents}
            await self._in_writer(self._write, files, written, digests)
        return written, meanwhile

    async def _republished(
        self, feed: FeedConfig, parsed: ParsedFeed, tools: Tools, warnings: list[str]
    ) -> tuple[int, tuple[CatalogEntry, ...]]:
        """Write again the archived entries that came back changed, as `on_update` says: how
        many were, and the catalog's new lines (their current titles, for the pages)."""
        entries = decide.republished(feed, parsed.entries, self.archived_ids)
        if not entries:
            return 0, ()
        documents, _ = await self._convert(
            feed, parsed, entries, tools, warnings, keep_images=False
        )
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
        return decide.earlier_health(
            self.states.get(feed.name), self.health.get(feed.name), feed.url
        )

    def _set_state(self, feed: FeedConfig, state: FeedState) -> None:
        # Called only once the feed's entries are on disk: the state never vouches
        # for an entry the archive does not hold.
        self.states[feed.name] = state
        self.state_unsaved = True
        if time.monotonic() - self.state_saved_at >= self.state_save_interval:
            self.save_state()

    def save_state(self) -> None:
        if self.state_unsaved and not self.dry_run:
            self.archive.save_state(self.states)
        self.state_unsaved = False
        self.state_saved_at = time.monotonic()
