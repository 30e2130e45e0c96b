"""The ids of the archived entries, held in 8 bytes each.

A run checks every entry of every feed against the archive, so the ids stay in
memory for the whole run. As strings with their paths they took 170-250 bytes
an entry (17-25 MB for 100,000 files, 250 MB for a million); here each id is the
64-bit number its 16 hex digits spell, in one sorted array, with those added by
the run in a set beside it.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable


class IdSet:
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
