"""`archiver status`: the health of every feed, as a table a person reads or one JSON
document for machines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from archiver.archive.health import FeedStatus
from archiver.text import pad, width

_HEADER = ("feed", "last success", "HTTP", "fails", "entries", "newest", "validators")


def status_document(rows: Sequence[FeedStatus]) -> dict[str, Any]:
    return {"feeds": [row.__dict__ | {"flags": list(row.flags)} for row in rows]}


def _cells(row: FeedStatus) -> tuple[str, ...]:
    return (
        row.name,
        (row.last_success or "never")[:16],  # to the minute
        str(row.last_status or "-"),
        str(row.consecutive_failures),
        str(row.entries),
        (row.newest_entry or "-")[:10],  # the day
        "yes" if row.validators else "no",
    )


def status_table(rows: Sequence[FeedStatus]) -> list[str]:
    """The header and a line per feed, in columns as wide as their widest cell (by the
    terminal's measure: a CJK name takes two columns a character), each feed's flags
    after it."""
    table = [_HEADER, *(_cells(row) for row in rows)]
    widths = [max(width(line[i]) for line in table) for i in range(len(_HEADER))]
    flags = [(), *(row.flags for row in rows)]
    lines = []
    for line, row_flags in zip(table, flags, strict=True):
        cells = (pad(cell, columns) for cell, columns in zip(line, widths, strict=True))
        text = "  ".join(cells).rstrip()
        lines.append(text + ("  ! " + "; ".join(row_flags) if row_flags else ""))
    return lines
