"""The pipeline's decisions, from tables: data in, decisions out, nothing patched."""

from __future__ import annotations

import ast
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from archiver.archive.shard import Shard
from archiver.config.load import parse_config
from archiver.config.model import FeedConfig
from archiver.errors import FeedError, FetchError, ParseError
from archiver.models import (
    Document,
    Entry,
    FeedHealth,
    FeedState,
    FetchResult,
    ParsedFeed,
    current_state,
)
from archiver.pipeline import decide

from .conftest import an_entry

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
URL = "https://example.org/feed.xml"
FIRST = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
OLD_URL = "https://old.example.org/feed.xml"


def feed(extra: str = "") -> FeedConfig:
    config = parse_config(f"feeds:\n  - name: f\n    url: {URL}\n{extra}")
    return config.feeds[0]


def entry(entry_id: str, title: str = "post", former: tuple[str, ...] = ()) -> Entry:
    return an_entry(
        id=entry_id,
        title=title,
        link=f"https://example.org/{entry_id}",
        content="<p>text</p>",
        former_ids=former,
    )


def fetched(body: bytes = b"<rss/>", **changes: object) -> FetchResult:
    result = FetchResult(200, URL, {"Content-Type": "application/rss+xml"}, body)
    return replace(result, **changes)  # type: ignore[arg-type]


# --- which feeds -------------------------------------------------------------------------

CONFIG = parse_config(
    "feeds:\n"
    + "".join(f"  - name: {n}\n    url: https://{n}.example.org/feed\n" for n in "abcdef")
)


@pytest.mark.parametrize(
    ("names", "shard", "expected"),
    [
        pytest.param((), None, "abcdef", id="no-names-every-feed"),
        pytest.param(("c", "a"), None, "ca", id="names-in-the-order-given"),
        pytest.param(("b", "b"), None, "b", id="a-name-twice-once"),
        pytest.param(
            (),
            "1/2",
            "".join(f.name for f in CONFIG.feeds if Shard.parse("1/2").holds(f.url)),
            id="the-shard-s-feeds",
        ),
    ],
)
def test_select_feeds(names: tuple[str, ...], shard: str | None, expected: str) -> None:
    chosen = decide.select_feeds(CONFIG, names, Shard.parse(shard) if shard else None)
    assert "".join(f.name for f in chosen) == expected


def test_select_feeds_names_the_first_unknown_feed() -> None:
    with pytest.raises(KeyError, match="nope"):
        decide.select_feeds(CONFIG, ("a", "nope", "gone"))


# --- which state counts ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "counts"),
    [
        pytest.param(None, False, id="no-state"),
        pytest.param(FeedState(url=URL, etag='"v1"'), True, id="state-of-the-url"),
        pytest.param(FeedState(url=OLD_URL, etag='"v1"'), False, id="state-of-an-old-url"),
    ],
)
def test_current_state(state: FeedState | None, counts: bool) -> None:
    assert current_state(state, URL) is (state if counts else None)


HEALTH = FeedHealth(body_sha256="abc")


@pytest.mark.parametrize(
    ("state", "health", "expected"),
    [
        pytest.param(FeedState(url=URL), HEALTH, HEALTH, id="same-url"),
        pytest.param(FeedState(url=OLD_URL), HEALTH, None, id="old-url"),
        pytest.param(None, HEALTH, None, id="never-fetched"),
        pytest.param(FeedState(url=URL), None, None, id="no-health"),
    ],
)
def test_earlier_health(
    state: FeedState | None, health: FeedHealth | None, expected: FeedHealth | None
) -> None:
    assert decide.earlier_health(state, health, URL) == expected


# --- due or skipped ----------------------------------------------------------------------

