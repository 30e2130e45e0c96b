"""What machines read of a run (the --report document, JSON log lines, the GitHub Actions
step summary and annotations) and what `archiver status` shows."""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone

import pytest

from archiver import __version__
from archiver.archive.health import FeedStatus
from archiver.models import FeedOutcome, RunReport, Status
from archiver.report.console import NORMAL, QUIET, JsonReporter
from archiver.report.status import status_document, status_table
from archiver.report.structured import run_report, step_summary, workflow_annotations


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


URL = "https://example.org/feed.xml"
OK = FeedOutcome("blog", URL, Status.OK, http_status=200, new=2, already_archived=1, bytes=10)
DOWN = FeedOutcome("down|pipe", URL, Status.FAILED, error="HTTP 500: a, b\nsecond line 100%")
STARTED = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


def report_of(*outcomes: FeedOutcome, **changes: object) -> RunReport:
    return RunReport(outcomes=list(outcomes), **changes)  # type: ignore[arg-type]


def test_the_report_document_names_each_feed_and_the_totals() -> None:
    document = run_report(
        report_of(OK, DOWN, started=STARTED, finished=STARTED, warnings=["disk nearly full"])
    )
    assert document["archiver"] == __version__
    assert (document["started"], document["finished"]) == (STARTED.isoformat(),) * 2
    assert document["warnings"] == ["disk nearly full"]
    assert document["summary"] == {
        "feeds": {"ok": 1, "not modified": 0, "failed": 1, "skipped": 0},
        "entries": {"new": 2, "already_archived": 1, "filtered": 0, "updated": 0},
        "aborted": None,
    }
    first = document["feeds"][0]
    assert first["name"] == "blog" and first["status"] == "ok"
    assert (first["new"], first["already_archived"], first["not_modified"]) == (2, 1, False)
    assert json.loads(json.dumps(document)) == document  # plain JSON all through


@pytest.mark.parametrize(
    ("verbosity", "events"),
    [
        pytest.param(
            QUIET,
            [("feed", "error"), ("warning", "warning"), ("summary", "error")],
            id="quiet: no line for a feed that went well",
        ),
        pytest.param(
            NORMAL,
            [("feed", "info"), ("feed", "error"), ("warning", "warning"), ("summary", "error")],
            id="normal: every feed",
        ),
    ],
)
def test_json_log_lines(verbosity: int, events: list[tuple[str, str]]) -> None:
    stdout = io.StringIO()
    reporter = JsonReporter(stdout, verbosity)
    reporter.outcome(OK)
    reporter.outcome(DOWN)
    reporter.finish(report_of(OK, DOWN, warnings=["w"]), dry_run=True)
    records = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert [(r["event"], r["level"]) for r in records] == events
    assert records[-1]["dry_run"] is True and records[-1]["feeds"]["failed"] == 1


def test_the_step_summary_puts_failures_first_and_escapes_cells() -> None:
    assert step_summary(report_of(OK, DOWN)).splitlines() == [
        "### archiver",
        "",
        "feeds: 1 ok, 0 not modified, 1 failed; entries: 2 new, 1 already archived",
        "",
        "| | Feed | New | Already archived | Note |",
        "| --- | --- | ---: | ---: | --- |",
        "| ❌ | down\\|pipe | 0 | 0 | HTTP 500: a, b second line 100% |",
        "| ✅ | blog | 2 | 1 |  |",
    ]


@pytest.mark.parametrize(
    ("outcomes", "annotations"),
    [
        pytest.param([OK], [], id="none when every feed is fetched"),
        pytest.param(
            [OK, DOWN],
            ["::warning title=feed down|pipe failed::HTTP 500: a, b%0Asecond line 100%25"],
            id="a warning per failing feed, escaped",
        ),
        pytest.param(
            [FeedOutcome("a:b,c", URL, Status.FAILED, error=None)],
            ["::warning title=feed a%3Ab%2Cc failed::"],
            id="the title's colon and comma escaped",
        ),
    ],
)
def test_workflow_annotations(outcomes: list[FeedOutcome], annotations: list[str]) -> None:
    assert workflow_annotations(report_of(*outcomes)) == annotations
