"""DIR/.archiver/backfill.json: where each feed's walks of its history stand, saved once the
entries they vouch for are on disk, so that a backfill that is stopped goes on where it
stopped."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archiver.archive.disk import write_if_changed
from archiver.config.model import FeedConfig
from archiver.pipeline.backfill_plan import Source

PROGRESS_FILE = "backfill.json"
PROGRESS_VERSION = 1


@dataclass
class Walk:
    """Where one source's walk of one feed stands."""

    next: str | None = None  # the page to fetch next; None: start from the live document
    visited: list[str] = field(default_factory=list)  # pages fetched, to see a loop
    finished: bool = False  # reached the end: nothing to fetch next time
    # Archive documents (and snapshots) fetched completely, each with the page it links
    # to: the walk passes them again without a request.
    done: dict[str, str | None] = field(default_factory=dict)

    def encode(self) -> dict[str, Any]:
        record: dict[str, Any] = {"finished": self.finished}
        if self.next:
            record["next"] = self.next
        if self.visited:
            record["visited"] = self.visited
        if self.done:
            record["done"] = self.done
        return record

    @classmethod
    def decode(cls, record: Any) -> Walk:
        if not isinstance(record, dict):
            return cls()
        visited = record.get("visited")
        done = record.get("done")
        return cls(
            next=record["next"] if isinstance(record.get("next"), str) else None,
            visited=[v for v in visited if isinstance(v, str)] if isinstance(visited, list) else [],
            finished=record.get("finished") is True,
            done={
                k: v if isinstance(v, str) else None
                for k, v in (done.items() if isinstance(done, dict) else [])
            },
        )


class Progress:
    """Every feed's walks, by feed name and source."""

    def __init__(self, path: Path, *, dry_run: bool) -> None:
        self.path = path
        self.dry_run = dry_run
        self.warning: str | None = None
        self._feeds: dict[str, dict[str, Any]] = {}
        try:
            document = json.loads(path.read_bytes())
            if document.get("version") == PROGRESS_VERSION and isinstance(
                document.get("feeds"), dict
            ):
                self._feeds = document["feeds"]
            else:
                raise ValueError(f"expected a version {PROGRESS_VERSION} document")
        except FileNotFoundError:
            pass
        except (OSError, ValueError, AttributeError) as exc:
            self.warning = f"{path} cannot be used ({exc}); every walk starts again"

    def walk(self, feed: FeedConfig, source: Source) -> Walk:
        record = self._feeds.get(feed.name)
        if not isinstance(record, dict) or record.get("url") != feed.url:
            return Walk()  # a feed whose URL changed is another feed's history
        sources = record.get("sources")
        return Walk.decode(sources.get(source.value) if isinstance(sources, dict) else None)

    def save(self, feed: FeedConfig, source: Source, walk: Walk) -> None:
        """Record the walk; called once the entries of its pages are on disk."""
        record = self._feeds.get(feed.name)
        if not isinstance(record, dict) or record.get("url") != feed.url:
            record = self._feeds[feed.name] = {"url": feed.url, "sources": {}}
        record.setdefault("sources", {})[source.value] = walk.encode()
        if self.dry_run:
            return
        document = {"version": PROGRESS_VERSION, "feeds": self._feeds}
        text = json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        write_if_changed(self.path, text.encode())
