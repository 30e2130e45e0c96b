"""What a person sees of a run: a line per feed, the live progress line on a terminal,
the counts in words, errors on standard error, and no secret anywhere."""

from __future__ import annotations

import io

import pytest

from archiver.config.secrets import MARKER, Redactor
from archiver.models import CatalogEntry, FeedOutcome, RunReport, Status
from archiver.report.console import (
    NORMAL,
    QUIET,
    VERBOSE,
    PlainReporter,
    TerminalReporter,
    outcome_line,
    progress_line,
    redacted,
)

URL = "https://example.org/feed.xml"
WRITTEN = CatalogEntry("61b020c61b8d24fa", "2026/11/25/a-61b020c61b8d24fa.md", "A", "blog", "")


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("outcome", "line"),
    [
        pytest.param(
            FeedOutcome("blog", URL, Status.OK, new=2, already_archived=1),
            "blog: 2 new, 1 already archived",
            id="ok",
        ),
        pytest.param(
            FeedOutcome("blog", URL, Status.OK, new=1, already_archived=0, updated=1, filtered=3),
            "blog: 1 new, 0 already archived, 1 updated, 3 filtered out",
            id="updated and filtered only when there are some",
        ),
        pytest.param(
            FeedOutcome("blog", URL, Status.NOT_MODIFIED, http_status=304),
            "blog: not modified",
            id="not modified",
        ),
        pytest.param(
            FeedOutcome("blog", URL, Status.UNCHANGED, http_status=200),
            "blog: not modified",
            id="the same body again reads as not modified too",
        ),
        pytest.param(
            FeedOutcome("blog", URL, Status.SKIPPED, skip_reason="gone (HTTP 410)"),
            "blog: skipped: gone (HTTP 410)",
            id="skipped, with why",
        ),
    ],
)
def test_outcome_line(outcome: FeedOutcome, line: str) -> None:
    assert outcome_line(outcome) == line


@pytest.mark.parametrize(
    ("counts", "line"),
    [
        pytest.param(
            (0, 1, 0, 0), "0/1 feed, 0 entries written, 0 errors", id="one feed, none yet"
        ),
        pytest.param((1, 3, 1, 1), "1/3 feeds, 1 entry written, 1 error", id="singulars"),
        pytest.param((3, 3, 12, 2), "3/3 feeds, 12 entries written, 2 errors", id="plurals"),
    ],
)
def test_progress_line(counts: tuple[int, int, int, int], line: str) -> None:
    assert progress_line(*counts) == line


def report_of(*outcomes: FeedOutcome) -> RunReport:
    return RunReport(outcomes=list(outcomes))


FAILED = FeedOutcome("down", URL, Status.FAILED, error="HTTP 500 Internal Server Error")
ARCHIVED = FeedOutcome("blog", URL, Status.OK, new=1, written=(WRITTEN,), warnings=("slow",))


@pytest.mark.parametrize(
    ("verbosity", "out", "err"),
    [
        pytest.param(
            QUIET,
            [],
            ["archiver: feed 'down' failed: HTTP 500 Internal Server Error"],
            id="quiet: errors only",
        ),
        pytest.param(
            NORMAL,
            [
                "blog: 1 new, 0 already archived",
                "archiver: feeds: 1 ok, 0 not modified, 1 failed; "
                "entries: 1 new, 0 already archived",
            ],
            [
                "archiver: feed 'blog': warning: slow",
                "archiver: feed 'down' failed: HTTP 500 Internal Server Error",
            ],
            id="normal: a line per feed and the totals",
        ),
        pytest.param(
            VERBOSE,
            [
                "blog: 1 new, 0 already archived",
                f"  + {WRITTEN.path}",
                "archiver: feeds: 1 ok, 0 not modified, 1 failed; "
                "entries: 1 new, 0 already archived",
            ],
            [
                "archiver: feed 'blog': warning: slow",
                "archiver: feed 'down' failed: HTTP 500 Internal Server Error",
            ],
            id="verbose: every file written too",
        ),
    ],
)
def test_plain_lines_by_verbosity(verbosity: int, out: list[str], err: list[str]) -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    reporter = PlainReporter(stdout, stderr, verbosity)
    for outcome in (ARCHIVED, FAILED):
        reporter.outcome(outcome)
    reporter.finish(report_of(ARCHIVED, FAILED), dry_run=False)
    assert stdout.getvalue().splitlines() == out
    assert stderr.getvalue().splitlines() == err


def test_a_dry_run_says_nothing_was_written() -> None:
    stdout = io.StringIO()
    PlainReporter(stdout, io.StringIO()).finish(report_of(ARCHIVED), dry_run=True)
    assert stdout.getvalue().startswith("archiver: dry run, nothing written; feeds: 1 ok")


def test_the_terminal_shows_a_live_line_then_a_table() -> None:
    stdout, stderr = Terminal(), Terminal()
    reporter = TerminalReporter(stdout, stderr, total=2, colour=False)
    reporter.outcome(ARCHIVED)
    assert stderr.getvalue() == "\r\033[K1/2 feeds, 1 entry written, 0 errors"
    reporter.outcome(FAILED)
    reporter.finish(report_of(ARCHIVED, FAILED), dry_run=False)
    # The error stays above the live line, which the end clears.
    assert stderr.getvalue().split("\r\033[K")[1:] == [
        "1/2 feeds, 1 entry written, 0 errors",
        "archiver: feed 'down' failed: HTTP 500 Internal Server Error\n"
        "2/2 feeds, 1 entry written, 1 error",
        "",
    ]
    assert stdout.getvalue().splitlines() == [
        "feed  status  new  archived  note",
        "blog  ok        1         0  slow",
        "down  failed    0         0  HTTP 500 Internal Server Error",
        "archiver: feeds: 1 ok, 0 not modified, 1 failed; entries: 1 new, 0 already archived",
    ]


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        pytest.param("token=s3cr3t/value", f"token={MARKER}", id="as written"),
        pytest.param("token=s3cr3t%2Fvalue", f"token={MARKER}", id="percent-encoded"),
        pytest.param("s3cr3t&#47;value", MARKER, id="an HTML character reference"),
        pytest.param("nothing secret", "nothing secret", id="other text untouched"),
    ],
)
def test_output_is_redacted(written: str, shown: str) -> None:
    stream = io.StringIO()
    redacted(stream, Redactor(["s3cr3t/value"])).write(written)
    assert stream.getvalue() == shown


def test_with_no_secret_the_stream_is_the_same() -> None:
    stream = io.StringIO()
    assert redacted(stream, Redactor()) is stream


def test_the_terminal_table_is_coloured_by_status_unless_told_not_to() -> None:
    stdout = Terminal()
    reporter = TerminalReporter(stdout, Terminal(), total=1)
    reporter.outcome(FAILED)
    reporter.finish(report_of(FAILED), dry_run=False)
    header, row = stdout.getvalue().splitlines()[:2]
    assert "\033[" not in header
    assert row.startswith("\033[31mdown") and row.endswith("\033[0m")
