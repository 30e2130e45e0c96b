"""The catalog: one JSON line per archived entry (id, path, title, feed, date).

It lets the pages and `archiver status` list the archive without
reading every file. It is appended to, never rewritten, so it changes only
when entries are written and its diffs in Git are the new lines. The files
stay the truth: entries the catalog misses (a run killed between writing a
file and its line, a catalog deleted by hand) are read back from their front
matter, and lines for files that are gone are ignored.

A line also records what archiver wrote (`Written`), so that `on_update` can tell
its own file from one edited by hand. An entry written again gets a newer line:
of an entry's lines, the last wins.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archiver.convert.frontmatter import read
from archiver.models import CatalogEntry

CATALOG_FILE = "catalog.jsonl"


@dataclass(frozen=True)
class Written:
    """What archiver wrote for an entry, as digests (see updates.py): its file as archiver
    last left it (None: not known, for a file archived before digests were kept), and
    the title and body of its newest version, which may be a revision beside it."""

    file: str | None
    version: str


_DECODER = json.JSONDecoder()


def _decode_record(line: str) -> Any:
    # raw_decode: json.loads's own checks, in Python, cost as much as the decoding
    # of a line; what follows is checked here.
    text = line.strip(" \t\n\r")  # JSON's whitespace, as json.loads allows
    record, end = _DECODER.raw_decode(text)
    if end != len(text):
        raise ValueError("more than one JSON value on the line")
    return record


def _decode(line: str) -> CatalogEntry | None:
    try:
        return entry_from_record(_decode_record(line))
    except (ValueError, KeyError, TypeError):
        return None  # a line cut short by a killed run: the file will be read instead


_ID_KEY = '"id": "'


def _id_of(line: str) -> str | None:
    """The id on a line as _encode writes it, without decoding the rest (None: not found).
    json.dumps escapes every quote inside a string, so `"id": "` can only be the key."""
    start = line.find(_ID_KEY)
    if start < 0:
        return None
    start += len(_ID_KEY)
    end = line.find('"', start)
    entry_id = line[start:end]
    return entry_id if end > 0 and "\\" not in entry_id else None


def _decode_written(line: str) -> tuple[CatalogEntry, Written | None] | None:
    """A line's entry and what archiver wrote for it (None on a line that does not say)."""
    try:
        record = _decode_record(line)
        entry = entry_from_record(record)
    except (ValueError, KeyError, TypeError):
        return None
    written = record.get("written")
    if not isinstance(written, dict) or not isinstance(written.get("version"), str):
        return entry, None
    file = written.get("file")
    return entry, Written(file if isinstance(file, str) else None, written["version"])


def entry_from_record(record: Any) -> CatalogEntry:
    """The entry a decoded line holds; KeyError or TypeError when it holds none."""
    return CatalogEntry(
        id=str(record["id"]),
        path=str(record["path"]),
        title=str(record["title"]),
        feed=str(record["feed"]),
        date=str(record["date"]),
    )


def _encode(entry: CatalogEntry, written: Written | None = None) -> str:
    record: dict[str, Any] = {
        "id": entry.id,
        "path": entry.path,
        "title": entry.title,
        "feed": entry.feed,
        "date": entry.date,
    }
    if written is not None:
        record["written"] = {"version": written.version}
        if written.file is not None:
            record["written"]["file"] = written.file
    return json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"


