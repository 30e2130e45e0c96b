"""`archiver backfill`: each source of history against a loopback server that
imitates it, and the pure decisions from tables."""

from __future__ import annotations

import asyncio
import io
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import yaml

from archiver.archive.ids import id_from_name
from archiver.archive.store import Archive
from archiver.cli.main import EXIT_FEED_FAILED, EXIT_LOCKED, EXIT_OK, EXIT_USAGE, main
from archiver.config.load import parse_config
from archiver.errors import ConfigError
from archiver.models import Entry, ParsedFeed
from archiver.parse.feed import parse_feed
from archiver.pipeline.backfill import BackfillOptions, backfill_async
from archiver.pipeline.backfill_plan import (
    Snapshot,
    Source,
    Step,
    first_page,
    history_source,
    next_page,
    older_than,
    parse_cdx,
    past_the_last_page,
    repeats_a_page,
    snapshots_to_fetch,
    step_before,
    with_query,
)
from archiver.pipeline.backfill_progress import Walk

from .conftest import REPO_ROOT, FeedServer, Reply, Request, write_config

FH = "http://purl.org/syndication/history/1.0"
DATE = "2020-01-{day:02d}T10:00:00Z"


def atom(
    numbers: range | list[int],
    *,
    links: dict[str, str] | None = None,
    archive: bool = False,
    complete: bool = False,
    generator: str = "",
) -> bytes:
    """An Atom document with entry N at https://example.org/post/N, dated 2020-01-N."""
    marks = ("<fh:archive/>" if archive else "") + ("<fh:complete/>" if complete else "")
    rels = "".join(f'<link rel="{rel}" href="{href}"/>' for rel, href in (links or {}).items())
    entries = "".join(
        f"<entry><id>tag:example.org,2020:{n}</id><title>post {n}</title>"
        f'<link href="https://example.org/post/{n}"/><updated>{DATE.format(day=n % 28 + 1)}'
        f"</updated><content type='html'>&lt;p&gt;text {n}&lt;/p&gt;</content></entry>"
        for n in numbers
    )
    return (
        f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" xmlns:fh="{FH}">'
        f"<title>blog</title><id>tag:example.org,2020:feed</id>{generator}{marks}{rels}"
        f"{entries}</feed>"
    ).encode()


def rss(numbers: range | list[int], *, generator: str) -> bytes:
    items = "".join(
        f"<item><title>post {n}</title><link>https://example.org/post/{n}</link>"
        f"<pubDate>Mon, {n % 28 + 1:02d} Jan 2020 10:00:00 GMT</pubDate>"
        f"<description>text {n}</description></item>"
        for n in numbers
    )
    return (
        f"<rss version='2.0'><channel><title>blog</title><generator>{generator}</generator>"
        f"{items}</channel></rss>"
    ).encode()


ATOM = "application/atom+xml"


def config_for(tmp_path: Path, url: str, extra: str = "") -> Path:
    return write_config(
        tmp_path / "feeds.yaml",
        "defaults:\n  retries: 0\n  backfill_delay: 0\n  wayback_url: "
        f"{url.split('/', 3)[0]}//{urlsplit(url).netloc}\nfeeds:\n"
        f"  - name: blog\n    url: {url}\n{extra}",
    )


