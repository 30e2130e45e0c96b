"""The plain data that flows between stages: fetch → parse → convert → write → report."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from typing import Any


@dataclass(frozen=True)
class FeedState:
    """What the archive remembers of one feed between runs.

    Only facts that change when the feed changes live here (validators, the
    start of a failure and its reason), never the time of the last check or a
    count of runs, so a run that finds the world as it was leaves the state file
    untouched and a scheduled job has nothing to commit.
    """

    url: str
    etag: str | None = None
    last_modified: str | None = None
    failing_since: datetime | None = None  # the first failed run of the current streak
    last_error: str | None = None
    permanent_redirect: str | None = None
    gone_since: datetime | None = None  # when the feed answered 410 Gone
    retry_not_before: datetime | None = None  # what the server's Retry-After asked for

    def record(self) -> dict[str, Any]:
        """The state as the state file holds it: what is set, its times in ISO 8601."""
        return {k: v for k, v in _record(self).items() if v is not None}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> FeedState:
        """The state a record of the state file holds; keys it does not know are left out,
        and a time that is no ISO 8601 time is forgotten."""
        return cls(**_values(cls, record, {"failing_since", "gone_since", "retry_not_before"}))


def _record(facts: FeedState | FeedHealth) -> dict[str, Any]:
    """A dataclass's fields for a JSON file, its times in ISO 8601."""
    record = asdict(facts)
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in record.items()}


def _values(
    cls: type[FeedState | FeedHealth], record: Mapping[str, Any], times: set[str]
) -> dict[str, Any]:
    """The fields of `cls` that a JSON record holds, the `times` among them as datetimes."""
    known = {f.name for f in fields(cls)}
    values = {k: v for k, v in record.items() if k in known}
    for name in times & values.keys():
        values[name] = _instant_or_none(values[name])
    return values


def _instant_or_none(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    instant = parse_instant(value)
    return None if instant == EARLIEST else instant


def current_state(state: FeedState | None, url: str) -> FeedState | None:
    """The stored state if it is the state of this URL: what was learnt of a feed's old
    URL (validators, failures, a Retry-After) says nothing of its new one."""
    return state if state is not None and state.url == url else None


@dataclass(frozen=True)
class FetchResult:
    status: int
    url: str
    headers: Mapping[str, str]
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    permanent_redirect: str | None = None
    # Set for a page of a feed's history (backfill.py): the feed's own URL, which keys
    # the ids of entries whose guid is no URL, so a page and the feed agree on them.
    feed_url: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True)
class Enclosure:
    url: str
    type: str | None = None
    length: int | None = None


@dataclass(frozen=True)
class Entry:
    """One feed entry, whatever format it came in, before conversion."""

    id: str
    title: str | None
    link: str | None
    guid: str | None
    author: str | None
    published: datetime | None
    updated: datetime | None
    tags: tuple[str, ...]
    content: str
    content_type: str  # "text/html" or "text/plain"
    content_base: str | None
    summary: str | None = None
    images: tuple[str, ...] = ()  # lead image candidates the feed names: thumbnails, enclosures
    enclosures: tuple[Enclosure, ...] = ()
    duration: str | None = None  # a podcast episode's length, as the feed gives it
    # Where an entry came from when not from the feed itself, for its front matter:
    # (("via", "wayback"), ("snapshot", ISO time)) for a Wayback Machine snapshot.
    origin: tuple[tuple[str, str], ...] = ()
    # The ids earlier versions of archiver gave this entry: one archived under any of
    # them is archived, and is not written again under its id of today.
    former_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    home_url: str | None
    image: str | None  # the feed's own image or logo
    entries: tuple[Entry, ...]
    warning: str | None = None  # a parse problem the entries survived
    # What a walk of the feed's history needs (backfill.py): the feed-level links as
    # (rel, absolute URL), RFC 5005's fh:complete and fh:archive, the generator.
    links: tuple[tuple[str, str], ...] = ()
    complete: bool = False
    archive: bool = False
    generator: str | None = None

    def link(self, rel: str) -> str | None:
        """The first feed-level link of this relation, or None."""
        return next((href for r, href in self.links if r == rel), None)


@dataclass(frozen=True)
class Document:
    """A converted entry, ready to write: `relpath` is relative to the archive root."""

    id: str
    relpath: str
    text: str
    title: str
    date: str  # ISO 8601, as in the front matter
    images: tuple[str, ...] = ()  # every image it shows, the lead image first


def header(headers: Mapping[str, str], name: str) -> str:
    """A response header's value by its lower-case name, whatever case the server sent."""
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return ""


def parse_instant(value: str | None) -> datetime:
    """An ISO 8601 time as an aware datetime; the earliest one for nothing or garbage."""
    try:
        parsed = datetime.fromisoformat(value) if value else EARLIEST
    except ValueError:
        return EARLIEST
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


EARLIEST = datetime.min.replace(tzinfo=timezone.utc)


