"""What a run does with each feed, decided from data alone.

Which feeds a run fetches and which it skips (and why), which stored state and health
still count, the state after a fetch or a failure, whether a body is worth parsing,
and which entries are new, already archived, filtered out or republished. Nothing here
reads a file, the network or the clock: the facts and the time are passed in, and the
glue in run.py and steps.py does what is decided. Tested from tables (test_decide.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from archiver.archive.shard import Shard
from archiver.config.model import Config, FeedConfig
from archiver.convert.filters import keeps
from archiver.errors import FeedError
from archiver.models import (
    Document,
    Entry,
    FeedHealth,
    FeedState,
    FetchResult,
    ParsedFeed,
    current_state,
    header,
)

# --- which feeds, and whether each is due ---------------------------------------------


def select_feeds(
    config: Config, names: tuple[str, ...], shard: Shard | None = None
) -> tuple[FeedConfig, ...]:
    """The feeds named (KeyError for a name the config lacks), of the shard if there is one."""
    feeds = config.feeds
    if names:
        by_name = {feed.name: feed for feed in config.feeds}
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise KeyError(unknown[0])
        feeds = tuple(by_name[n] for n in dict.fromkeys(names))
    return tuple(f for f in feeds if shard.holds(f.url)) if shard else feeds


def skip_reason(state: FeedState | None, feed_url: str, now: datetime) -> str | None:
    """Why a feed is not to be fetched now, or None: it is gone, or its server asked
    for time. The state of another URL does not count: a new url is fetched at once."""
    state = current_state(state, feed_url)
    if state is None:
        return None
    if state.gone_since:
        return (
            f"gone (HTTP 410 since {state.gone_since.date().isoformat()}); "
            "remove it from the config, or give it a new url to fetch it again"
        )
    if state.retry_not_before and now < state.retry_not_before:
        return f"the server asked us to wait until {state.retry_not_before.isoformat()}"
    return None


def earlier_health(
    state: FeedState | None, health: FeedHealth | None, feed_url: str
) -> FeedHealth | None:
    """What earlier runs learnt of the feed, if they fetched the same URL."""
    return health if current_state(state, feed_url) is not None else None


# --- the state a run leaves --------------------------------------------------------------


def state_after_fetch(feed_url: str, fetched: FetchResult, *, all_converted: bool) -> FeedState:
    """The state of a feed fetched and archived: its validators, unless an entry could
    not be converted, so that the next run fetches in full and tries that entry again."""
    if not all_converted:
        return FeedState(url=feed_url, permanent_redirect=fetched.permanent_redirect)
    return FeedState(
        url=feed_url,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        permanent_redirect=fetched.permanent_redirect,
    )


def state_after_failure(
    previous: FeedState | None, feed_url: str, error: FeedError, now: datetime
) -> FeedState:
    """The state of a feed that failed: since when it fails, why, since when it is gone
    (HTTP 410) and until when its server asked us to wait. A streak of failures keeps
    its first time, so a feed failing the same way every run leaves the state as it was."""
    previous = current_state(previous, feed_url) or FeedState(url=feed_url)
    state = replace(
        previous,
        failing_since=previous.failing_since or now,
        last_error=str(error),
    )
    if http_status_of(error) == 410:
        state = replace(state, gone_since=previous.gone_since or now)
    retry_after = getattr(error, "retry_after", None)
    if retry_after:
        # To the second, as the state file has always written it.
        until = (now + timedelta(seconds=retry_after)).replace(microsecond=0)
        state = replace(state, retry_not_before=until)
    return state


def http_status_of(error: FeedError) -> int | None:
    """The HTTP status the error came with, if it came with one."""
    status = getattr(error, "status", None)
    return status if isinstance(status, int) else None


# --- whether a body is worth parsing -----------------------------------------------------


def body_digest(body: bytes, feed: FeedConfig) -> str:
    """The digest that says "the same body as last time". With the filters in it, changing
    them makes the same bytes worth reading again: entries left out before may be wanted."""
    filters = repr((feed.include, feed.exclude)).encode()
    return hashlib.sha256(body + b"\0" + filters).hexdigest()


def is_same_body(earlier: FeedHealth | None, digest: str) -> bool:
    """Whether the body is the last one whose entries are all archived."""
    return earlier is not None and earlier.body_sha256 == digest


def unreadable_digest(fetched: FetchResult, version: str) -> str:
    """The digest of a body that could not be read as a feed, with what reading it depends
    on: the version that read it (a later one may read it), the Content-Type (its charset,
    JSON or XML) and the URL (the base of the feed a web page points to, in the message)."""
    content_type = header(fetched.headers, "content-type")
    key = f"{version}\0{content_type}\0{fetched.url}\0".encode()
    return hashlib.sha256(key + fetched.body).hexdigest()


def known_unreadable(
    earlier: FeedHealth | None, fetched: FetchResult, version: str
) -> tuple[str, str] | None:
    """(why, digest) when these bytes could not be read as a feed last time either: a feed
    URL that now serves a web page would otherwise be parsed (and the workers started) on
    every run, to fail the same way."""
    if earlier is None or not (earlier.unreadable_sha256 and earlier.unreadable_reason):
        return None
    digest = unreadable_digest(fetched, version)
    return (earlier.unreadable_reason, digest) if digest == earlier.unreadable_sha256 else None


def feed_warnings(parsed: ParsedFeed, fetched: FetchResult) -> list[str]:
    """What the feed's outcome warns of before any entry: a parse problem the entries
    survived, a permanent redirect."""
    warnings = [parsed.warning] if parsed.warning else []
    if fetched.permanent_redirect:
        warnings.append(
            f"moved permanently to {fetched.permanent_redirect}; update its url in the config"
        )
    return warnings


# --- which entries -----------------------------------------------------------------------


def archived_id(entry: Entry, archived: Container[str]) -> str | None:
    """The id the entry is archived under, if it is: its own, or one it had before."""
    return next((i for i in (entry.id, *entry.former_ids) if i in archived), None)


@dataclass(frozen=True)
class Triage:
    """A document's entries sorted before any conversion."""

    fresh: tuple[Entry, ...]  # to convert and write
    already_archived: int
    filtered: int  # left out by the feed's filters: never written, looked at again next time