def backfill(config: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    args = ["backfill", "--config", str(config), "--output", str(out), *extra]
    code = main(args, stdout=stdout, stderr=stderr)
    return code, stdout.getvalue(), stderr.getvalue()


def archived(out: Path) -> dict[str, str]:
    """Every archived entry: its front matter's url to its text."""
    found: dict[str, str] = {}
    for path in sorted(out.rglob("*.md")):
        if not id_from_name(path.name):
            continue
        text = path.read_text(encoding="utf-8")
        matter = yaml.safe_load(text.split("---\n")[1])
        assert matter["url"] not in found, f"{matter['url']} archived twice"
        found[matter["url"]] = text
    return found


def posts(*numbers: int | range) -> set[str]:
    wanted: set[str] = set()
    for n in numbers:
        wanted |= {f"https://example.org/post/{i}" for i in (n if isinstance(n, range) else [n])}
    return wanted


def hits(server: FeedServer) -> list[str]:
    return [request.path for request in server.requests]


# --- the pure decisions --------------------------------------------------------------


def parsed(body: bytes, url: str = "https://example.org/feed") -> ParsedFeed:
    return parse_feed(body, url=url, headers={"content-type": ATOM})


@pytest.mark.parametrize(
    ("body", "source"),
    [
        (atom([1], links={"prev-archive": "a/1", "next": "p2"}), Source.ARCHIVES),
        (atom([1], links={"next": "p2"}), Source.PAGED),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": [], "next_url": "2"}', None),
        (rss([1], generator="https://wordpress.org/?v=6.4.2"), Source.WORDPRESS),
        (atom([1], generator='<generator uri="https://wordpress.org/">WordPress</generator>'),
         Source.WORDPRESS),
        (atom([1], generator="<generator version='7.00' uri='http://www.blogger.com'>Blogger"
              "</generator>"), Source.BLOGGER),
        (atom([1]), None),
    ],
    ids=["archives-first", "paged", "json-empty", "wordpress-rss", "wordpress-atom", "blogger",
         "none"],
)  # fmt: skip
def test_which_source_a_live_document_offers(body: bytes, source: Source | None) -> None:
    if b"jsonfeed" in body:
        # JSON Feed's next_url is a `next` link, once the feed has items to page.
        body = body.replace(b'"items": []', b'"items": [{"id": "1", "content_text": "x"}]')
        source = Source.PAGED
    assert history_source(parsed(body)) is source


def test_links_resolve_against_the_document_that_holds_them() -> None:
    page = parsed(atom([1], links={"prev-archive": "../2019/12.xml"}), "https://ex.org/a/b/1.xml")
    assert page.link("prev-archive") == "https://ex.org/a/2019/12.xml"
    jf = b'{"version": "1.1", "items": [{"id": "1", "content_text": "x"}], "next_url": "?p=2"}'
    assert parsed(jf, "https://ex.org/feed.json").link("next") == "https://ex.org/feed.json?p=2"


def test_fh_complete_and_archive_are_read_whatever_the_prefix() -> None:
    body = (
        atom([1], complete=True, archive=True)
        .replace(b"fh:", b"hist:")
        .replace(b"xmlns:fh", b"xmlns:hist")
    )
    page = parsed(body)
    assert (page.complete, page.archive) == (True, True)
    assert (parsed(atom([1])).complete, parsed(atom([1])).archive) == (False, False)


LIVE = ParsedFeed("t", None, None, entries=tuple(parsed(atom(range(10))).entries))


@pytest.mark.parametrize(
    ("source", "feed_url", "expected"),
    [
        (Source.WORDPRESS, "https://ex.org/feed/", "https://ex.org/feed/?paged=2"),
        (Source.WORDPRESS, "https://ex.org/?feed=rss2", "https://ex.org/?feed=rss2&paged=2"),
        (
            Source.BLOGGER,
            "https://b.blogspot.com/feeds/posts/default",
            "https://b.blogspot.com/feeds/posts/default?start-index=11&max-results=25",
        ),
        (Source.ARCHIVES, "https://ex.org/feed", None),  # LIVE has no links
    ],
)
def test_first_page(source: Source, feed_url: str, expected: str | None) -> None:
    assert first_page(source, feed_url, LIVE) == expected


@pytest.mark.parametrize(
    ("source", "page_url", "entries", "expected"),
    [
        (Source.WORDPRESS, "https://ex.org/feed/?paged=2", 10, "https://ex.org/feed/?paged=3"),
        (Source.WORDPRESS, "https://ex.org/feed/?paged=2", 0, None),  # an empty page ends it
        (
            Source.BLOGGER,
            "https://b.org/feeds/posts/default?start-index=26&max-results=25",
            10,
            "https://b.org/feeds/posts/default?start-index=36&max-results=25",
        ),
        (Source.BLOGGER, "https://b.org/f?start-index=26&max-results=25", 0, None),
    ],
)
def test_next_page_by_number(source: Source, page_url: str, entries: int, expected: str) -> None:
    page = ParsedFeed("t", None, None, entries=LIVE.entries[:entries])
    assert next_page(source, page_url, page) == expected


def test_next_page_by_link() -> None:
    page = parsed(atom([1], links={"prev-archive": "/a/1.xml", "next": "/p/3"}))
    assert next_page(Source.ARCHIVES, "https://example.org/a/2.xml", page) == (
        "https://example.org/a/1.xml"
    )
    assert next_page(Source.PAGED, "https://example.org/p/2", page) == "https://example.org/p/3"
    assert next_page(Source.PAGED, "https://example.org/p/2", parsed(atom([1]))) is None


def test_with_query_replaces_a_parameter_of_the_same_name() -> None:
    assert with_query("https://ex.org/f?paged=3&x=1", paged=4) == "https://ex.org/f?x=1&paged=4"


def test_older_than() -> None:
    entry = LIVE.entries[0]  # 2020-01-01
    assert older_than(entry, datetime(2020, 6, 1, tzinfo=timezone.utc))
    assert not older_than(entry, datetime(2019, 6, 1, tzinfo=timezone.utc))
    assert not older_than(entry, None)
    undated = Entry("x", None, None, None, None, None, None, (), "", "text/html", None)
    assert not older_than(undated, datetime(2020, 6, 1, tzinfo=timezone.utc))


def test_parse_cdx_keeps_one_snapshot_per_digest_and_status_200_only() -> None:
    rows = [
        ["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"],
        ["k", "20190101000000", "http://ex.org/feed", "text/xml", "200", "AAA", "1"],
        ["k", "20190201000000", "http://ex.org/feed", "text/xml", "200", "AAA", "1"],
        ["k", "20190301000000", "http://ex.org/feed", "text/xml", "404", "BBB", "1"],
        ["k", "20190401000000", "http://ex.org/feed", "text/xml", "200", "CCC", "1"],
    ]
    assert parse_cdx(json.dumps(rows).encode()) == [
        Snapshot("20190101000000", "http://ex.org/feed"),
        Snapshot("20190401000000", "http://ex.org/feed"),
    ]
    assert parse_cdx(b"[]") == []
    with pytest.raises(ValueError, match="rows"):
        parse_cdx(b'{"not": "rows"}')
    assert Snapshot("20190401123000", "x").instant == datetime(
        2019, 4, 1, 12, 30, tzinfo=timezone.utc
    )


SITE = "https://ex.org/feed/?paged=3"


A1 = "https://ex.org/a/1.xml"


@pytest.mark.parametrize(
    ("source", "url", "walk", "step"),
    [
        (Source.WORDPRESS, SITE, {}, Step.FETCH),
        (Source.WORDPRESS, SITE, {"visited": {SITE}}, Step.LOOP),
        (Source.ARCHIVES, A1, {"done": {A1: None}}, Step.PASS),
        (Source.PAGED, A1, {"done": {A1: None}}, Step.FETCH),
        (Source.PAGED, "https://other.org/p/2", {}, Step.OFF_SITE),
        (Source.PAGED, "https://other.org/p/2", {"offsite_allowed": True}, Step.FETCH),
        (Source.PAGED, "https://ex.org/p/2", {"pages": 5}, Step.PAGE_LIMIT),
        (Source.PAGED, "https://other.org/p/2", {"pages": 5}, Step.OFF_SITE),
        (Source.ARCHIVES, A1, {"visited": {A1}, "done": {A1: None}}, Step.LOOP),
    ],
    ids=["fetch", "loop", "archive-done-passes", "only-archives-pass", "off-site",
         "off-site-allowed", "page-limit", "off-site-before-limit", "loop-before-pass"],
)  # fmt: skip
def test_step_before_a_page(source: Source, url: str, walk: dict[str, Any], step: Step) -> None:
    state: dict[str, Any] = {"visited": set(), "done": {}, "offsite_allowed": False, "pages": 0}
    decided = step_before(source, url, hosts={"ex.org"}, max_pages=5, **(state | walk))
    assert decided is step


@pytest.mark.parametrize(
    ("source", "page_ids", "seen_ids", "repeats"),
    [
        (Source.WORDPRESS, {"a", "b"}, {"a", "b", "c"}, True),
        (Source.BLOGGER, {"a", "d"}, {"a", "b"}, False),
        (Source.ARCHIVES, {"a"}, {"a"}, False),
        (Source.PAGED, set(), set(), False),
    ],
    ids=["seen-page", "new-entry", "archives-may-repeat", "empty-page"],
)
def test_repeats_a_page(source: Source, page_ids: set[str], seen_ids: set[str], repeats: bool):
    assert repeats_a_page(source, page_ids, seen_ids) is repeats


@pytest.mark.parametrize(
    ("source", "status", "past"),
    [
        (Source.WORDPRESS, 404, True),
        (Source.WORDPRESS, 500, False),
        (Source.PAGED, 404, False),
        (Source.WORDPRESS, None, False),
    ],
    ids=["wordpress-404", "wordpress-500", "paged-404", "no-status"],
)
def test_past_the_last_page(source: Source, status: int | None, past: bool) -> None:
    assert past_the_last_page(source, status) is past


SNAPSHOTS = [Snapshot(f"2019{month:02}01000000", "http://ex.org/feed") for month in (1, 2, 3)]


@pytest.mark.parametrize(
    ("done", "since", "max_pages", "wanted", "limited"),
    [
        ((), None, 10, ["20190101000000", "20190201000000", "20190301000000"], False),
        (("20190101000000",), None, 10, ["20190201000000", "20190301000000"], False),
        ((), datetime(2019, 2, 1, tzinfo=timezone.utc), 10,
         ["20190201000000", "20190301000000"], False),
        ((), None, 2, ["20190101000000", "20190201000000"], True),
        ((), None, 3, ["20190101000000", "20190201000000", "20190301000000"], False),
    ],
    ids=["all", "done-skipped", "since", "page-limit", "limit-exactly-reached"],
)  # fmt: skip
def test_snapshots_to_fetch(
    done: tuple[str, ...], since: datetime | None, max_pages: int, wanted: list[str], limited: bool
) -> None:
    chosen, more = snapshots_to_fetch(
        SNAPSHOTS, done=dict.fromkeys(done), since=since, max_pages=max_pages
    )
    assert ([s.timestamp for s in chosen], more) == (wanted, limited)


@pytest.mark.parametrize(
    "walk",
    [
        Walk(),
        Walk(next="https://ex.org/p/2", visited=["https://ex.org/p/1"]),
        Walk(finished=True, done={"https://ex.org/a/2.xml": "https://ex.org/a/1.xml"}),
    ],
    ids=["fresh", "under-way", "archives-done"],
)
def test_a_walk_reads_back_as_it_was_saved(walk: Walk) -> None:
    assert Walk.decode(json.loads(json.dumps(walk.encode()))) == walk


@pytest.mark.parametrize(
    "record",
    [None, [], {"next": 3, "visited": "x", "done": []}],
    ids=["null", "list", "wrong-types"],
)
def test_a_damaged_walk_reads_as_a_fresh_one(record: object) -> None:
    assert Walk.decode(record) == Walk()


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("backfill_delay: -1", "defaults.backfill_delay"),
        ("wayback_url: ftp://archive.example", "defaults.wayback_url"),
    ],
)
def test_config_keys_are_validated_with_file_line_and_key(text: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(f"defaults:\n  {text}\nfeeds: []\n", "feeds.yaml")
    assert f"feeds.yaml:2: {key}" in str(caught.value)
    config = parse_config("defaults:\n  backfill_delay: 0.5\nfeeds: []\n")
    assert (config.backfill_delay, config.wayback_url) == (0.5, "https://web.archive.org")


# --- RFC 5005 archived feeds ---------------------------------------------------------


def archive_chain(server: FeedServer) -> str:
    """Live 9-12, then archives 3.xml (entries 6-9: 9 is in the live feed too), 2.xml
    (3-5) and 1.xml (0-2), each linking to the one before with a relative link."""
    server.always(
        "/a/3.xml",
        Reply(200, atom(range(6, 10), links={"prev-archive": "2.xml"}, archive=True)),
    )
    server.always(
        "/a/2.xml",
        Reply(200, atom(range(3, 6), links={"prev-archive": "/a/1.xml"}, archive=True)),
    )
    server.always("/a/1.xml", Reply(200, atom(range(3), archive=True)))
    return server.always(
        "/feed.xml", Reply(200, atom(range(9, 13), links={"prev-archive": "a/3.xml"}))
    )


def test_archives_every_entry_of_the_chain_once_and_a_second_backfill_asks_only_the_feed(
    server: FeedServer, tmp_path: Path
) -> None:
    config = config_for(tmp_path, archive_chain(server))
    out = tmp_path / "out"
    code, stdout, stderr = backfill(config, out)
    assert code == EXIT_OK, stderr
    assert "blog: 3 pages via prev-archive, 14 entries, 13 new" in stdout
    assert stdout.splitlines()[-1] == (
        "archiver: backfill: 1 feed, 0 failed; 3 pages of history, 13 new entries"
    )
    assert set(archived(out)) == posts(range(13))
    assert sorted(hits(server)) == ["/a/1.xml", "/a/2.xml", "/a/3.xml", "/feed.xml"]

    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    server.requests.clear()
    code, stdout, _ = backfill(config, out)
    assert code == EXIT_OK
    assert "0 new" in stdout
    assert hits(server) == ["/feed.xml"]  # archive documents never change
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before


def test_a_new_archive_is_fetched_and_the_old_ones_are_not(
    server: FeedServer, tmp_path: Path
) -> None:
    config = config_for(tmp_path, archive_chain(server))
    out = tmp_path / "out"
    backfill(config, out)
    server.always(
        "/a/4.xml",
        Reply(200, atom(range(9, 13), links={"prev-archive": "3.xml"}, archive=True)),
    )
    server.always("/feed.xml", Reply(200, atom([13], links={"prev-archive": "a/4.xml"})))
    server.requests.clear()
    code, _, _ = backfill(config, out)
    assert code == EXIT_OK
    assert hits(server) == ["/feed.xml", "/a/4.xml"]
    assert set(archived(out)) == posts(range(14))


def test_a_backfilled_entry_is_written_exactly_as_run_writes_it(
    server: FeedServer, tmp_path: Path
) -> None:
    config = config_for(tmp_path, archive_chain(server))
    code, _, _ = backfill(config, tmp_path / "backfilled")
    assert code == EXIT_OK
    # The archive documents' entries, served as a live feed to `run`.
    server.always("/feed.xml", Reply(200, atom(range(13))))
    run_out = tmp_path / "run"
    assert main(["run", "--config", str(config), "--output", str(run_out)]) == EXIT_OK
    assert archived(tmp_path / "backfilled") == archived(run_out)


def test_a_loop_of_archives_ends_with_a_warning(server: FeedServer, tmp_path: Path) -> None:
    server.always("/a/2.xml", Reply(200, atom([2], links={"prev-archive": "1.xml"})))
    server.always("/a/1.xml", Reply(200, atom([1], links={"prev-archive": "2.xml"})))
    feed = server.always("/feed", Reply(200, atom([3], links={"prev-archive": "a/2.xml"})))
    config = config_for(tmp_path, feed)
    out = tmp_path / "out"
    code, _, stderr = backfill(config, out)
    assert code == EXIT_OK
    assert "a loop" in stderr and "a/2.xml" in stderr
    assert set(archived(out)) == posts(1, 2, 3)
    assert hits(server).count("/a/2.xml") == 1
    server.requests.clear()
    code, _, stderr = backfill(config, out)
    assert "a loop" in stderr  # found again from the progress file alone
    assert hits(server) == ["/feed"]


def test_a_complete_feed_needs_no_backfill(server: FeedServer, tmp_path: Path) -> None:
    server.always("/a/1.xml", Reply(200, atom([1])))
    feed = server.always(
        "/feed", Reply(200, atom([2, 3], complete=True, links={"prev-archive": "a/1.xml"}))
    )
    code, stdout, _ = backfill(config_for(tmp_path, feed), tmp_path / "out")
    assert code == EXIT_OK
    assert "blog: complete feed (fh:complete), nothing more to fetch; 2 entries, 2 new" in stdout
    assert hits(server) == ["/feed"]


def test_a_link_to_another_site_is_not_followed(server: FeedServer, tmp_path: Path) -> None:
    feed = server.always(
        "/feed", Reply(200, atom([1], links={"prev-archive": "https://elsewhere.invalid/a.xml"}))
    )
    code, _, stderr = backfill(config_for(tmp_path, feed), tmp_path / "out")
    assert code == EXIT_OK
    assert "https://elsewhere.invalid/a.xml is on another site; not followed" in stderr


def test_a_failed_page_is_asked_again_next_time(server: FeedServer, tmp_path: Path) -> None:
    config = config_for(tmp_path, archive_chain(server))
    server.sequence("/a/2.xml", [Reply(500), *[server.routes["/a/2.xml"](Request("", {}))] * 2])
    out = tmp_path / "out"
    code, _, stderr = backfill(config, out)
    assert code == EXIT_FEED_FAILED
    assert "prev-archive: HTTP 500" in stderr
    assert set(archived(out)) == posts(range(6, 13))
    server.requests.clear()
    code, _, _ = backfill(config, out)
    assert code == EXIT_OK
    assert hits(server) == ["/feed.xml", "/a/2.xml", "/a/1.xml"]
    assert set(archived(out)) == posts(range(13))


# --- paged feeds -----------------------------------------------------------------------


def test_a_paged_atom_feed(server: FeedServer, tmp_path: Path) -> None:
    server.always("/p/2", Reply(200, atom(range(4, 8), links={"next": "3"})))
    server.always("/p/3", Reply(200, atom(range(8, 10))))
    feed = server.always("/p/1", Reply(200, atom(range(4), links={"next": "/p/2"})))
    config = config_for(tmp_path, feed)
    out = tmp_path / "out"
    code, stdout, stderr = backfill(config, out)
    assert code == EXIT_OK, stderr
    assert "blog: 2 pages via next, 10 entries, 10 new" in stdout
    assert set(archived(out)) == posts(range(10))
    server.requests.clear()
    code, _, stderr = backfill(config, out)
    assert hits(server) == ["/p/1"]  # only the newest page, which can grow
    assert stderr == ""  # a walk done is not walked again, and no loop is found in it


def test_a_json_feed_with_next_url(server: FeedServer, tmp_path: Path) -> None:
    def page(numbers: range, next_url: str | None) -> Reply:
        document = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "blog",
            "items": [
                {"id": str(n), "url": f"https://example.org/post/{n}", "content_text": "x",
                 "date_published": DATE.format(day=n + 1)}
                for n in numbers
            ],
        }  # fmt: skip
        if next_url:
            document["next_url"] = next_url
        return Reply(200, json.dumps(document).encode(), {"Content-Type": "application/feed+json"})

    server.always("/j/2.json", page(range(3, 6), "3.json"))
    server.always("/j/3.json", page(range(6, 7), None))
    feed = server.always("/j/1.json", page(range(3), "/j/2.json"))
    out = tmp_path / "out"
    code, stdout, _ = backfill(config_for(tmp_path, feed), out)
    assert code == EXIT_OK
    assert "2 pages via next" in stdout
    assert set(archived(out)) == posts(range(7))


