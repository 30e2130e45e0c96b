"""The browsable archive: README.md at the root and an index.md per month. Pure but for
`rebuild_pages`, which reads the catalog and writes the pages through the Archive.

GitHub renders both, so an archive repository reads like a site. The pages
hold nothing that changes from run to run (no "generated at"), and are
written only when their text changes, so they cause no churn in Git.

For a site generator the pages take its form instead (PageForm): the archive is
then a site's content, where an `index.md` would break the build.
"""

from __future__ import annotations

import heapq
import posixpath
import re
from collections import Counter, defaultdict
from collections.abc import Collection, Container, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

from archiver.about import HOMEPAGE
from archiver.config.model import Flavor
from archiver.convert.frontmatter import render
from archiver.convert.inert import inert
from archiver.models import CatalogEntry
from archiver.text import plural

if TYPE_CHECKING:
    from archiver.archive.store import Archive

NEWEST_ON_FRONT_PAGE = 50
ROOT_PAGE = "README.md"
MONTH_PAGE = "index.md"


@dataclass(frozen=True)
class PageForm:
    """The names the pages take, and the flavour their text is made inert for."""

    root: str = ROOT_PAGE
    month: str = MONTH_PAGE
    flavor: Flavor = "default"
    titled: bool = False  # a `title:` front matter, for generators that read the pages


# A month's `index.md` makes Hugo's month folder a leaf bundle (the entries under it
# stop being pages), and is an untitled post in Hexo's source/_posts. `_index.md` is
# the page of a section (a branch bundle) in Hugo, and Hexo and Jekyll skip any file
# whose name starts with `_`, so these pages do no harm wherever the archive lies.
# Obsidian's vault takes the default pages, with text made inert for it.
_SITE_PAGE = "_index.md"
PAGE_FORMS = {
    "hugo": PageForm(_SITE_PAGE, _SITE_PAGE, "hugo", titled=True),
    "hexo": PageForm(_SITE_PAGE, _SITE_PAGE, "hexo", titled=True),
    "jekyll": PageForm(_SITE_PAGE, _SITE_PAGE, "jekyll", titled=True),
    "obsidian": PageForm(flavor="obsidian"),
}
DEFAULT_FORM = PageForm()


def page_form(flavors: Iterable[Flavor]) -> PageForm:
    """The form of the flavour every feed has; the default form when they differ."""
    distinct = set(flavors)
    return PAGE_FORMS.get(distinct.pop(), DEFAULT_FORM) if len(distinct) == 1 else DEFAULT_FORM


_MARKUP_ESCAPES = str.maketrans({c: "\\" + c for c in "\\`*_[]<>|#"})


def _cell(text: str) -> str:
    """Text that cannot break a Markdown table cell or turn into markup."""
    return " ".join(text.translate(_MARKUP_ESCAPES).split())


# What quote() leaves as it is: a path of these alone needs no quoting.
_UNQUOTED_PATH = re.compile(r"[A-Za-z0-9_.~/-]*")


def _link(title: str, target: str, from_folder: str) -> str:
    path = _relative(target, from_folder)
    if not _UNQUOTED_PATH.fullmatch(path):
        path = quote(path)
    return f"[{_cell(title) or 'Untitled'}]({path})"


_PLAIN_SEGMENTS = frozenset({"", ".", ".."})  # what a path needs posixpath for


def _relative(target: str, folder: str) -> str:
    # Most entries lie below their month's folder: cut the prefix off rather than
    # ask posixpath, whose cost shows in the rebuild of a large archive's pages.
    prefix = f"{folder}/" if folder else ""
    rest = target.removeprefix(prefix)
    if target.startswith(prefix) and _PLAIN_SEGMENTS.isdisjoint(rest.split("/")):
        return rest
    return posixpath.relpath(target, folder or ".")


def month_of(entry: CatalogEntry) -> str:
    return entry.date[:7] if len(entry.date) >= 7 else "undated"


def _recency(entry: CatalogEntry) -> tuple[datetime, str]:
    # Dates keep their feed's offset, so compare instants; ties by path keep the order stable.
    return (entry.instant, entry.path)


def _newest_first(entries: Iterable[CatalogEntry]) -> list[CatalogEntry]:
    # Keys made here, per month, not kept for every entry: a large archive's months
    # would hold a tuple and a datetime more per entry.
    return sorted(entries, key=_recency, reverse=True)


def _entry_table(entries: Iterable[CatalogEntry], from_folder: str) -> list[str]:
    lines = ["| Date | Title | Feed |", "| --- | --- | --- |"]
    feed_cells: dict[str, str] = {}  # a month's entries come from a few feeds
    for entry in entries:
        date = entry.date[:10]
        title = _link(entry.title, entry.path, from_folder)
        feed = feed_cells.get(entry.feed)
        if feed is None:
            feed = feed_cells[entry.feed] = _cell(entry.feed)
        lines.append(f"| {date} | {title} | {feed} |")
    return lines