def triage(feed: FeedConfig, entries: Sequence[Entry], archived: Container[str]) -> Triage:
    """Which entries are new, already archived or filtered out. Ids are checked before any
    conversion, so what is archived costs nothing more; of entries sharing an id the
    first wins."""
    fresh: dict[str, Entry] = {}
    filtered = 0
    for entry in entries:
        if entry.id in fresh or archived_id(entry, archived):
            continue
        if keeps(feed, entry):
            fresh[entry.id] = entry
        else:
            filtered += 1
    already_archived = len(entries) - len(fresh) - filtered
    return Triage(tuple(fresh.values()), already_archived, filtered)


def republished(
    feed: FeedConfig, entries: Iterable[Entry], archived: Container[str]
) -> list[Entry]:
    """The archived entries of a document that `on_update` may write again, each under the
    id its file has (which an entry archived before may not have now); none for "keep"."""
    if feed.on_update == "keep":
        return []
    known: dict[str, Entry] = {}
    for entry in entries:
        archived_as = archived_id(entry, archived)
        if archived_as and keeps(feed, entry):
            known.setdefault(archived_as, replace(entry, id=archived_as))
    return list(known.values())


def not_archived(
    documents: Iterable[Document], archived: Container[str]
) -> tuple[list[Document], int]:
    """(the documents to write, how many were archived meanwhile): the same article may
    have come through another feed while these were converted."""
    new: dict[str, Document] = {}
    meanwhile = 0
    for document in documents:
        if document.id in archived or document.id in new:
            meanwhile += 1
        else:
            new[document.id] = document
    return list(new.values()), meanwhile