LATER = NOW + timedelta(hours=1)
EARLIER = NOW - timedelta(hours=1)
NOVEMBER_1 = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        pytest.param(None, None, id="never-fetched"),
        pytest.param(FeedState(url=URL, etag='"v1"'), None, id="fetched-before"),
        pytest.param(
            FeedState(url=URL, gone_since=NOVEMBER_1),
            "gone (HTTP 410 since 2026-11-01); "
            "remove it from the config, or give it a new url to fetch it again",
            id="gone",
        ),
        pytest.param(
            FeedState(url=OLD_URL, gone_since=NOVEMBER_1),
            None,
            id="old-url-gone-new-url-fetched",
        ),
        pytest.param(
            FeedState(url=URL, retry_not_before=LATER),
            "the server asked us to wait until 2026-11-25T13:00:00+00:00",
            id="retry-after-not-yet",
        ),
        pytest.param(FeedState(url=URL, retry_not_before=EARLIER), None, id="retry-after-passed"),
        pytest.param(FeedState(url=OLD_URL, retry_not_before=LATER), None, id="retry-old-url"),
    ],
)
def test_skip_reason(state: FeedState | None, reason: str | None) -> None:
    assert decide.skip_reason(state, URL, NOW) == reason


# --- the state a run leaves --------------------------------------------------------------

VALIDATED = fetched(etag='"v2"', last_modified="Tue, 24 Nov 2026 10:00:00 GMT")


@pytest.mark.parametrize(
    ("result", "all_converted", "expected"),
    [
        pytest.param(
            VALIDATED,
            True,
            FeedState(URL, etag='"v2"', last_modified="Tue, 24 Nov 2026 10:00:00 GMT"),
            id="validators-kept",
        ),
        pytest.param(VALIDATED, False, FeedState(URL), id="an-entry-failed-validators-dropped"),
        pytest.param(
            fetched(permanent_redirect="https://new.example.org/feed"),
            False,
            FeedState(URL, permanent_redirect="https://new.example.org/feed"),
            id="redirect-kept-either-way",
        ),
    ],
)
def test_state_after_fetch(result: FetchResult, all_converted: bool, expected: FeedState) -> None:
    assert decide.state_after_fetch(URL, result, all_converted=all_converted) == expected


STAMP = NOW


@pytest.mark.parametrize(
    ("previous", "error", "expected"),
    [
        pytest.param(
            None,
            FetchError("HTTP 500", status=500),
            FeedState(URL, failing_since=STAMP, last_error="HTTP 500"),
            id="first-failure",
        ),
        pytest.param(
            FeedState(URL, etag='"v1"', failing_since=FIRST, last_error="HTTP 500"),
            FetchError("HTTP 502", status=502),
            FeedState(URL, etag='"v1"', failing_since=FIRST, last_error="HTTP 502"),
            id="a-streak-keeps-its-start-and-the-validators",
        ),
        pytest.param(
            FeedState(OLD_URL, etag='"v1"', failing_since=FIRST),
            ParseError("not a feed"),
            FeedState(URL, failing_since=STAMP, last_error="not a feed"),
            id="an-old-url-s-state-forgotten",
        ),
        pytest.param(
            None,
            FetchError("HTTP 410 Gone", status=410),
            FeedState(URL, failing_since=STAMP, last_error="HTTP 410 Gone", gone_since=STAMP),
            id="gone",
        ),
        pytest.param(
            FeedState(URL, failing_since=FIRST, gone_since=FIRST),
            FetchError("HTTP 410 Gone", status=410),
            FeedState(URL, failing_since=FIRST, last_error="HTTP 410 Gone", gone_since=FIRST),
            id="gone-since-the-first-410",
        ),
        pytest.param(
            None,
            FetchError("HTTP 429", status=429, retry_after=90.4),
            FeedState(
                URL,
                failing_since=STAMP,
                last_error="HTTP 429",
                retry_not_before=datetime(2026, 11, 25, 12, 1, 30, tzinfo=timezone.utc),
            ),
            id="retry-after-to-the-second",
        ),
    ],
)
def test_state_after_failure(
    previous: FeedState | None, error: FeedError, expected: FeedState
) -> None:
    assert decide.state_after_failure(previous, URL, error, NOW) == expected


