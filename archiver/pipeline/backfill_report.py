"""What `archiver backfill` did, per feed and source: its console lines and its `--report`
JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archiver.models import CatalogEntry
from archiver.pipeline.backfill_plan import Source
from archiver.text import plural


@dataclass
class SourceReport:
    source: Source
    pages: int = 0
    entries: int = 0
    new: int = 0
    already_archived: int = 0
    failures: int = 0
    written: list[CatalogEntry] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        return {
            "source": self.source.value,
            "pages": self.pages,
            "entries": self.entries,
            "new": self.new,
            "already_archived": self.already_archived,
            "failures": self.failures,
        }


@dataclass
class FeedBackfill:
    """What backfilling one feed did."""

    name: str
    url: str
    sources: list[SourceReport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None  # set when the feed, or a page of it, could not be had
    note: str | None = None  # why nothing was walked (complete, no history found)

    def source(self, source: Source) -> SourceReport:
        for report in self.sources:
            if report.source is source:
                return report
        self.sources.append(SourceReport(source))
        return self.sources[-1]

    @property
    def written(self) -> list[CatalogEntry]:
        return [entry for report in self.sources for entry in report.written]

    @property
    def failed(self) -> bool:
        return self.error is not None

    def line(self) -> str:
        """`name: 6 pages via prev-archive, 140 entries, 131 new`, the live document's
        entries counted in."""
        walked = [r for r in self.sources if r.source is not Source.FEED]
        entries = sum(r.entries for r in self.sources)
        new = sum(r.new for r in self.sources)
        counts = f"{plural(entries, 'entry', 'entries')}, {new} new"
        if self.note:
            return f"{self.name}: {self.note}; {counts}"
        pages = sum(r.pages for r in walked)
        via = ", ".join(r.source.value for r in walked) or "nothing"
        return f"{self.name}: {plural(pages, 'page')} via {via}, {counts}"

    def record(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.url,
            "status": "failed" if self.failed else "ok",
            "note": self.note,
            "error": self.error,
            "warnings": list(self.warnings),
            "sources": [r.record() for r in self.sources],
            "written": [entry.path for entry in self.written],
        }


@dataclass
class BackfillReport:
    feeds: list[FeedBackfill] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(feed.failed for feed in self.feeds)

    def summary(self) -> str:
        pages = sum(r.pages for f in self.feeds for r in f.sources if r.source is not Source.FEED)
        new = sum(r.new for f in self.feeds for r in f.sources)
        failed = sum(f.failed for f in self.feeds)
        return (
            f"backfill: {plural(len(self.feeds), 'feed')}, {failed} failed; "
            f"{plural(pages, 'page')} of history, {plural(new, 'new entry', 'new entries')}"
        )

    def record(self) -> dict[str, Any]:
        return {"warnings": list(self.warnings), "feeds": [f.record() for f in self.feeds]}
