"""A run's outcome as data for machines: the --report JSON, JSON log lines, and the
GitHub Actions step summary and annotations; pure."""

from __future__ import annotations

from typing import Any

from archiver.about import __version__
from archiver.models import FeedOutcome, RunReport, Status


def outcome_record(outcome: FeedOutcome) -> dict[str, Any]:
    return {
        "name": outcome.name,
        "url": outcome.url,
        "status": outcome.status.reported.value,
        "http_status": outcome.http_status,
        "not_modified": outcome.not_modified,
        "new": outcome.new,
        "already_archived": outcome.already_archived,
        "filtered": outcome.filtered,
        "updated": outcome.updated,
        "bytes": outcome.bytes,
        "elapsed": outcome.elapsed,
        "error": outcome.reason,
        "warnings": list(outcome.warnings),
        "written": [entry.path for entry in outcome.written],
    }


def summary_record(report: RunReport) -> dict[str, Any]:
    return {
        "feeds": {status.value: count for status, count in report.reported_counts().items()},
        "entries": {
            "new": report.new,
            "already_archived": report.already_archived,
            "filtered": report.filtered,
            "updated": report.updated,
        },
        "aborted": report.aborted,
    }


def run_report(report: RunReport) -> dict[str, Any]:
    """The --report document: when the run ran, and every feed with its outcome."""
    return {
        "archiver": __version__,
        "started": report.started.isoformat() if report.started else None,
        "finished": report.finished.isoformat() if report.finished else None,
        "summary": summary_record(report),
        "warnings": list(report.warnings),
        "feeds": [outcome_record(o) for o in report.outcomes],
    }


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


STATUS_ICONS = {
    Status.OK: "✅",
    Status.NOT_MODIFIED: "💤",
    Status.SKIPPED: "⏭️",
    Status.FAILED: "❌",
}


def step_summary(report: RunReport) -> str:
    """Markdown for $GITHUB_STEP_SUMMARY: a line of totals and a table of the feeds."""
    lines = [
        "### archiver",
        "",
        _cell(report.summary()),
        "",
        "| | Feed | New | Already archived | Note |",
        "| --- | --- | ---: | ---: | --- |",
    ]
    for o in sorted(report.outcomes, key=lambda o: (o.status is not Status.FAILED, o.name)):
        note = o.reason or ("; ".join(o.warnings) if o.warnings else "")
        icon = STATUS_ICONS[o.status.reported]
        lines.append(
            f"| {icon} | {_cell(o.name)} | {o.new} | {o.already_archived} | {_cell(note)} |"
        )
    return "\n".join(lines) + "\n"


def _escape_data(text: str) -> str:
    # https://docs.github.com/actions/reference/workflow-commands-for-github-actions
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_annotations(report: RunReport) -> list[str]:
    """A ::warning workflow command per failing feed, shown on the run's page."""
    lines = []
    for outcome in report.outcomes:
        if outcome.status is Status.FAILED:
            title = _escape_property(f"feed {outcome.name} failed")
            lines.append(f"::warning title={title}::{_escape_data(outcome.error or '')}")
    return lines