@pytest.mark.parametrize(
    ("error", "status"),
    [
        pytest.param(FetchError("HTTP 404", status=404), 404, id="http-error"),
        pytest.param(FetchError("timed out"), None, id="no-response"),
        pytest.param(ParseError("not a feed"), None, id="parse-error"),
    ],
)
def test_http_status_of(error: FeedError, status: int | None) -> None:
    assert decide.http_status_of(error) == status


# --- whether a body is worth parsing -----------------------------------------------------

BODY = b"<rss>same</rss>"
PLAIN = feed()


@pytest.mark.parametrize(
    ("body", "config", "same"),
    [
        pytest.param(BODY, PLAIN, True, id="same-bytes-same-filters"),
        pytest.param(BODY + b" ", PLAIN, False, id="other-bytes"),
        pytest.param(BODY, feed("    exclude:\n      title: ad\n"), False, id="filters-changed"),
    ],
)
def test_the_same_body(body: bytes, config: FeedConfig, same: bool) -> None:
    earlier = FeedHealth(body_sha256=decide.body_digest(BODY, PLAIN))
    assert decide.is_same_body(earlier, decide.body_digest(body, config)) is same


def test_no_body_is_the_same_without_an_earlier_one() -> None:
    assert not decide.is_same_body(None, decide.body_digest(BODY, PLAIN))
    assert not decide.is_same_body(FeedHealth(), decide.body_digest(BODY, PLAIN))


PAGE = fetched(b"<html>moved</html>", headers={"Content-Type": "text/html"})
UNREADABLE = FeedHealth(
    unreadable_sha256=decide.unreadable_digest(PAGE, "1.0.0"), unreadable_reason="not a feed"
)


@pytest.mark.parametrize(
    ("earlier", "result", "version", "known"),
    [
        pytest.param(UNREADABLE, PAGE, "1.0.0", True, id="the-same-page-again"),
        pytest.param(
            UNREADABLE, replace(PAGE, body=PAGE.body + b" "), "1.0.0", False, id="other-bytes"
        ),
        pytest.param(
            UNREADABLE,
            replace(PAGE, headers={"Content-Type": "application/xml"}),
            "1.0.0",
            False,
            id="other-content-type",
        ),
        pytest.param(
            UNREADABLE,
            replace(PAGE, headers={"content-type": "text/html"}),
            "1.0.0",
            True,
            id="header-case-does-not-matter",
        ),
        pytest.param(UNREADABLE, replace(PAGE, url=OLD_URL), "1.0.0", False, id="other-final-url"),
        pytest.param(UNREADABLE, PAGE, "1.1.0", False, id="another-version-may-read-it"),
        pytest.param(None, PAGE, "1.0.0", False, id="no-earlier-run"),
        pytest.param(
            replace(UNREADABLE, unreadable_reason=None), PAGE, "1.0.0", False, id="no-reason"
        ),
    ],
)
def test_known_unreadable(
    earlier: FeedHealth | None, result: FetchResult, version: str, known: bool
) -> None:
    expected = ("not a feed", UNREADABLE.unreadable_sha256) if known else None
    assert decide.known_unreadable(earlier, result, version) == expected


@pytest.mark.parametrize(
    ("warning", "redirect", "expected"),
    [
        pytest.param(None, None, [], id="nothing"),
        pytest.param("bad date", None, ["bad date"], id="parse-warning"),
        pytest.param(
            "bad date",
            "https://new.example.org/feed",
            [
                "bad date",
                "moved permanently to https://new.example.org/feed; update its url in the config",
            ],
            id="parse-warning-then-redirect",
        ),
    ],
)
def test_feed_warnings(warning: str | None, redirect: str | None, expected: list[str]) -> None:
    parsed = ParsedFeed(None, None, None, (), warning=warning)
    assert decide.feed_warnings(parsed, fetched(permanent_redirect=redirect)) == expected


# --- which entries -----------------------------------------------------------------------

EXCLUDING_ADS = feed("    exclude:\n      title: ad\n")


