"""The archived ids: read from the entries' file names, held in 8 bytes each.

The files are the truth: the ids are read from their names at the start of a run,
so losing the state file costs a re-fetch, never a duplicate.

A run checks every entry of every feed against the archive, so the ids stay in
memory for the whole run: each is the 64-bit number its 16 hex digits spell, in
one sorted array, with those added by the run in a set beside it.
"""

from __future__ import annotations

import contextlib
import os
import re
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from pathlib import Path

from archiver.archive.disk import TEMP_PREFIX

_ID_IN_NAME = re.compile(r"([0-9a-f]{16})\.md$")


def id_from_name(name: str) -> str | None:
    match = _ID_IN_NAME.search(name)
    return match.group(1) if match else None


def archived_files(root: Path, *, remove_temporary: bool) -> Iterator[tuple[str, str]]:
    """(id, path relative to `root`) of every archived file, in name order; with
    `remove_temporary`, the entries' temporary files a killed run left are removed
    on the way (their content was never renamed into place, so nothing vouches for
    them; entries are written in the thread that scans them)."""
    if not root.is_dir():
        return
    for folder, dirnames, filenames in os.walk(root):
        # Hidden folders hold state and version control, never entries.
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        prefix = Path(os.path.relpath(folder, root)).as_posix() + "/"
        prefix = "" if prefix == "./" else prefix
        for name in sorted(filenames):
            if name.startswith(TEMP_PREFIX):
                if remove_temporary:
                    with contextlib.suppress(OSError):
                        os.unlink(os.path.join(folder, name))
                continue
            entry_id = id_from_name(name)
            if entry_id:
                yield entry_id, prefix + name


class IdSet:
    """The archived ids, and those a run adds."""

    def __init__(self, ids: Iterable[str] = ()) -> None:
        numbers = array("Q", map(_number, ids))
        self._archived = array("Q", sorted(numbers))
        self._added: set[int] = set()

    def __contains__(self, entry_id: object) -> bool:
        if not isinstance(entry_id, str):
            return False
        number = _number(entry_id)
        if number in self._added:
            return True
        at = bisect_left(self._archived, number)
        return at < len(self._archived) and self._archived[at] == number

    def add(self, entry_id: str) -> None:
        self._added.add(_number(entry_id))


def _number(entry_id: str) -> int:
    """The id's 64 bits (ids are 16 hex digits: urls.short_hash)."""
    return int(entry_id, 16)
