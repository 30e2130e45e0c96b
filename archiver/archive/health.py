"""Feed health: per-run facts kept beside the state, and the rows of `archiver status`.

Health changes on every run (the time of the last attempt, a count of failures
in a row), so it lives in `.archiver/health.json`, which the archive's
.gitignore excludes: committing it would make every scheduled run a commit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from archiver.config.model import FeedConfig
from archiver.models import (
    EARLIEST,
    CatalogEntry,
    FeedHealth,
    FeedOutcome,
    FeedState,
    Status,
    current_state,
    parse_instant,
)

HEALTH_FILE = "health.json"
DEFAULT_FAILING_DAYS = 3
DEFAULT_SILENT_DAYS = 60


def next_health(previous: FeedHealth | None, outcome: FeedOutcome, now: datetime) -> FeedHealth:
    previous = previous or FeedHealth()
    stamp = now.replace(microsecond=0)  # to the second, as the health file has it
    if outcome.status is Status.SKIPPED:
        return previous  # not attempted: nothing learnt
    if outcome.status is Status.FAILED:
        return FeedHealth(
            last_attempt=stamp,
            last_success=previous.last_success,
            first_success=previous.first_success,
            last_status=outcome.http_status,
            consecutive_failures=previous.consecutive_failures + 1,
            body_sha256=previous.body_sha256,
            unreadable_sha256=outcome.unreadable_sha256,
            unreadable_reason=outcome.error if outcome.unreadable_sha256 else None,
        )
    return FeedHealth(
        last_attempt=stamp,
        last_success=stamp,
        first_success=previous.first_success or stamp,
        last_status=outcome.http_status,
        body_sha256=outcome.body_sha256 or (outcome.not_modified and previous.body_sha256) or None,
    )


def load_health(path: Path) -> dict[str, FeedHealth]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return {name: FeedHealth.from_record(record) for name, record in document.items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}  # per-run facts only: losing them loses no archive data


def latest_health(records: Iterable[Mapping[str, FeedHealth]]) -> dict[str, FeedHealth]:
    """The health of every feed in `records` (the files of every shard, and the unsharded
    one, in name order): of two records of a feed, the later attempt's, as an archive may
    have been run sharded, then not, or sharded differently."""
    merged: dict[str, FeedHealth] = {}
    for record in records:
        for name, health in record.items():
            known = merged.get(name)
            later = known is None or (
                (health.last_attempt or EARLIEST) > (known.last_attempt or EARLIEST)
            )
            if later:
                merged[name] = health
    return merged


def encode_health(health: Mapping[str, FeedHealth]) -> bytes:
    document = {name: health[name].record() for name in sorted(health)}
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()


@dataclass(frozen=True)
class FeedStatus:
    name: str
    url: str
    last_success: str | None
    last_status: int | None
    consecutive_failures: int
    failing_since: str | None
    last_error: str | None
    entries: int
    newest_entry: str | None
    validators: bool
    moved_to: str | None
    flags: tuple[str, ...]


def feed_statuses(
    feeds: Iterable[FeedConfig],
    states: Mapping[str, FeedState],
    health: Mapping[str, FeedHealth],
    catalog: Iterable[CatalogEntry],
    *,
    now: datetime,
    failing_days: float = DEFAULT_FAILING_DAYS,
    silent_days: float = DEFAULT_SILENT_DAYS,
) -> list[FeedStatus]:
    counts: dict[str, int] = {}
    newest: dict[str, str] = {}
    for entry in catalog:
        counts[entry.feed] = counts.get(entry.feed, 0) + 1
        if entry.instant > parse_instant(newest.get(entry.feed)):
            newest[entry.feed] = entry.date
    rows = []
    for feed in feeds:
        state = current_state(states.get(feed.name), feed.url)
        facts = health.get(feed.name) or FeedHealth()
        flags = []
        if (
            state
            and state.failing_since
            and now - state.failing_since > timedelta(days=failing_days)
        ):
            flags.append(f"failing for more than {failing_days:g} days")
        if state and state.gone_since:
            flags.append("gone (HTTP 410)")
        last_entry = newest.get(feed.name)
        # A feed that has never had an entry (a new blog) is silent since it was first read.
        silent_since = parse_instant(last_entry) if last_entry else facts.first_success
        if silent_since and now - silent_since > timedelta(days=silent_days):
            flags.append(f"silent: no new entry for more than {silent_days:g} days")
        moved = state.permanent_redirect if state else None
        if moved:
            flags.append(f"moved: replace its url with {moved}")
        rows.append(
            FeedStatus(
                name=feed.name,
                url=feed.url,
                last_success=facts.last_success.isoformat() if facts.last_success else None,
                last_status=facts.last_status,
                consecutive_failures=facts.consecutive_failures,
                failing_since=state.failing_since.isoformat()
                if state and state.failing_since
                else None,
                last_error=state.last_error if state else None,
                entries=counts.get(feed.name, 0),
                newest_entry=last_entry,
                validators=bool(state and (state.etag or state.last_modified)),
                moved_to=moved,
                flags=tuple(flags),
            )
        )
    return rows
