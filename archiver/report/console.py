"""What a person (or a log collector) sees while a run goes on.

- On a terminal: a live progress line, then a colour table of the feeds.
- Elsewhere (cron, CI): plain, greppable lines, one per feed, nothing animated.
- `--log-format json`: one JSON object per line, for log collectors.
Errors always reach standard error in the plain and terminal forms; `-q` keeps
only them, `-v` adds a line per entry written.
"""

from __future__ import annotations

import io
import json
from typing import TextIO, cast

from archiver.config.secrets import Redactor
from archiver.models import FeedOutcome, RunReport, Status
from archiver.report.structured import outcome_record, summary_record
from archiver.text import pad, plural, width

PROG = "archiver"
QUIET, NORMAL, VERBOSE = 0, 1, 2

_COLOURS = {
    Status.OK: "\033[32m",
    Status.NOT_MODIFIED: "\033[2m",
    Status.SKIPPED: "\033[33m",
    Status.FAILED: "\033[31m",
}
_RESET = "\033[0m"
_CLEAR_LINE = "\r\033[K"


class _RedactedStream(io.TextIOBase):
    def __init__(self, stream: TextIO, redactor: Redactor) -> None:
        self._stream = stream
        self._redactor = redactor

    def write(self, text: str) -> int:
        self._stream.write(self._redactor.text(text))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()


def redacted(stream: TextIO, redactor: Redactor) -> TextIO:
    """`stream` with every secret `redactor` knows replaced by the marker: the last line
    of defence, behind the feeds' shown URLs and the fetcher's redacted messages."""
    return cast("TextIO", _RedactedStream(stream, redactor)) if redactor else stream


def say(stream: TextIO, message: str) -> None:
    # Flushed line by line so that a log collecting both streams (cron's
    # `>> log 2>&1`) keeps errors and progress in the order they happened.
    print(message, file=stream, flush=True)


def error(stream: TextIO, message: str) -> None:
    say(stream, f"{PROG}: {message}")


def outcome_line(outcome: FeedOutcome) -> str:
    if outcome.not_modified:
        return f"{outcome.name}: not modified"
    if outcome.status is Status.SKIPPED:
        return f"{outcome.name}: skipped: {outcome.skip_reason}"
    extra = f", {outcome.updated} updated" if outcome.updated else ""
    extra += f", {outcome.filtered} filtered out" if outcome.filtered else ""
    return f"{outcome.name}: {outcome.new} new, {outcome.already_archived} already archived{extra}"


def progress_line(done: int, total: int, new: int, failed: int) -> str:
    return (
        f"{done}/{plural(total, 'feed')}, {plural(new, 'entry', 'entries')} written, "
        f"{plural(failed, 'error')}"
    )


class PlainReporter:
    """One greppable line per feed; errors and warnings on standard error."""

    def __init__(self, stdout: TextIO, stderr: TextIO, verbosity: int = NORMAL) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.verbosity = verbosity

    def outcome(self, outcome: FeedOutcome) -> None:
        if outcome.status is Status.FAILED:
            error(self.stderr, f"feed {outcome.name!r} failed: {outcome.error}")
        elif self.verbosity >= NORMAL:
            say(self.stdout, outcome_line(outcome))
        if self.verbosity >= NORMAL:
            for warning in outcome.warnings:
                error(self.stderr, f"feed {outcome.name!r}: warning: {warning}")
        if self.verbosity >= VERBOSE:
            for entry in outcome.written:
                say(self.stdout, f"  + {entry.path}")

    def finish(self, report: RunReport, *, dry_run: bool) -> None:
        for warning in report.warnings:
            error(self.stderr, f"warning: {warning}")
        if report.aborted:
            error(self.stderr, f"stopped: {report.aborted}")
        if self.verbosity >= NORMAL:
            prefix = "dry run, nothing written; " if dry_run else ""
            say(self.stdout, f"{PROG}: {prefix}{report.summary()}")


class TerminalReporter(PlainReporter):
    """A live progress line while feeds arrive, and a colour table at the end."""

    def __init__(
        self,
        stdout: TextIO,
        stderr: TextIO,
        verbosity: int = NORMAL,
        *,
        total: int,
        colour: bool = True,  # False where the user set NO_COLOR (https://no-color.org)
    ) -> None:
        super().__init__(stdout, stderr, verbosity)
        self.total = total
        self.done = self.new = self.failed = 0
        self.colour = colour
        self._outcomes: list[FeedOutcome] = []

    def _paint(self, status: Status, text: str) -> str:
        return f"{_COLOURS[status]}{text}{_RESET}" if self.colour else text

    def outcome(self, outcome: FeedOutcome) -> None:
        self._outcomes.append(outcome)
        self.done += 1
        self.new += outcome.new
        self.failed += outcome.status is Status.FAILED
        self.stderr.write(_CLEAR_LINE)
        if outcome.status is Status.FAILED or self.verbosity >= VERBOSE:
            super().outcome(outcome)  # errors stay on screen above the progress line
        if self.verbosity >= NORMAL:
            self.stderr.write(progress_line(self.done, self.total, self.new, self.failed))
        self.stderr.flush()

    def finish(self, report: RunReport, *, dry_run: bool) -> None:
        self.stderr.write(_CLEAR_LINE)
        self.stderr.flush()
        if self.verbosity >= NORMAL:
            self._table()
        super().finish(report, dry_run=dry_run)

    def _table(self) -> None:
        rows = [("feed", "status", "new", "archived", "note")]
        statuses: list[Status | None] = [None]
        for o in sorted(self._outcomes, key=lambda o: o.name):
            note = o.reason or ("; ".join(o.warnings) if o.warnings else "")
            shown = o.status.reported
            rows.append((o.name, shown.value, str(o.new), str(o.already_archived), note[:60]))
            statuses.append(shown)
        widths = [max(width(row[i]) for row in rows) for i in range(4)]
        for row, status in zip(rows, statuses, strict=True):
            cells = [pad(row[0], widths[0]), pad(row[1], widths[1])]
            cells += [pad(row[2], widths[2], right=True), pad(row[3], widths[3], right=True)]
            cells.append(row[4])
            line = "  ".join(cells).rstrip()
            say(self.stdout, self._paint(status, line) if status else line)


class JsonReporter:
    """One JSON object per line on standard output: a line per feed, then the summary."""

    def __init__(self, stdout: TextIO, verbosity: int = NORMAL) -> None:
        self.stdout = stdout
        self.verbosity = verbosity

    def _emit(self, record: dict[str, object]) -> None:
        say(self.stdout, json.dumps(record, ensure_ascii=False, sort_keys=True))

    def outcome(self, outcome: FeedOutcome) -> None:
        if outcome.status is Status.FAILED or self.verbosity >= NORMAL:
            level = "error" if outcome.status is Status.FAILED else "info"
            self._emit({"event": "feed", "level": level, **outcome_record(outcome)})

    def finish(self, report: RunReport, *, dry_run: bool) -> None:
        for warning in report.warnings:
            self._emit({"event": "warning", "level": "warning", "message": warning})
        self._emit(
            {"event": "summary", "level": "error" if report.failed else "info", "dry_run": dry_run}
            | summary_record(report)
        )
