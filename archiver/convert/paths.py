"""Where an entry's file goes: a readable slug, a dated folder, and nothing outside the archive."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from pathlib import PurePosixPath

MAX_NAME_BYTES = 255  # the limit of ext4, APFS, NTFS and most others, per path component
MAX_SLUG_CHARS = 80  # beyond this a slug stops being readable in a file listing
FALLBACK_SLUG = "entry"

_HYPHENS = re.compile(r"-{2,}")
# Letters, marks (the vowel signs of Devanagari and Thai are marks) and digits.
_KEPT_CATEGORIES = frozenset("LMN")


def slugify(text: str | None, max_chars: int = MAX_SLUG_CHARS) -> str:
    """A lower-case, hyphenated slug that keeps letters of every script.

    Only letters, marks and digits survive, so no slug can hold a path separator,
    a dot or a control character, and none can be '..' or a hidden name.
    """
    if not text:
        return FALLBACK_SLUG
    text = unicodedata.normalize("NFKC", text).lower()
    kept = "".join(c if unicodedata.category(c)[0] in _KEPT_CATEGORIES else "-" for c in text)
    slug = _HYPHENS.sub("-", kept).strip("-")
    slug = slug[:max_chars].rstrip("-")
    return slug or FALLBACK_SLUG


def truncate_utf8(text: str, max_bytes: int) -> str:
    """The longest prefix of `text` that fits in `max_bytes` of UTF-8."""
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", "ignore")


def entry_relpath(pattern: str, *, date: datetime, slug: str, id: str, feed: str) -> str:
    """The entry's path relative to the archive root, every part within the byte limit.

    `pattern` was checked by the config: relative, no '..', file name ending in '{id}.md'.
    The slug gives way first when a name is too long, since the id must survive whole.
    """
    values = {
        "year": f"{date.year:04d}",
        "month": f"{date.month:02d}",
        "day": f"{date.day:02d}",
        "id": id,
        "feed": slugify(feed),
    }
    parts = []
    for part in pattern.split("/"):
        name = part.format(slug=slug, **values)
        overflow = len(name.encode("utf-8")) - MAX_NAME_BYTES
        if overflow > 0 and "{slug}" in part:
            shorter = truncate_utf8(slug, len(slug.encode("utf-8")) - overflow).rstrip("-")
            name = part.format(slug=shorter or FALLBACK_SLUG, **values)
        parts.append(truncate_utf8(name, MAX_NAME_BYTES))
    relpath = PurePosixPath(*parts)
    if relpath.is_absolute() or ".." in relpath.parts:
        raise ValueError(f"path pattern {pattern!r} leaves the archive")
    return relpath.as_posix()