# --- WordPress and Blogger ---------------------------------------------------------------


def numbered_pages(
    pages: dict[int, bytes], parameter: str, *, default: int = 1
) -> Callable[[Request], Reply]:
    def handler(request: Request) -> Reply:
        query = dict(parse_qsl(urlsplit(request.path).query))
        number = int(query.get(parameter, default))
        if number not in pages:
            return Reply(404, b"not found")
        return Reply(200, pages[number], {"Content-Type": "application/rss+xml"})

    return handler


WP = "https://wordpress.org/?v=6.4.2"


def test_wordpress_pages_until_a_404(server: FeedServer, tmp_path: Path) -> None:
    pages = {n: rss(range(5 * (n - 1), 5 * n), generator=WP) for n in (1, 2, 3)}
    feed = server.route("/wp/feed/", numbered_pages(pages, "paged"))
    out = tmp_path / "out"
    code, stdout, stderr = backfill(config_for(tmp_path, feed), out)
    assert code == EXIT_OK, stderr
    assert "blog: 2 pages via wordpress, 15 entries, 15 new" in stdout
    assert set(archived(out)) == posts(range(15))
    assert hits(server)[-1] == "/wp/feed/?paged=4"  # the 404 that ends it


def test_wordpress_that_ignores_paged_repeats_the_first_page_and_stops(
    server: FeedServer, tmp_path: Path
) -> None:
    feed = server.always("/wp/feed/", Reply(200, rss(range(5), generator=WP)))
    code, _, stderr = backfill(config_for(tmp_path, feed), tmp_path / "out")
    assert code == EXIT_OK
    assert hits(server) == ["/wp/feed/", "/wp/feed/?paged=2"]
    assert "warning" not in stderr


