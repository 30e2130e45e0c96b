"""Per-feed filters (`include:` and `exclude:`): which entries are worth archiving; pure.

Patterns are Python regular expressions, searched anywhere in the field and
case-insensitively (`(?-i:…)` makes a part case-sensitive): a reader who writes
`exclude: {title: sponsored}` means "Sponsored" too.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from archiver.config.model import FeedConfig
from archiver.models import Entry


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def _field(entry: Entry, field: str) -> Iterable[str]:
    if field == "title":
        return [entry.title or ""]
    if field == "author":
        return [entry.author or ""]
    if field == "categories":
        return entry.tags
    if entry.content_type == "text/plain":
        return [entry.content]
    # Imported here: the main process of a run uses the filters, and a run in which no
    # feed has anything new never needs the HTML parser.
    from archiver.parse.html import parse_html  # noqa: PLC0415

    return [parse_html(entry.content).get_text(" ")]


def _matches(entry: Entry, patterns: Iterable[tuple[str, str]]) -> bool:
    return any(
        _compiled(pattern).search(value)
        for field, pattern in patterns
        for value in _field(entry, field)
    )


def keeps(feed: FeedConfig, entry: Entry) -> bool:
    """Whether the feed's filters let the entry into the archive."""
    if feed.include and not _matches(entry, feed.include):
        return False
    return not (feed.exclude and _matches(entry, feed.exclude))
