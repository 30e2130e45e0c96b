"""What machines and `archiver status` read of a run: the status table and document."""

from __future__ import annotations

import pytest

from archiver.archive.health import FeedStatus
from archiver.report.status import status_document, status_table


def feed_status(name: str = "blog", **changes: object) -> FeedStatus:
    values: dict[str, object] = {
        "name": name,
        "url": f"https://example.org/{name}.xml",
        "last_success": "2026-11-25T12:00:00+00:00",
        "last_status": 200,
        "consecutive_failures": 0,
        "failing_since": None,
        "last_error": None,
        "entries": 3,
        "newest_entry": "2026-11-24T08:00:00+00:00",
        "validators": True,
        "moved_to": None,
        "flags": (),
    }
    return FeedStatus(**(values | changes))  # type: ignore[arg-type]


HEADER = "feed  last success      HTTP  fails  entries  newest      validators"


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param(
            [],
            ["feed  last success  HTTP  fails  entries  newest  validators"],
            id="no feeds: the header alone",
        ),
        pytest.param(
            [feed_status()],
            [HEADER, "blog  2026-11-25T12:00  200   0      3        2026-11-24  yes"],
            id="times cut to the minute and the day",
        ),
        pytest.param(
            [
                feed_status(
                    "new",
                    last_success=None,
                    last_status=None,
                    entries=0,
                    newest_entry=None,
                    validators=False,
                )
            ],
            [
                "feed  last success  HTTP  fails  entries  newest  validators",
                "new   never         -     0      0        -       no",
            ],
            id="a feed never fetched",
        ),
        pytest.param(
            [feed_status("虎嗅"), feed_status("ab", consecutive_failures=4, flags=("a", "b"))],
            [
                HEADER,
                "虎嗅  2026-11-25T12:00  200   0      3        2026-11-24  yes",
                "ab    2026-11-25T12:00  200   4      3        2026-11-24  yes  ! a; b",
            ],
            id="wide characters take two columns; flags after the row",
        ),
    ],
)
def test_status_table(rows: list[FeedStatus], expected: list[str]) -> None:
    assert status_table(rows) == expected


def test_status_document_lists_flags_as_a_list() -> None:
    (feed,) = status_document([feed_status(flags=("silent for 40 days",))])["feeds"]
    assert feed["flags"] == ["silent for 40 days"]
    assert feed["name"] == "blog" and feed["moved_to"] is None
