"""The types passed between stages: the state and health files' records, their times
ISO 8601 on disk and datetimes inside, from tables."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from archiver.models import FeedHealth, FeedState

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
URL = "https://example.org/feed.xml"
FIRST = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("record", "state"),
    [
        pytest.param({"url": URL}, FeedState(URL), id="url-only"),
        pytest.param(
            {"url": URL, "etag": '"v1"', "failing_since": "2026-11-20T12:00:00+00:00"},
            FeedState(URL, etag='"v1"', failing_since=FIRST),
            id="a-time-is-a-datetime",
        ),
        pytest.param(
            {"url": URL, "gone_since": "2026-11-20T14:00:00+02:00"},
            FeedState(URL, gone_since=FIRST),
            id="an-offset-kept",
        ),
        pytest.param(
            {"url": URL, "retry_not_before": "soon", "unknown": 1},
            FeedState(URL),
            id="garbage-time-and-unknown-key-forgotten",
        ),
    ],
)
def test_a_state_record(record: dict[str, object], state: FeedState) -> None:
    assert FeedState.from_record(record) == state


@pytest.mark.parametrize(
    "record",
    [
        pytest.param({"url": URL}, id="url-only"),
        pytest.param({"url": URL, "failing_since": "2026-11-20T12:00:00.123456+00:00"}, id="us"),
        pytest.param({"url": URL, "gone_since": "2026-11-20T14:00:00+02:00"}, id="offset"),
        pytest.param({"url": URL, "retry_not_before": "2026-11-25T12:01:30+00:00"}, id="seconds"),
    ],
)
def test_a_state_record_is_written_as_it_was_read(record: dict[str, object]) -> None:
    assert FeedState.from_record(record).record() == record


def test_a_health_record_is_written_as_it_was_read() -> None:
    record = FeedHealth(last_attempt=NOW, last_success=NOW, first_success=FIRST).record()
    assert record["last_attempt"] == "2026-11-25T12:00:00+00:00"
    assert record["first_success"] == "2026-11-20T12:00:00+00:00"
    assert record["body_sha256"] is None  # the health file lists every fact, set or not
    assert FeedHealth.from_record(record) == FeedHealth(NOW, NOW, FIRST)
    assert FeedHealth.from_record({"last_attempt": "yesterday", "x": 1}) == FeedHealth()