@pytest.mark.parametrize(
    ("entries", "archived", "fresh", "already_archived", "filtered"),
    [
        pytest.param([entry("a"), entry("b")], set(), "ab", 0, 0, id="all-new"),
        pytest.param([entry("a"), entry("b")], {"a"}, "b", 1, 0, id="one-archived"),
        pytest.param([entry("a", former=("x",))], {"x"}, "", 1, 0, id="archived-by-former-id"),
        pytest.param(
            [entry("a", "An AD"), entry("b", "Blog")], set(), "b", 0, 1, id="filtered-case-blind"
        ),
        pytest.param(
            [entry("a", "An ad")], {"a"}, "", 1, 0, id="archived-before-filtered-counts-archived"
        ),
        pytest.param(
            [entry("a", "first"), entry("a", "second")], set(), "a", 1, 0, id="same-id-first-wins"
        ),
    ],
)
def test_triage(
    entries: list[Entry], archived: set[str], fresh: str, already_archived: int, filtered: int
) -> None:
    triage = decide.triage(EXCLUDING_ADS, entries, archived)
    assert "".join(e.id for e in triage.fresh) == fresh
    assert (triage.already_archived, triage.filtered) == (already_archived, filtered)
    if fresh == "a" and len(entries) == 2:
        assert triage.fresh[0].title == "first"


@pytest.mark.parametrize(
    ("extra", "entries", "expected"),
    [
        pytest.param("", [entry("a"), entry("b")], [], id="keep-writes-nothing-again"),
        pytest.param(
            "    on_update: overwrite\n", [entry("a"), entry("b")], ["a"], id="the-archived-one"
        ),
        pytest.param(
            "    on_update: overwrite\n",
            [entry("new", former=("a",))],
            ["a"],
            id="under-the-id-of-its-file",
        ),
        pytest.param(
            "    on_update: overwrite\n",
            [entry("a", "first"), entry("a", "second")],
            ["a"],
            id="an-id-once",
        ),
        pytest.param(
            "    on_update: overwrite\n    exclude:\n      title: ad\n",
            [entry("a", "now an ad")],
            [],
            id="filtered-out-now",
        ),
    ],
)
def test_republished(extra: str, entries: list[Entry], expected: list[str]) -> None:
    again = decide.republished(feed(extra), entries, {"a"})
    assert [e.id for e in again] == expected
    assert all(e.title != "second" for e in again)


def document(entry_id: str) -> Document:
    return Document(entry_id, f"{entry_id}.md", "text", "title", NOW.isoformat())


@pytest.mark.parametrize(
    ("ids", "archived", "written", "meanwhile"),
    [
        pytest.param("ab", set(), "ab", 0, id="none-archived"),
        pytest.param("ab", {"b"}, "a", 1, id="one-came-through-another-feed"),
        pytest.param("aa", set(), "a", 1, id="the-same-id-twice"),
        pytest.param("", set(), "", 0, id="nothing"),
    ],
)
def test_not_archived(ids: str, archived: set[str], written: str, meanwhile: int) -> None:
    new, count = decide.not_archived([document(i) for i in ids], archived)
    assert ("".join(d.id for d in new), count) == (written, meanwhile)


@pytest.mark.parametrize(
    ("entry_", "archived", "expected"),
    [
        pytest.param(entry("a"), {"a"}, "a", id="own-id"),
        pytest.param(entry("a", former=("x", "y")), {"y"}, "y", id="former-id"),
        pytest.param(entry("a", former=("x",)), {"a", "x"}, "a", id="own-id-first"),
        pytest.param(entry("a"), set(), None, id="not-archived"),
    ],
)
def test_archived_id(entry_: Entry, archived: set[str], expected: str | None) -> None:
    assert decide.archived_id(entry_, archived) == expected


def test_the_decisions_import_nothing_that_does_io() -> None:
    tree = ast.parse(Path(decide.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    io = {"os", "pathlib", "httpx", "asyncio", "time", "socket", "subprocess", "shutil", "io"}
    assert {name.split(".")[0] for name in imported} & io == set()
    assert not any(
        name.startswith(("archiver.archive.store", "archiver.fetch")) for name in imported
    )