def read_front_matter_entry(root: Path, entry_id: str, relpath: str) -> CatalogEntry | None:
    """A catalog entry rebuilt from an archived file, or None when its header does not read."""
    try:
        front = read((root / relpath).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None
    if front.problem:
        return None
    matter = front.matter
    feed = matter.get("feed")
    return CatalogEntry(
        id=entry_id,
        path=relpath,
        title=str(matter.get("title") or ""),
        feed=str(feed.get("name") if isinstance(feed, dict) else feed or ""),
        date=str(matter.get("date") or ""),
    )


class Catalog:
    """The catalog this run appends to (`suffix` names a shard's own file); reading
    takes every shard's lines, so the pages list the whole archive."""

    def __init__(self, state_dir: Path, suffix: str = "") -> None:
        stem, dot, extension = CATALOG_FILE.partition(".")
        self.path = state_dir / f"{stem}{suffix}{dot}{extension}"
        self._pattern = f"{stem}*{dot}{extension}"

    def _raw_lines(self) -> Iterator[str]:
        """Every line of every shard's catalog, in file order (files in name order)."""
        for path in sorted(self.path.parent.glob(self._pattern)):
            try:
                with open(path, encoding="utf-8") as handle:
                    yield from handle
            except (OSError, UnicodeDecodeError):
                continue

    def _lines(self) -> Iterator[CatalogEntry]:
        """Every readable line of every shard's catalog, in file order."""
        for line in self._raw_lines():
            entry = _decode(line)
            if entry is not None:
                yield entry

    def _newer_lines(self, ids: Mapping[str, str]) -> dict[str, CatalogEntry]:
        """The last line of each entry with more than one line for its file on disk."""
        seen: set[str] = set()
        newer: dict[str, CatalogEntry] = {}
        for line in self._raw_lines():
            # Only a repeated id is worth decoding the line for: most are not.
            entry_id = _id_of(line)
            if entry_id is not None and entry_id not in seen:
                seen.add(entry_id)
                continue
            entry = _decode(line)
            if entry is None or ids.get(entry.id) != entry.path:
                continue
            if entry.id in seen:
                newer[entry.id] = entry
            seen.add(entry.id)
        return newer

    def written(self, paths: Mapping[str, str]) -> dict[str, tuple[CatalogEntry, Written | None]]:
        """The last line of each entry `paths` names (id to its path), with what archiver
        wrote for it; an entry without a line is left out."""
        found: dict[str, tuple[CatalogEntry, Written | None]] = {}
        for line in self._raw_lines():
            # Most lines are of other entries: of those, only the id is read.
            entry_id = _id_of(line)
            if entry_id is not None and entry_id not in paths:
                continue
            decoded = _decode_written(line)
            if decoded is not None and paths.get(decoded[0].id) == decoded[0].path:
                found[decoded[0].id] = decoded
        return found

    def append(
        self, entries: Iterable[CatalogEntry], written: Mapping[str, Written] | None = None
    ) -> None:
        """A line for each entry, recording what archiver wrote for it where `written`
        (by id) says."""
        written = written or {}
        text = "".join(_encode(e, written.get(e.id)) for e in entries)
        if not text:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self._ends_a_line():
            text = "\n" + text  # a line cut short by a killed run stays on its own
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())

    def _ends_a_line(self) -> bool:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(-1, os.SEEK_END)
                return handle.read(1) == b"\n"
        except OSError:  # no file, or an empty one
            return True

    def reconcile(
        self, root: Path, ids: Mapping[str, str], *, persist: bool = True
    ) -> dict[str, CatalogEntry]:
        """The catalog of what is on disk, by id (see `current`)."""
        return {entry.id: entry for entry in self.current(root, ids, persist=persist)}

    def current(
        self, root: Path, ids: Mapping[str, str], *, persist: bool = True
    ) -> Iterator[CatalogEntry]:
        """The catalog of what is on disk, one entry at a time, so a large archive's catalog
        is never held whole: lines for missing files skipped, missing lines read back from
        the files (and, with `persist`, appended so no later run reads them again). A
        command that only reports, such as `archiver status`, leaves the file alone.

        Of an entry's lines the last wins (an entry written again has a newer title).
        The lines are read twice: first for the last line of each entry listed more
        than once (few: those written again), then to yield each entry in its place."""
        newer = self._newer_lines(ids)
        relisted = set(newer)
        listed: set[str] = set()
        for entry in self._lines():
            if ids.get(entry.id) != entry.path:
                continue
            if entry.id not in relisted:
                listed.add(entry.id)
                yield entry
            elif entry.id in newer:
                listed.add(entry.id)
                yield newer.pop(entry.id)
        missing = []
        for entry_id in sorted(ids.keys() - listed):
            read_back = read_front_matter_entry(root, entry_id, ids[entry_id])
            if read_back is not None:
                missing.append(read_back)
        if persist:
            self.append(missing)
        yield from missing