def test_blogger_pages_by_start_index(server: FeedServer, tmp_path: Path) -> None:
    blogger = "<generator version='7.00' uri='http://www.blogger.com'>Blogger</generator>"
    every = list(range(60))

    def handler(request: Request) -> Reply:
        query = dict(parse_qsl(urlsplit(request.path).query))
        start, size = int(query.get("start-index", 1)), int(query.get("max-results", 25))
        return Reply(200, atom(every[start - 1 : start - 1 + size], generator=blogger))

    feed = server.route("/feeds/posts/default", handler)
    out = tmp_path / "out"
    code, stdout, stderr = backfill(config_for(tmp_path, feed), out)
    assert code == EXIT_OK, stderr
    assert set(archived(out)) == posts(range(60))
    assert "3 pages via blogger" in stdout  # 26-50, 51-60, then the empty page


# --- the Wayback Machine ---------------------------------------------------------------------


def test_wayback_snapshots_that_overlap_are_archived_once(
    server: FeedServer, tmp_path: Path
) -> None:
    feed = server.always("/feed", Reply(200, atom(range(8, 10))))
    snapshots = {"20190101000000": range(0, 4), "20190601000000": range(2, 6),
                 "20191201000000": range(5, 9)}  # fmt: skip
    rows = [["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]]
    for stamp, numbers in snapshots.items():
        rows.append(["k", stamp, feed, ATOM, "200", stamp, "1"])
        server.always(f"/web/{stamp}id_/{feed}", Reply(200, atom(numbers)))
    rows.append(["k", "20191202000000", feed, ATOM, "200", "20191201000000", "1"])  # same bytes
    server.always("/cdx/search/cdx", Reply(200, json.dumps(rows).encode()))
    config = config_for(tmp_path, feed)
    out = tmp_path / "out"
    code, stdout, stderr = backfill(config, out, "--wayback")
    assert code == EXIT_OK, stderr
    assert "3 pages via wayback" in stdout
    entries = archived(out)
    assert set(entries) == posts(range(10))
    matter = yaml.safe_load(entries["https://example.org/post/0"].split("---\n")[1])
    assert (matter["via"], str(matter["snapshot"])) == ("wayback", "2019-01-01T00:00:00+00:00")
    assert "via:" not in entries["https://example.org/post/9"]  # from the live feed
    cdx = next(r for r in server.requests if r.path.startswith("/cdx/"))
    query = parse_qsl(urlsplit(cdx.path).query)
    assert ("url", feed) in query and ("collapse", "digest") in query
    assert ("filter", "statuscode:200") in query and ("output", "json") in query

    server.requests.clear()
    code, _, _ = backfill(config, out, "--wayback")
    assert code == EXIT_OK
    assert [p.split("?")[0] for p in hits(server)] == ["/feed", "/cdx/search/cdx"]


def test_the_wayback_machine_gets_none_of_the_feeds_headers(
    server: FeedServer, tmp_path: Path
) -> None:
    feed = server.always("/feed", Reply(200, atom([1])))
    server.always("/cdx/search/cdx", Reply(200, b"[]"))
    config = config_for(tmp_path, feed, "    headers:\n      Cookie: session=abc\n")
    code, _, _ = backfill(config, tmp_path / "out", "--wayback")
    assert code == EXIT_OK
    feed_request, cdx_request = server.requests
    assert feed_request.headers.get("cookie") == "session=abc"
    assert "cookie" not in cdx_request.headers


def test_a_feed_whose_url_holds_a_secret_is_not_walked(
    server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEED_TOKEN", "s3cret")
    feed = server.always("/feed", Reply(200, atom([1], links={"next": "/p/2"})))
    code, _, stderr = backfill(config_for(tmp_path, feed + "?token=${FEED_TOKEN}"), tmp_path / "o")
    assert code == EXIT_FEED_FAILED
    assert "its url holds a secret" in stderr and "s3cret" not in stderr
    assert server.requests == []


def test_without_wayback_the_service_is_never_asked(server: FeedServer, tmp_path: Path) -> None:
    feed = server.always("/feed", Reply(200, atom([1])))
    code, stdout, _ = backfill(config_for(tmp_path, feed), tmp_path / "out")
    assert code == EXIT_OK
    assert "no history found" in stdout
    assert hits(server) == ["/feed"]


# --- politeness, bounds, resumption ----------------------------------------------------------


def run_backfill(config_text: str, out: Path, sleeps: list[float], **options: object) -> list[str]:
    async def record(seconds: float) -> None:
        sleeps.append(seconds)

    report = asyncio.run(
        backfill_async(
            parse_config(config_text),
            BackfillOptions(output=out, **options),  # type: ignore[arg-type]
            sleep=record,
        )
    )
    return [f.line() for f in report.feeds] + [w for f in report.feeds for w in f.warnings]


def test_pages_of_one_host_are_paced_by_backfill_delay(server: FeedServer, tmp_path: Path) -> None:
    feed = archive_chain(server)
    sleeps: list[float] = []
    text = f"defaults:\n  retries: 0\nfeeds:\n  - name: blog\n    url: {feed}\n"
    run_backfill(text, tmp_path / "out", sleeps)
    assert sleeps == [1.0, 1.0, 1.0]  # before each page after the feed itself
    sleeps.clear()
    no_delay = text.replace("defaults:\n", "defaults:\n  backfill_delay: 0\n")
    run_backfill(no_delay, tmp_path / "o2", sleeps)
    assert sleeps == []


def test_retry_after_is_honoured_between_pages(server: FeedServer, tmp_path: Path) -> None:
    feed = archive_chain(server)
    body = server.routes["/a/2.xml"](Request("", {})).body
    server.sequence("/a/2.xml", [Reply(429, headers={"Retry-After": "7"}), Reply(200, body)])
    sleeps: list[float] = []
    text = f"defaults:\n  backfill_delay: 0\nfeeds:\n  - name: blog\n    url: {feed}\n"
    run_backfill(text, tmp_path / "out", sleeps)
    assert sleeps == [7.0]
    assert set(archived(tmp_path / "out")) == posts(range(13))


def test_another_run_holding_the_lock_means_status_3(server: FeedServer, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with Archive(out).lock():
        code, _, stderr = backfill(config_for(tmp_path, archive_chain(server)), out)
    assert code == EXIT_LOCKED
    assert "another run holds the lock" in stderr
    assert server.requests == []


def test_max_pages_bounds_a_walk_and_the_next_goes_on(server: FeedServer, tmp_path: Path) -> None:
    pages = {n: rss(range(5 * (n - 1), 5 * n), generator=WP) for n in range(1, 6)}
    feed = server.route("/wp/feed/", numbered_pages(pages, "paged"))
    config = config_for(tmp_path, feed)
    out = tmp_path / "out"
    code, _, stderr = backfill(config, out, "--max-pages", "2")
    assert code == EXIT_OK
    assert "stopped after --max-pages 2" in stderr
    assert set(archived(out)) == posts(range(15))
    server.requests.clear()
    code, _, _ = backfill(config, out, "--max-pages", "2")
    assert hits(server) == ["/wp/feed/", "/wp/feed/?paged=4", "/wp/feed/?paged=5"]
    server.requests.clear()
    backfill(config, out)
    assert hits(server) == ["/wp/feed/", "/wp/feed/?paged=6"]
    assert set(archived(out)) == posts(range(25))


def test_since_stops_at_older_entries(server: FeedServer, tmp_path: Path) -> None:
    config = config_for(tmp_path, archive_chain(server))
    out = tmp_path / "out"
    # Entry n is dated 2020-01-(n+1): 2020-01-06 keeps 5 and later.
    code, _, _ = backfill(config, out, "--since", "2020-01-06")
    assert code == EXIT_OK
    assert set(archived(out)) == posts(range(5, 13))
    assert "/a/1.xml" not in hits(server)
    code, _, _ = backfill(config, out)  # without --since, the walk goes on from there
    assert set(archived(out)) == posts(range(13))


def test_dry_run_writes_nothing(server: FeedServer, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stdout, _ = backfill(config_for(tmp_path, archive_chain(server)), out, "--dry-run")
    assert code == EXIT_OK
    assert "dry run, nothing written" in stdout
    assert not out.exists()


def test_report_per_feed_and_source(server: FeedServer, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    backfill(config_for(tmp_path, archive_chain(server)), tmp_path / "out", "--report", str(report))
    feed = json.loads(report.read_text())["feeds"][0]
    assert feed["sources"] == [
        {"source": "feed", "pages": 1, "entries": 4, "new": 4, "already_archived": 0,
         "failures": 0},
        {"source": "prev-archive", "pages": 3, "entries": 10, "new": 9, "already_archived": 1,
         "failures": 0},
    ]  # fmt: skip


def test_unknown_feed_and_bad_since_are_usage_errors(server: FeedServer, tmp_path: Path) -> None:
    config = config_for(tmp_path, archive_chain(server))
    assert backfill(config, tmp_path / "out", "--feed", "nope")[0] == EXIT_USAGE
    with pytest.raises(SystemExit) as caught:
        backfill(config, tmp_path / "out", "--since", "last tuesday")
    assert caught.value.code == EXIT_USAGE


def test_add_with_backfill(server: FeedServer, tmp_path: Path) -> None:
    feed = archive_chain(server)
    config = write_config(tmp_path / "feeds.yaml", "defaults:\n  backfill_delay: 0\nfeeds: []\n")
    out = tmp_path / "out"
    stdout = io.StringIO()
    args = ["add", feed, "--config", str(config), "--output", str(out), "--backfill"]
    assert main(args, stdout=stdout, stderr=io.StringIO()) == EXIT_OK
    assert "3 pages via prev-archive" in stdout.getvalue()
    assert set(archived(out)) == posts(range(13))


def slowly(body: bytes) -> Reply:
    """Half the body, then the rest 30 s later (or never, once the server stops)."""
    return Reply(200, chunks=lambda: iter([body[:50], body[50:]]), delay=30)


def test_a_killed_backfill_resumes_and_ends_with_the_same_archive(
    server: FeedServer, tmp_path: Path
) -> None:
    # Ten archives, the fifth slow to come: the kill lands once some are done.
    for n in range(10):
        links = {"prev-archive": f"{n - 1}.xml"} if n else {}
        body = atom(range(3 * n, 3 * n + 3), links=links, archive=True)
        if n == 5:
            server.always(f"/a/{n}.xml", slowly(body))
        else:
            server.always(f"/a/{n}.xml", Reply(200, body))
    feed = server.always("/feed", Reply(200, atom([30], links={"prev-archive": "a/9.xml"})))
    config = config_for(tmp_path, feed)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "archiver", "backfill", "--config", str(config),
               "--output", str(out)]  # fmt: skip
    child = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not server.hits("/a/5.xml") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.hits("/a/5.xml"), "the backfill should reach the slow archive"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    progress = json.loads((out / ".archiver" / "backfill.json").read_text())
    done = progress["feeds"]["blog"]["sources"]["prev-archive"]["done"]
    assert len(done) == 4  # 9, 8, 7, 6
    assert set(archived(out)) == posts(range(18, 31))

    server.always("/a/5.xml", Reply(200, atom(range(15, 18), links={"prev-archive": "4.xml"})))
    server.requests.clear()
    code, _, stderr = backfill(config, out)
    assert code == EXIT_OK, stderr
    assert not {"/a/9.xml", "/a/8.xml", "/a/7.xml", "/a/6.xml"} & set(hits(server))
    resumed = archived(out)

    fresh = tmp_path / "fresh"
    assert backfill(config, fresh)[0] == EXIT_OK
    assert resumed == archived(fresh)
    assert set(resumed) == posts(range(31))
    leftovers = [p for p in out.rglob("*") if p.name.startswith(".archiver-tmp-")]
    assert leftovers == []
