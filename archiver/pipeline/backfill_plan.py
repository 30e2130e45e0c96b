"""The decisions of `archiver backfill`, with no I/O: which source of a feed's history to
walk, which page comes next, and when a walk stops.

Where the history comes from, in this order for each feed:

1. RFC 5005 section 4, archived feeds: `prev-archive` links back to the first archive
   document. Archive documents do not change, so one fetched completely is never
   fetched again.
2. RFC 5005 section 3, paged feeds (`next` links), and JSON Feed's `next_url`.
3. WordPress: `?paged=2`, 3, … until a 404, an empty page or a page seen already.
4. Blogger: `start-index` and `max-results` on the posts feed.
5. With `--wayback`, in addition: the Wayback Machine's snapshots of the feed.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from archiver.models import Entry, ParsedFeed
from archiver.urls import host_of, normalise_url

BLOGGER_PAGE_SIZE = 25  # Blogger's own default for max-results


class Source(enum.Enum):
    FEED = "feed"  # the live document, which every backfill reads first
    ARCHIVES = "prev-archive"
    PAGED = "next"
    WORDPRESS = "wordpress"
    BLOGGER = "blogger"
    WAYBACK = "wayback"


def history_source(parsed: ParsedFeed) -> Source | None:
    """The first source of the feed's history that its live document offers, or None."""
    if parsed.link("prev-archive"):
        return Source.ARCHIVES
    if parsed.link("next"):
        return Source.PAGED
    generator = (parsed.generator or "").lower()
    if "wordpress" in generator:
        return Source.WORDPRESS
    if "blogger" in generator:
        return Source.BLOGGER
    return None


def with_query(url: str, **values: int) -> str:
    """`url` with these query parameters set (replacing any of the same name)."""
    parts = urlsplit(url)
    names = {name.replace("_", "-") for name in values}
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in names]
    added = [(name.replace("_", "-"), str(value)) for name, value in values.items()]
    return urlunsplit(parts._replace(query=urlencode(kept + added)))


def _query_number(url: str, name: str, default: int) -> int:
    for key, value in parse_qsl(urlsplit(url).query):
        if key == name and value.isdigit():
            return int(value)
    return default


def first_page(source: Source, feed_url: str, live: ParsedFeed) -> str | None:
    """The first page of the source's walk, from the feed's live document."""
    if source is Source.ARCHIVES:
        return live.link("prev-archive")
    if source is Source.PAGED:
        return live.link("next")
    if source is Source.WORDPRESS:
        return with_query(feed_url, paged=2)
    if source is Source.BLOGGER:
        start = 1 + len(live.entries)
        return with_query(feed_url, start_index=start, max_results=BLOGGER_PAGE_SIZE)
    return None


def next_page(source: Source, page_url: str, page: ParsedFeed) -> str | None:
    """The page after `page`, fetched from `page_url`; None at the end of the walk."""
    if source is Source.ARCHIVES:
        return page.link("prev-archive")
    if source is Source.PAGED:
        return page.link("next")
    if not page.entries:  # WordPress and Blogger have no link to say where they end
        return None
    if source is Source.WORDPRESS:
        return with_query(page_url, paged=_query_number(page_url, "paged", 1) + 1)
    if source is Source.BLOGGER:
        start = _query_number(page_url, "start-index", 1) + len(page.entries)
        size = _query_number(page_url, "max-results", BLOGGER_PAGE_SIZE)
        return with_query(page_url, start_index=start, max_results=size)
    return None


def off_site(url: str, feed_hosts: Iterable[str]) -> bool:
    return host_of(url) not in set(feed_hosts)


def older_than(entry: Entry, since: datetime | None) -> bool:
    """True for an entry dated before `since` (an undated entry is never older)."""
    date = entry.published or entry.updated
    return since is not None and date is not None and date < since


# --- when a walk stops ---------------------------------------------------------------


class Step(enum.Enum):
    """What a walk does with the page it is about to fetch."""

    FETCH = "fetch"
    # An archive document fetched completely before: go on to the page it links to,
    # without a request.
    PASS = "pass"
    LOOP = "loop"  # reached before in this walk: stop there, finished
    OFF_SITE = "off-site"  # stop there; the next backfill asks again
    PAGE_LIMIT = "page-limit"  # --max-pages reached; the next backfill goes on from there