@dataclass(frozen=True, slots=True)  # slots: an archive's catalog is held whole
class CatalogEntry:
    """One archived entry as the index pages and `archiver status` list it."""

    id: str
    path: str
    title: str
    feed: str
    date: str  # ISO 8601 with offset

    @property
    def instant(self) -> datetime:
        return parse_instant(self.date)


@dataclass(frozen=True)
class FeedHealth:
    """Per-run facts about a feed, kept out of version control (they change every run)."""

    last_attempt: datetime | None = None
    last_success: datetime | None = None
    # The first successful fetch: how long a feed that has never had an entry has been silent.
    first_success: datetime | None = None
    last_status: int | None = None
    consecutive_failures: int = 0
    # SHA-256 of the last body whose entries are all archived: a server that sends
    # no validators and the same bytes again costs no parsing. Not in the committed
    # state, because some feeds put the time of the request in every body.
    body_sha256: str | None = None
    # The last body that could not be read as a feed (see decide.unreadable_digest),
    # and why: the same bytes again fail the same way without being parsed.
    unreadable_sha256: str | None = None
    unreadable_reason: str | None = None

    def record(self) -> dict[str, Any]:
        """The facts as the health file holds them, its times in ISO 8601."""
        return _record(self)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> FeedHealth:
        """The facts a record of the health file holds; keys it does not know are left
        out, and a time that is no ISO 8601 time is forgotten."""
        return cls(**_values(cls, record, {"last_attempt", "last_success", "first_success"}))


class Status(enum.Enum):
    OK = "ok"
    NOT_MODIFIED = "not modified"  # HTTP 304
    UNCHANGED = "unchanged"  # a 200 with the body of last time, all of it archived
    FAILED = "failed"
    SKIPPED = "skipped"  # not fetched: gone, or the server asked us to wait

    @property
    def reported(self) -> Status:
        """The status reports show: to a reader an unchanged body is "not modified", as
        a 304 is, and the report JSON has no other word for it."""
        return Status.NOT_MODIFIED if self is Status.UNCHANGED else self


@dataclass(frozen=True)
class FeedOutcome:
    name: str
    url: str
    status: Status
    http_status: int | None = None
    new: int = 0
    already_archived: int = 0
    filtered: int = 0  # left out by the feed's include/exclude filters
    updated: int = 0  # archived entries written again (on_update: overwrite or revisions)
    written: tuple[CatalogEntry, ...] = ()
    # Archived entries listed again in the catalog (on_update), with their current title.
    revised: tuple[CatalogEntry, ...] = ()
    error: str | None = None  # why it failed
    skip_reason: str | None = None  # why it was not fetched (Status.SKIPPED)
    warnings: tuple[str, ...] = ()
    bytes: int = 0
    elapsed: float = 0.0  # seconds, fetch to state
    body_sha256: str | None = None  # set when every entry of this body is archived
    unreadable_sha256: str | None = None  # set when this body could not be read as a feed

    @property
    def not_modified(self) -> bool:
        """Nothing new to read: a 304, or the same body as last time."""
        return self.status.reported is Status.NOT_MODIFIED

    @property
    def reason(self) -> str | None:
        """Why nothing was archived, as reports show it: the error, or why it was skipped."""
        return self.error or self.skip_reason


@dataclass
class RunReport:
    started: datetime | None = None
    finished: datetime | None = None
    outcomes: list[FeedOutcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # about the archive, not one feed
    health: dict[str, FeedHealth] = field(default_factory=dict)  # after this run
    aborted: str | None = None  # why the run stopped before every feed was processed

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status is status)

    def reported_counts(self) -> dict[Status, int]:
        """How many feeds have each status as reports show it (Status.reported), in order."""
        counts = {status: 0 for status in Status if status.reported is status}
        for outcome in self.outcomes:
            counts[outcome.status.reported] += 1
        return counts

    @property
    def new(self) -> int:
        return sum(o.new for o in self.outcomes)

    @property
    def already_archived(self) -> int:
        return sum(o.already_archived for o in self.outcomes)

    @property
    def filtered(self) -> int:
        return sum(o.filtered for o in self.outcomes)

    @property
    def updated(self) -> int:
        return sum(o.updated for o in self.outcomes)

    @property
    def failed(self) -> bool:
        return self.aborted is not None or self.count(Status.FAILED) > 0

    def summary(self) -> str:
        counts = self.reported_counts()
        skipped = counts[Status.SKIPPED]
        return (
            f"feeds: {counts[Status.OK]} ok, {counts[Status.NOT_MODIFIED]} not modified, "
            f"{counts[Status.FAILED]} failed"
            + (f", {skipped} skipped" if skipped else "")
            + f"; entries: {self.new} new, {self.already_archived} already archived"
            + (f", {self.updated} updated" if self.updated else "")
            + (f", {self.filtered} filtered out" if self.filtered else "")
        )