def month_folder(month: str) -> str:
    return month.replace("-", "/")


def render_pages(
    entries: Iterable[CatalogEntry],
    months: Container[str] | None = None,
    form: PageForm = DEFAULT_FORM,
) -> dict[str, str]:
    """The root page and the month pages, by path relative to the archive root: every
    month's, or those of `months` only. The entries are read once and only the chosen
    months' are kept, so a run that adds to one month of a large archive holds that
    month alone."""
    per_feed: Counter[str] = Counter()
    per_month: Counter[str] = Counter()
    newest: list[tuple[tuple[datetime, str], int, CatalogEntry]] = []  # a heap of the newest
    by_month: defaultdict[str, list[CatalogEntry]] = defaultdict(list)
    for seen, entry in enumerate(entries):
        month = month_of(entry)
        per_feed[entry.feed] += 1
        per_month[month] += 1
        item = (_recency(entry), seen, entry)
        if len(newest) < NEWEST_ON_FRONT_PAGE:
            heapq.heappush(newest, item)
        elif item[0] > newest[0][0]:
            heapq.heapreplace(newest, item)
        if months is None or month in months:
            by_month[month].append(entry)

    pages: dict[str, str] = {}
    for month, month_entries in by_month.items():
        if month != "undated":
            text = _render_month(month, _newest_first(month_entries), form)
            pages[_month_page(month, form)] = _finish(month, text, form)
    front_page = [entry for _, _, entry in sorted(newest, reverse=True)]
    pages[form.root] = _finish("Archive", _render_root(front_page, per_feed, per_month, form), form)
    return pages


def _finish(title: str, text: str, form: PageForm) -> str:
    """The page's text made inert for its flavour, under a title where the form has one."""
    text = inert(form.flavor, text)
    return render({"title": title}, text.rstrip("\n")) if form.titled else text


def _month_page(month: str, form: PageForm) -> str:
    return f"{month_folder(month)}/{form.month}"


def _render_month(month: str, entries: list[CatalogEntry], form: PageForm) -> str:
    folder = month_folder(month)
    return "\n".join(
        [
            f"# {month}",
            "",
            f"{plural(len(entries), 'entry', 'entries')}. [All months](../../{form.root})",
            "",
            *_entry_table(entries, folder),
            "",
        ]
    )


def _render_root(
    newest: list[CatalogEntry], per_feed: Counter[str], per_month: Counter[str], form: PageForm
) -> str:
    lines = [
        "# Archive",
        "",
        f"{plural(per_feed.total(), 'entry', 'entries')} from {plural(len(per_feed), 'feed')}, "
        f"archived by [archiver]({HOMEPAGE}). This page and the monthly "
        f"`{form.month}` pages are rebuilt after each run that archives something.",
        "",
        "## Newest",
        "",
        *_entry_table(newest, ""),
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
    for month in sorted(per_month, reverse=True):
        if month != "undated":
            link = quote(_month_page(month, form))
            lines.append(f"| [{month}]({link}) | {per_month[month]} |")
    return "\n".join([*lines, ""])


_MONTH_ROW = re.compile(r"^\| \[(\d{4}-\d{2})\]\([^)]*\) \| (\d+) \|$", re.MULTILINE)


def month_counts(root_page: str) -> dict[str, int]:
    """The entries per month a README.md written by render_pages lists."""
    return {month: int(count) for month, count in _MONTH_ROW.findall(root_page)}


def stale_months(old_root_page: str, new_root_page: str) -> set[str]:
    """The months whose count differs between two front pages: their month pages are out
    of date (a run that stopped before its pages, a file removed by hand)."""
    old, new = month_counts(old_root_page), month_counts(new_root_page)
    return {month for month in old.keys() | new.keys() if old.get(month) != new.get(month)}


def rebuild_pages(
    archive: Archive,
    ids: Mapping[str, str],
    months: Collection[str] | None = None,
    form: PageForm = DEFAULT_FORM,
) -> list[str]:
    """The pages from the catalog of every shard, for the entries `ids` names (id to path,
    as `scan_ids` gives them), in the form of the archive's flavour; the pages that changed.

    With `months`, only the root page and those months' pages are built, and then any
    other month whose count the old root page does not match (a run that stopped before
    its pages, a file removed by hand): a large archive's other pages are not read again.
    """
    if months is None:
        return archive.write_pages(
            render_pages(archive.catalog.current(archive.root, ids), form=form)
        )
    months = set(months)
    pages = render_pages(archive.catalog.current(archive.root, ids), months, form)
    stale = stale_months(archive.read_file(form.root), pages[form.root]) - months
    if stale:
        catching_up = render_pages(archive.catalog.current(archive.root, ids), stale, form)
        pages |= {page: text for page, text in catching_up.items() if page != form.root}
    return archive.write_pages(pages)
