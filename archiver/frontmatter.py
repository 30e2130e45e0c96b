"""Entry → YAML front matter; pure.

yaml.safe_dump chooses the quoting, so no title, however hostile (`---`,
`: `, quotes, `yes`, newlines, emoji), can break out of its value.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from archiver.config import FeedConfig
from archiver.models import Entry

# Long enough that PyYAML never folds a title or URL over several lines.
_NO_WRAP = 1 << 20
# Not libyaml's faster CSafeDumper: it writes emoji and other characters beyond
# the Basic Multilingual Plane as \U escapes, which no person wants to read.


def iso_date(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).isoformat()


def merge_categories(configured: Sequence[str], tags: Sequence[str]) -> list[str]:
    """The feed's categories, then the entry's tags, each once (ignoring case)."""
    merged: dict[str, str] = {}
    for name in (*configured, *tags):
        merged.setdefault(name.casefold(), name)
    return list(merged.values())


def front_matter(
    entry: Entry,
    *,
    feed: FeedConfig,
    title: str,
    date: datetime,
    image: str | None,
) -> dict[str, Any]:
    """The keys in a fixed order; absent facts are left out, never written as null."""
    zone = feed.zone
    matter: dict[str, Any] = {"title": title}
    if entry.author:
        matter["author"] = entry.author
    matter["date"] = iso_date(date, zone)
    if entry.updated and entry.updated != date:
        matter["updated"] = iso_date(entry.updated, zone)
    categories = merge_categories(feed.categories, entry.tags)
    if categories:
        matter["categories"] = categories
    if entry.link:
        matter["url"] = entry.link
    matter["id"] = entry.id
    matter["feed"] = {"name": feed.name, "url": feed.url}
    if image:
        matter["image"] = image
    if entry.enclosures:
        matter["enclosures"] = [
            {k: v for k, v in (("url", e.url), ("type", e.type), ("length", e.length)) if v}
            for e in entry.enclosures
        ]
    return matter


def render(matter: dict[str, Any], body: str) -> str:
    header = yaml.safe_dump(
        matter, allow_unicode=True, sort_keys=False, default_flow_style=False, width=_NO_WRAP
    )
    text = f"---\n{header}---\n"
    return f"{text}\n{body}\n" if body else text
