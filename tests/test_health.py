"""Feed health: what a run learns of a feed, and the health files read back and merged."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from archiver.archive.health import encode_health, latest_health, load_health, next_health
from archiver.archive.shard import Shard
from archiver.archive.store import Archive
from archiver.models import FeedHealth, FeedOutcome, Status

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
STAMP = NOW
BEFORE = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
EARLIER = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)
KNOWN = FeedHealth(
    last_attempt=BEFORE,
    last_success=BEFORE,
    first_success=EARLIER,
    last_status=200,
    consecutive_failures=0,
    body_sha256="old-body",
)
FAILING = FeedHealth(
    last_attempt=BEFORE,
    last_success=EARLIER,
    first_success=EARLIER,
    last_status=500,
    consecutive_failures=2,
    body_sha256="old-body",
)


def outcome(status: Status, http_status: int | None = 200, **facts: object) -> FeedOutcome:
    return FeedOutcome("f", "https://e.org/f", status, http_status, **facts)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("previous", "result", "expected"),
    [
        (
            None,
            outcome(Status.OK, body_sha256="body"),
            FeedHealth(STAMP, STAMP, STAMP, 200, 0, "body"),
        ),
        (
            KNOWN,
            outcome(Status.OK, body_sha256="new-body"),
            FeedHealth(STAMP, STAMP, EARLIER, 200, 0, "new-body"),
        ),
        (
            KNOWN,
            outcome(Status.OK),
            FeedHealth(STAMP, STAMP, EARLIER, 200, 0, None),
        ),
        (
            KNOWN,
            outcome(Status.NOT_MODIFIED, 304),
            FeedHealth(STAMP, STAMP, EARLIER, 304, 0, "old-body"),
        ),
        (
            FAILING,
            outcome(Status.OK),
            FeedHealth(STAMP, STAMP, EARLIER, 200, 0, None),
        ),
        (
            KNOWN,
            outcome(Status.FAILED, 500, error="HTTP 500"),
            FeedHealth(STAMP, BEFORE, EARLIER, 500, 1, "old-body"),
        ),
        (
            FAILING,
            outcome(Status.FAILED, None, error="timed out"),
            FeedHealth(STAMP, EARLIER, EARLIER, None, 3, "old-body"),
        ),
        (
            KNOWN,
            outcome(Status.FAILED, error="not a feed", unreadable_sha256="bad"),
            FeedHealth(STAMP, BEFORE, EARLIER, 200, 1, "old-body", "bad", "not a feed"),
        ),
        (KNOWN, outcome(Status.SKIPPED, None), KNOWN),
        (None, outcome(Status.SKIPPED, None), FeedHealth()),
    ],
    ids=[
        "first-success",
        "success-with-a-new-body",
        "success-with-entries-left-to-archive",
        "not-modified-keeps-the-body",
        "success-ends-a-failing-streak",
        "failure-keeps-the-last-success",
        "failures-count-up",
        "unreadable-body-remembered-with-its-reason",
        "skipped-learns-nothing",
        "skipped-before-any-attempt",
    ],
)
def test_next_health(
    previous: FeedHealth | None, result: FeedOutcome, expected: FeedHealth
) -> None:
    assert next_health(previous, result, NOW) == expected


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, {}),
        ("{not json", {}),
        ("[1, 2]", {}),
        ('{"f": 3}', {}),
        (
            '{"f": {"last_status": 200, "from_a_newer_version": 1}}',
            {"f": FeedHealth(last_status=200)},
        ),
    ],
    ids=["missing", "not-json", "not-a-mapping", "a-record-not-a-mapping", "unknown-keys-ignored"],
)
def test_a_health_file_reads_back_or_is_lost_quietly(
    tmp_path: Path, content: str | None, expected: dict[str, FeedHealth]
) -> None:
    path = tmp_path / "health.json"
    if content is not None:
        path.write_text(content)
    assert load_health(path) == expected


def test_health_round_trips_through_its_file(tmp_path: Path) -> None:
    path = tmp_path / "health.json"
    path.write_bytes(encode_health({"b": FAILING, "a": KNOWN}))
    assert load_health(path) == {"a": KNOWN, "b": FAILING}
    assert path.read_text().index('"a"') < path.read_text().index('"b"')  # sorted


def attempted(when: datetime | None, status: int = 200) -> FeedHealth:
    return FeedHealth(last_attempt=when, last_status=status)


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        ([], {}),
        (
            [{"a": attempted(BEFORE)}, {"b": attempted(STAMP)}],
            {"a": attempted(BEFORE), "b": attempted(STAMP)},
        ),
        ([{"a": attempted(BEFORE, 500)}, {"a": attempted(STAMP)}], {"a": attempted(STAMP)}),
        ([{"a": attempted(STAMP)}, {"a": attempted(BEFORE, 500)}], {"a": attempted(STAMP)}),
        ([{"a": attempted(STAMP)}, {"a": attempted(STAMP, 500)}], {"a": attempted(STAMP)}),
        ([{"a": attempted(None, 500)}, {"a": attempted(BEFORE)}], {"a": attempted(BEFORE)}),
    ],
    ids=[
        "no-file",
        "feeds-of-two-shards",
        "later-file-later-attempt",
        "earlier-file-later-attempt",
        "a-tie-keeps-the-first",
        "never-attempted-loses",
    ],
)
def test_latest_health_keeps_each_feed_s_later_attempt(
    records: list[dict[str, FeedHealth]], expected: dict[str, FeedHealth]
) -> None:
    assert latest_health(records) == expected


def test_status_reads_the_health_of_every_shard_and_the_unsharded_file(tmp_path: Path) -> None:
    unsharded, first, second = (
        Archive(tmp_path),
        Archive(tmp_path, Shard(1, 2)),
        Archive(tmp_path, Shard(2, 2)),
    )
    unsharded.save_health({"a": attempted(EARLIER), "b": attempted(EARLIER)})
    first.save_health({"a": attempted(STAMP)})
    second.save_health({"c": attempted(BEFORE)})
    assert unsharded.health_of_every_shard() == {
        "a": attempted(STAMP),
        "b": attempted(EARLIER),
        "c": attempted(BEFORE),
    }
    assert first.load_health() == {"a": attempted(STAMP)}  # a run reads its own file only