def step_before(
    source: Source,
    url: str,
    *,
    visited: Set[str],
    done: Mapping[str, str | None],
    hosts: Iterable[str],
    offsite_allowed: bool,
    pages: int,
    max_pages: int,
) -> Step:
    """What to do with `url`, the walk's next page, after `pages` pages fetched in this
    backfill. `visited` holds the normalised pages of this walk; `done`, the archive
    documents fetched completely before."""
    if normalise_url(url) in visited:
        return Step.LOOP
    if source is Source.ARCHIVES and url in done:
        return Step.PASS
    if off_site(url, hosts) and not offsite_allowed:
        return Step.OFF_SITE
    if pages >= max_pages:
        return Step.PAGE_LIMIT
    return Step.FETCH


def stop_warning(step: Step, source: Source, url: str, max_pages: int) -> str:
    if step is Step.LOOP:
        return f"{source.value}: {url} was reached before, a loop; stopped there"
    if step is Step.OFF_SITE:
        return (
            f"{source.value}: {url} is on another site; not followed "
            "(backfill_offsite: true follows it)"
        )
    return page_limit_warning(source, max_pages)


def page_limit_warning(source: Source, max_pages: int) -> str:
    return (
        f"{source.value}: stopped after --max-pages {max_pages}; "
        "the next backfill goes on from there"
    )


def past_the_last_page(source: Source, status: int | None) -> bool:
    """A failed page that ends the walk rather than failing it: WordPress answers 404
    past its last page."""
    return source is Source.WORDPRESS and status == 404


def repeats_a_page(source: Source, page_ids: Set[str], seen_ids: Set[str]) -> bool:
    """A server that ignores the page number serves the same entries again: the walk has
    reached its end. (An archive document may legitimately repeat entries.)"""
    return bool(page_ids) and page_ids <= seen_ids and source is not Source.ARCHIVES


# --- the Wayback Machine -------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    timestamp: str  # the Wayback Machine's 14 digits, YYYYMMDDhhmmss, UTC
    original: str

    @property
    def instant(self) -> datetime | None:
        try:
            return datetime.strptime(self.timestamp[:14], "%Y%m%d%H%M%S").replace(
                tzinfo=timezone.utc
            )
        except ValueError:
            return None


def cdx_url(wayback: str, feed_url: str) -> str:
    """The CDX query for every distinct 200 snapshot of the feed (the Wayback CDX server
    API: `collapse=digest` drops captures whose bytes repeat the one before)."""
    query = urlencode(
        [
            ("url", feed_url),
            ("output", "json"),
            ("collapse", "digest"),
            ("filter", "statuscode:200"),
        ]
    )
    return f"{wayback.rstrip('/')}/cdx/search/cdx?{query}"


def snapshot_url(wayback: str, snapshot: Snapshot) -> str:
    # `id_` after the timestamp asks for the bytes as captured, without the replay's
    # rewritten links and banner.
    return f"{wayback.rstrip('/')}/web/{snapshot.timestamp}id_/{snapshot.original}"


def parse_cdx(body: bytes) -> list[Snapshot]:
    """The snapshots of a CDX answer in JSON: a header row of field names, then a row per
    capture; ValueError for anything else. Of captures with the same bytes, the first."""
    rows = json.loads(body) if body.strip() else []
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ValueError("expected a list of rows")
    if not rows:
        return []
    header = rows[0]
    try:
        at, original = header.index("timestamp"), header.index("original")
    except ValueError:
        raise ValueError("no timestamp and original columns") from None
    digest = header.index("digest") if "digest" in header else None
    status = header.index("statuscode") if "statuscode" in header else None
    seen: set[str] = set()
    snapshots = []
    for row in rows[1:]:
        if len(row) != len(header) or (status is not None and row[status] != "200"):
            continue
        key = str(row[digest]) if digest is not None else str(row[at])
        if key not in seen:
            seen.add(key)
            snapshots.append(Snapshot(str(row[at]), str(row[original])))
    return snapshots


def snapshots_to_fetch(
    snapshots: Sequence[Snapshot],
    *,
    done: Mapping[str, object],
    since: datetime | None,
    max_pages: int,
) -> tuple[list[Snapshot], bool]:
    """The snapshots this backfill fetches, in order, and whether --max-pages left some for
    the next: those not fetched before, none from before --since (an undated one is kept)."""
    wanted: list[Snapshot] = []
    for snapshot in snapshots:
        if snapshot.timestamp in done:
            continue
        when = snapshot.instant
        if since and when and when < since:
            continue
        if len(wanted) >= max_pages:
            return wanted, True
        wanted.append(snapshot)
    return wanted, False
