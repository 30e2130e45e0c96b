"""The browsable archive: README.md at the root and an index.md per month; pure.

GitHub renders both, so an archive repository reads like a site. The pages
hold nothing that changes from run to run (no "generated at"), and are
written only when their text changes, so they cause no churn in Git.
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from urllib.parse import quote

from archiver.models import CatalogEntry

NEWEST_ON_FRONT_PAGE = 50
ROOT_PAGE = "README.md"
MONTH_PAGE = "index.md"


_MARKUP_CHARACTER = re.compile(r"([\\`*_\[\]<>|#])")


def _cell(text: str) -> str:
    """Text that cannot break a Markdown table cell or turn into markup."""
    return " ".join(_MARKUP_CHARACTER.sub(r"\\\1", text).split())


def _link(title: str, target: str, from_folder: str) -> str:
    return f"[{_cell(title) or 'Untitled'}]({quote(_relative(target, from_folder))})"


def _relative(target: str, folder: str) -> str:
    # Most entries lie below their month's folder: cut the prefix off rather than
    # ask posixpath, which costs a tenth of a large index's rebuild.
    prefix = f"{folder}/" if folder else ""
    rest = target.removeprefix(prefix)
    if target.startswith(prefix) and all(p not in ("", ".", "..") for p in rest.split("/")):
        return rest
    return posixpath.relpath(target, folder or ".")


def _month(entry: CatalogEntry) -> str:
    return entry.date[:7] if len(entry.date) >= 7 else "undated"


def _newest_first(entries: Iterable[CatalogEntry]) -> list[CatalogEntry]:
    # Dates keep their feed's offset, so compare instants; ties by path keep the order stable.
    return sorted(entries, key=lambda e: (e.instant, e.path), reverse=True)


def _entry_table(entries: Iterable[CatalogEntry], from_folder: str) -> list[str]:
    lines = ["| Date | Title | Feed |", "| --- | --- | --- |"]
    for entry in entries:
        date = entry.date[:10]
        title = _link(entry.title, entry.path, from_folder)
        lines.append(f"| {date} | {title} | {_cell(entry.feed)} |")
    return lines


def month_folder(month: str) -> str:
    return month.replace("-", "/")


def render_pages(entries: Iterable[CatalogEntry]) -> dict[str, str]:
    """Every page of the index, by path relative to the archive root."""
    ordered = _newest_first(entries)
    by_month: defaultdict[str, list[CatalogEntry]] = defaultdict(list)
    for entry in ordered:
        by_month[_month(entry)].append(entry)
    per_feed = Counter(entry.feed for entry in ordered)

    lines = [
        "# Archive",
        "",
        f"{len(ordered)} entries from {len(per_feed)} feeds, archived by "
        "[archiver](https://pypi.org/project/archiver/). This page and the monthly "
        "`index.md` pages are rebuilt after each run that archives something.",
        "",
        "## Newest",
        "",
        *_entry_table(ordered[:NEWEST_ON_FRONT_PAGE], ""),
        "",
        "## Feeds",
        "",
        "| Feed | Entries |",
        "| --- | --- |",
        *(f"| {_cell(feed)} | {count} |" for feed, count in sorted(per_feed.items())),
        "",
        "## Months",
        "",
        "| Month | Entries |",
        "| --- | --- |",
    ]
    pages: dict[str, str] = {}
    for month in sorted(by_month, reverse=True):
        if month == "undated":
            continue
        folder = month_folder(month)
        page = f"{folder}/{MONTH_PAGE}"
        lines.append(f"| [{month}]({quote(page)}) | {len(by_month[month])} |")
        pages[page] = "\n".join(
            [
                f"# {month}",
                "",
                f"{len(by_month[month])} entries. [All months](../../{ROOT_PAGE})",
                "",
                *_entry_table(by_month[month], folder),
                "",
            ]
        )
    pages[ROOT_PAGE] = "\n".join([*lines, ""])
    return pages
