"""Hostile feeds and failing networks, one behaviour a test, mostly against a real loopback
server: the network (limits, deadlines, retries, redirects), the bytes (malformed XML,
entities, charsets), the content (titles, scripts) and the archive (killed runs, full disks,
hand edits). Waits are injected (no test sleeps for a Retry-After), and the few tests that
need wall-clock time (a trickling server against a deadline) keep it to about a second.
"""

from __future__ import annotations

import asyncio
import errno
import gzip
import io
import itertools
import json
import os
import pyexpat
import re
import signal
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
import yaml

from archiver.archive.disk import REAL_DISK, Disk, FaultyDisk
from archiver.archive.ids import id_from_name
from archiver.cli.main import EXIT_FEED_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED, main
from archiver.config.load import parse_config
from archiver.config.model import FeedConfig
from archiver.convert.paths import MAX_NAME_BYTES
from archiver.errors import FetchError
from archiver.fetch.client import Fetcher, make_client
from archiver.models import RunReport, Status
from archiver.pipeline.run import RunOptions, run_async

from .conftest import FIXED_NOW, REPO_ROOT, FeedServer, Reply, Request, write_config


def rss_item(title: str, link: str, extra: str = "") -> str:
    return f"<item><title>{title}</title><link>{link}</link>{extra}</item>"


def rss(*items: str, declaration: str = '<?xml version="1.0" encoding="utf-8"?>') -> bytes:
    return (
        f"{declaration}<rss version='2.0'><channel><title>t</title>"
        f"<link>https://example.org/</link>{''.join(items)}</channel></rss>"
    ).encode()


HEALTHY = rss(rss_item("healthy", "https://example.org/healthy"))


def run_cli(config: Path, out: Path, *extra: str, disk: Disk = REAL_DISK) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(
        ["run", "--config", str(config), "--output", str(out), *extra],
        stdout=stdout,
        stderr=stderr,
        disk=disk,
    )
    return code, stdout.getvalue(), stderr.getvalue()


def one_feed_config(tmp_path: Path, url: str, extra: str = "") -> Path:
    return write_config(
        tmp_path / "feeds.yaml",
        f"defaults:\n  retries: 0\nfeeds:\n  - name: f\n    url: {url}\n{extra}",
    )


def run_pipeline(
    config_text: str, out: Path, sleeps: list[float] | None = None, clock_offset: float = 0
) -> RunReport:
    async def record(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)

    return asyncio.run(
        run_async(
            parse_config(config_text),
            RunOptions(output=out),
            sleep=record,
            clock=lambda: FIXED_NOW + timedelta(seconds=clock_offset),
        )
    )


def articles(out: Path) -> list[Path]:
    """The archived entries, without the index pages."""
    return sorted(p for p in out.rglob("*.md") if id_from_name(p.name))


def endless(chunk: bytes) -> Iterator[bytes]:
    return itertools.repeat(chunk)


# --- the network -----------------------------------------------------------------------


def test_body_over_the_cap_fails_as_too_large_with_flat_memory(
    server: FeedServer, tmp_path: Path
) -> None:
    declared = server.route("/declared", lambda r: Reply(200, b"x" * 3_000_000))
    streamed = server.route(
        "/streamed", lambda r: Reply(200, chunks=lambda: endless(b"<" * 1_000_000))
    )
    config = write_config(
        tmp_path / "feeds.yaml",
        f"defaults:\n  retries: 0\n  max_bytes: 2000000\nfeeds:\n"
        f"  - name: declared\n    url: {declared}\n  - name: streamed\n    url: {streamed}\n",
    )
    tracemalloc.start()
    try:
        code, _, stderr = run_cli(config, tmp_path / "out")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert code == EXIT_FEED_FAILED
    assert "feed 'declared' failed: too large" in stderr
    assert "feed 'streamed' failed: too large" in stderr
    assert peak < 20_000_000  # an endless body, yet memory stays near the 2 MB cap


def test_compression_bomb_is_stopped_at_the_cap(server: FeedServer, tmp_path: Path) -> None:
    bomb = gzip.compress(b"\0" * 100_000_000, compresslevel=9)  # ~100 KB → 100 MB
    assert len(bomb) < 200_000
    url = server.route(
        "/bomb",
        lambda r: Reply(200, bomb, {"Content-Encoding": "gzip", "Content-Type": "text/xml"}),
    )
    tracemalloc.start()
    try:
        code, _, stderr = run_cli(
            one_feed_config(tmp_path, url, "    max_bytes: 1000000\n"), tmp_path / "o"
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert code == EXIT_FEED_FAILED
    assert "too large" in stderr
    assert peak < 30_000_000


def test_trickling_server_is_ended_by_the_deadline(server: FeedServer, tmp_path: Path) -> None:
    url = server.route("/trickle", lambda r: Reply(200, chunks=lambda: endless(b"<"), delay=0.05))
    config = one_feed_config(tmp_path, url, "    deadline: 1\n    timeout: 10\n")
    started = time.monotonic()
    code, _, stderr = run_cli(config, tmp_path / "o")
    assert code == EXIT_FEED_FAILED
    assert "feed 'f' failed: gave up after the 1 s deadline (deadline)" in stderr
    assert time.monotonic() - started < 5  # the per-read timeout (10 s) never fired


def test_connection_refused_is_retried_then_fails_in_one_line(tmp_path: Path) -> None:
    sleeps: list[float] = []
    report = run_pipeline(
        "defaults:\n  retries: 2\nfeeds:\n  - name: f\n    url: http://127.0.0.1:9/feed\n",
        tmp_path,
        sleeps,
    )
    (outcome,) = report.outcomes
    assert outcome.status is Status.FAILED
    assert outcome.error is not None
    assert outcome.error.startswith("cannot connect to 127.0.0.1")
    assert outcome.error.endswith("(tried 3 times)")
    assert len(sleeps) == 2


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (httpx.ConnectError("[Errno -2] Name or service not known"), "Name or service not known"),
        (httpx.ConnectTimeout("timed out"), "timed out connecting to feeds.example.org"),
    ],
    ids=["dns-failure", "connect-timeout"],
)
def test_dns_failure_and_connect_timeout_are_retried_then_fail_in_one_line(
    error: Exception, message: str
) -> None:
    # No real DNS lookup: resolvers are not on loopback. The transport raises what httpx would.
    attempts = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        raise error

    async def go() -> None:
        async def no_sleep(seconds: float) -> None:
            pass

        async with make_client(httpx.MockTransport(handler)) as client:
            feed = FeedConfig(name="f", url="https://feeds.example.org/f", retries=1)
            await Fetcher(client, concurrency=1, per_host=1, sleep=no_sleep).fetch(feed, None)

    with pytest.raises(FetchError, match=message):
        asyncio.run(go())
    assert len(attempts) == 2


def test_tls_error_fails_and_the_opt_out_is_per_feed(
    tls_server: FeedServer, tmp_path: Path
) -> None:
    url = tls_server.feed("/feed", HEALTHY)
    code, _, stderr = run_cli(one_feed_config(tmp_path, url), tmp_path / "strict")
    assert code == EXIT_FEED_FAILED
    assert "CERTIFICATE_VERIFY_FAILED" in stderr
    assert "set verify_tls: false for this feed" in stderr
    assert articles(tmp_path / "strict") == []

    config = one_feed_config(tmp_path, url, "    verify_tls: false\n")
    code, _, _ = run_cli(config, tmp_path / "trusting")
    assert code == EXIT_OK
    assert len(articles(tmp_path / "trusting")) == 1


def test_redirect_loop_fails_and_a_permanent_redirect_is_followed_and_reported(
    server: FeedServer, tmp_path: Path
) -> None:
    loop = server.route("/loop", lambda r: Reply(302, headers={"Location": "/loop"}))
    new = server.feed("/new", HEALTHY)
    old = server.route("/old", lambda r: Reply(301, headers={"Location": "/new"}))
    config = write_config(
        tmp_path / "feeds.yaml",
        f"defaults:\n  retries: 0\nfeeds:\n  - name: loop\n    url: {loop}\n"
        f"  - name: moved\n    url: {old}\n",
    )
    code, _, stderr = run_cli(config, tmp_path / "out")
    assert code == EXIT_FEED_FAILED
    assert "feed 'loop' failed: too many redirects (more than 5)" in stderr
    assert len(server.hits("/loop")) == 6
    assert f"feed 'moved': warning: moved permanently to {new}; update its url" in stderr
    state = json.loads((tmp_path / "out/.archiver/state.json").read_text())
    assert state["feeds"]["moved"]["permanent_redirect"] == new
    assert len(articles(tmp_path / "out")) == 1


@pytest.mark.parametrize(
    "retry_after",
    ["2", format_datetime(FIXED_NOW + timedelta(seconds=2), usegmt=True)],
    ids=["seconds", "http-date"],
)
def test_short_retry_after_is_waited_for(
    server: FeedServer, tmp_path: Path, retry_after: str
) -> None:
    url = server.sequence(
        "/limited", [Reply(429, headers={"Retry-After": retry_after}), Reply(200, HEALTHY)]
    )
    sleeps: list[float] = []
    report = run_pipeline(f"feeds:\n  - name: f\n    url: {url}\n", tmp_path, sleeps)
    assert report.outcomes[0].status is Status.OK
    assert sleeps == [2.0]


@pytest.mark.parametrize("retry_after", ["soon", format_datetime(FIXED_NOW - timedelta(days=1))])
def test_garbage_or_past_retry_after_falls_back_to_backoff(
    server: FeedServer, tmp_path: Path, retry_after: str
) -> None:
    url = server.sequence(
        "/limited", [Reply(503, headers={"Retry-After": retry_after}), Reply(200, HEALTHY)]
    )
    sleeps: list[float] = []
    report = run_pipeline(f"feeds:\n  - name: f\n    url: {url}\n", tmp_path, sleeps)
    assert report.outcomes[0].status is Status.OK
    assert len(sleeps) == 1 and 1 <= sleeps[0] <= 2


def test_long_retry_after_is_stored_and_later_runs_skip(server: FeedServer, tmp_path: Path) -> None:
    url = server.route("/limited", lambda r: Reply(429, headers={"Retry-After": "3600"}))
    config = f"feeds:\n  - name: f\n    url: {url}\n"
    sleeps: list[float] = []
    first = run_pipeline(config, tmp_path, sleeps)
    assert first.outcomes[0].status is Status.FAILED
    assert "asks us to wait 3600 s" in (first.outcomes[0].error or "")
    assert sleeps == []

    later = run_pipeline(config, tmp_path, clock_offset=600)
    assert later.outcomes[0].status is Status.SKIPPED
    assert "asked us to wait until 2026-11-25T13:00:00+00:00" in (
        later.outcomes[0].skip_reason or ""
    )
    assert len(server.hits("/limited")) == 1
    assert not later.failed

    server.feed("/limited", HEALTHY)
    after = run_pipeline(config, tmp_path, clock_offset=3601)
    assert after.outcomes[0].status is Status.OK


def test_server_error_then_success_is_archived(server: FeedServer, tmp_path: Path) -> None:
    url = server.sequence("/flaky", [Reply(500), Reply(200, HEALTHY)])
    sleeps: list[float] = []
    report = run_pipeline(f"feeds:\n  - name: f\n    url: {url}\n", tmp_path, sleeps)
    assert report.outcomes[0].new == 1
    assert len(sleeps) == 1 and 1 <= sleeps[0] <= 2  # backoff with jitter


def test_not_modified_writes_nothing_404_fails_and_410_is_not_fetched_again(
    server: FeedServer, tmp_path: Path
) -> None:
    fresh = server.feed("/fresh", HEALTHY, etag='"1"')
    missing = server.url("/missing")
    gone = server.route("/gone", lambda r: Reply(410))
    config = write_config(
        tmp_path / "feeds.yaml",
        f"defaults:\n  retries: 0\nfeeds:\n  - name: fresh\n    url: {fresh}\n"
        f"  - name: missing\n    url: {missing}\n  - name: gone\n    url: {gone}\n",
    )
    out = tmp_path / "out"
    code, stdout, stderr = run_cli(config, out)
    assert code == EXIT_FEED_FAILED
    assert "feed 'missing' failed: HTTP 404" in stderr
    assert "feed 'gone' failed: HTTP 410 Gone (the feed is gone for good" in stderr
    files = {p: p.read_bytes() for p in articles(out)}

    code, stdout, stderr = run_cli(config, out)
    assert "fresh: not modified" in stdout
    assert "gone: skipped: gone (HTTP 410 since" in stdout
    assert len(server.hits("/gone")) == 1  # not fetched again
    assert "feeds: 0 ok, 1 not modified, 1 failed, 1 skipped" in stdout
    assert {p: p.read_bytes() for p in articles(out)} == files

    # A new URL is a new feed: fetched again.
    config.write_text(config.read_text().replace("/gone", "/gone?v=2"))
    run_cli(config, out)
    assert len(server.hits("/gone")) == 2


def test_bot_protection_hint_and_per_feed_headers(server: FeedServer, tmp_path: Path) -> None:
    def picky(request: Request) -> Reply:
        browser = request.headers.get("user-agent", "").startswith("Mozilla/5.0")
        if browser and request.headers.get("cookie") == "consent=yes":
            return Reply(200, HEALTHY)
        return Reply(403)

    url = server.route("/picky", picky)
    code, _, stderr = run_cli(one_feed_config(tmp_path, url), tmp_path / "a")
    assert code == EXIT_FEED_FAILED
    assert "HTTP 403 Forbidden" in stderr and "headers:" in stderr

    headers = "    headers:\n      User-Agent: Mozilla/5.0 (X11)\n      Cookie: consent=yes\n"
    code, _, _ = run_cli(one_feed_config(tmp_path, url, headers), tmp_path / "b")
    assert code == EXIT_OK
    assert len(articles(tmp_path / "b")) == 1


def test_html_page_or_empty_body_is_not_a_feed(server: FeedServer, tmp_path: Path) -> None:
    page = server.route(
        "/page",
        lambda r: Reply(
            200,
            b'<!doctype html><html><head><link rel="alternate" type="application/atom+xml" '
            b'href="/atom.xml"></head><body>Welcome</body></html>',
            {"Content-Type": "text/html"},
        ),
    )
    empty = server.route("/empty", lambda r: Reply(200, b""))
    config = write_config(
        tmp_path / "feeds.yaml",
        f"feeds:\n  - name: page\n    url: {page}\n  - name: empty\n    url: {empty}\n",
    )
    code, _, stderr = run_cli(config, tmp_path / "out")
    assert code == EXIT_FEED_FAILED
    assert (
        f"feed 'page' failed: not a feed: got an HTML page; "
        f"the page advertises a feed at {server.url('/atom.xml')}" in stderr
    )
    assert "feed 'empty' failed: not a feed: the response body is empty" in stderr


# --- the bytes -------------------------------------------------------------------------


def test_malformed_xml_with_entries_is_archived_with_the_warning(
    server: FeedServer, tmp_path: Path
) -> None:
    body = rss(rss_item("ok", "https://example.org/a?x=1&amp;y=2")).replace(b"&amp;", b"&")
    url = server.feed("/bozo", body)
    code, _, stderr = run_cli(one_feed_config(tmp_path, url), tmp_path / "out")
    assert code == EXIT_OK
    assert "feed 'f': warning: the feed is not well-formed" in stderr
    assert len(articles(tmp_path / "out")) == 1


def test_entity_expansion_and_external_entities_are_refused(
    server: FeedServer, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    laughs = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    bomb = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol0 "lol">{laughs}]>'
        "<rss version='2.0'><channel><title>t</title>"
        + rss_item("&lol9;", "https://example.org/bomb")
        + "</channel></rss>"
    ).encode()
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        "<rss version='2.0'><channel><title>t</title>"
        + rss_item("read &xxe;", "https://example.org/xxe", "<description>&xxe;</description>")
        + "</channel></rss>"
    ).encode()
    config = write_config(
        tmp_path / "feeds.yaml",
        f"defaults:\n  retries: 0\nfeeds:\n  - name: bomb\n    url: {server.feed('/bomb', bomb)}\n"
        f"  - name: xxe\n    url: {server.feed('/xxe', xxe)}\n",
    )
    tracemalloc.start()
    try:
        run_cli(config, tmp_path / "out")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    written = "".join(p.read_text() for p in articles(tmp_path / "out"))
    assert "TOP-SECRET-CONTENT" not in written
    assert "lollollol" not in written
    assert peak < 100_000_000


def test_expat_is_new_enough_to_refuse_billion_laughs() -> None:
    # Expat 2.4.1 added amplification limits against billion-laughs attacks (CVE-2013-0340).
    assert pyexpat.version_info >= (2, 4, 1), pyexpat.EXPAT_VERSION


TITLE = "中文标题 Ünïcödé ½"


@pytest.mark.parametrize(
    ("encoding", "content_type", "declared", "title"),
    [
        pytest.param("gbk", "text/xml; charset=gbk", "", "中文标题：清退", id="gbk-from-http"),
        pytest.param("gb18030", "application/xml", "gb18030", "中文标题：𠀀", id="gb18030-prolog"),
        pytest.param("big5", "application/xml", "big5", "繁體中文標題", id="big5-prolog"),
        pytest.param("shift_jis", "application/xml", "shift_jis", "日本語のタイトル", id="sjis"),
        pytest.param(
            "cp1252", "text/xml; charset=windows-1252", "", "Café “quoted” €", id="cp1252"
        ),
        pytest.param("utf-8-sig", "application/xml", "", TITLE, id="utf8-bom"),
        pytest.param("utf-16", "application/xml", "utf-16", TITLE, id="utf16-bom"),
        pytest.param(
            "utf-8", "application/xml; charset=utf-8", "gbk", TITLE, id="http-wins-over-prolog"
        ),
        pytest.param("utf-8", "application/xml", "iso-8859-1", TITLE, id="utf8-declared-latin1"),
    ],
)
def test_charsets_are_decoded_and_written_as_utf8(
    server: FeedServer,
    tmp_path: Path,
    *,
    encoding: str,
    content_type: str,
    declared: str,
    title: str,
) -> None:
    declaration = (
        f'<?xml version="1.0" encoding="{declared}"?>' if declared else "<?xml version='1.0'?>"
    )
    text = rss(rss_item(title, "https://example.org/a"), declaration=declaration).decode()
    url = server.feed("/feed", text.encode(encoding), content_type=content_type)
    code, _, _ = run_cli(one_feed_config(tmp_path, url), tmp_path / "out")
    assert code == EXIT_OK
    (path,) = articles(tmp_path / "out")
    matter = yaml.safe_load(path.read_bytes().decode("utf-8").split("\n---\n")[0][4:])
    assert matter["title"] == title


def test_entries_missing_fields_or_sharing_ids_are_each_archived_once(
    server: FeedServer, tmp_path: Path
) -> None:
    body = rss(
        "<item><description>no link, no guid, no title, no date</description></item>",
        "<item><guid>shared</guid><title>first of a shared guid</title></item>",
        "<item><guid>shared</guid><title>second of a shared guid</title></item>",
        "<item><guid>shared</guid><title>first of a shared guid</title></item>",  # a true duplicate
        rss_item("home one", "https://example.org/", "<guid>h1</guid>"),
        rss_item("home two", "https://example.org/", "<guid>h2</guid>"),
        "<item><title>only a title</title></item>",
    )
    url = server.feed("/feed", body)
    out = tmp_path / "out"
    code, stdout, _ = run_cli(one_feed_config(tmp_path, url), out)
    assert code == EXIT_OK
    assert "f: 6 new, 1 already archived" in stdout
    titles = sorted(
        yaml.safe_load(p.read_text().split("\n---\n")[0][4:])["title"] for p in articles(out)
    )
    assert titles == [
        "first of a shared guid",
        "home one",
        "home two",
        "no link, no guid, no title, no date",
        "only a title",
        "second of a shared guid",
    ]
    # Stable: the same entries, parsed again (the body differs), write nothing.
    server.feed("/feed", body.replace(b"<title>t</title>", b"<title>t2</title>"))
    assert "f: 0 new, 7 already archived" in run_cli(one_feed_config(tmp_path, url), out)[1]


# --- the content -----------------------------------------------------------------------

HOSTILE_TITLES = [
    "--- \n title: injected",
    "key: value # comment",
    "'single' and \"double\" quotes",
    "yes",
    "NO",
    "line one\nline two",
    "nul\x00bell\x07escape\x1b[31m",
    "long " * 2000,
    "مرحبا بالعالم",
    "emoji 🚀👩‍👩‍👧",
    "../../etc/passwd",
    "CON",
    ".hidden",
    "!!! ??? ...",
    "汉" * 200,
]


def test_hostile_titles_give_valid_front_matter_and_safe_names(
    server: FeedServer, tmp_path: Path
) -> None:
    def escape(text: str) -> str:
        return (
            text.replace("&", "&amp;").replace("<", "&lt;").replace("\x00", "").replace("\x07", "")
        ).replace("\x1b", "")

    items = [
        rss_item(
            escape(title), f"https://example.org/{i}", "<author>" + escape(title) + "</author>"
        )
        for i, title in enumerate(HOSTILE_TITLES)
    ]
    url = server.feed("/feed", rss(*items))
    out = tmp_path / "out"
    code, _, _ = run_cli(one_feed_config(tmp_path, url), out)
    assert code == EXIT_OK
    paths = articles(out)
    assert len(paths) == len(HOSTILE_TITLES)
    root = out.resolve()
    for path in paths:
        assert path.resolve().is_relative_to(root)
        assert all(len(part.encode()) <= MAX_NAME_BYTES for part in path.relative_to(out).parts)
        assert not path.name.startswith(".")
        header = path.read_text(encoding="utf-8")[4:].split("\n---\n")[0]
        matter = yaml.safe_load(header)
        assert isinstance(matter["title"], str) and "\n" not in matter["title"]
        assert matter["author"] == matter["title"]
        assert all(c >= " " for c in matter["title"])
    names = " ".join(p.name for p in paths)
    assert "etc-passwd-" in names and "con-" in names and "hidden-" in names
    assert "汉汉汉" in names


def test_nothing_executable_reaches_the_markdown(server: FeedServer, tmp_path: Path) -> None:
    html = (
        "<p onclick='steal()'>Text &lt;script&gt;not a tag&lt;/script&gt;</p>"
        "<script>alert(1)</script><style>body{}</style>"
        "<iframe src='javascript:alert(1)'></iframe><object data='x.swf'></object>"
        "<a href='javascript:alert(1)'>js</a> <a href='vbscript:x'>vb</a> "
        "<a href='data:text/html;base64,PHNjcmlwdD4='>data</a> <a href='file:///etc/passwd'>file</a>"
        "<img src='data:image/png;base64," + "iVBORw0KGgo" * 20 + "' alt='inline image'>"
        "<p>--- </p><p># not a heading</p><p>1. not a list</p>"
        "<a href='https://example.org/a b(c)'>spaced</a>"
    )
    body = rss(
        rss_item("x", "https://example.org/x", f"<description><![CDATA[{html}]]></description>")
    )
    out = tmp_path / "out"
    run_cli(one_feed_config(tmp_path, server.feed("/feed", body)), out)
    (path,) = articles(out)
    markdown = path.read_text().split("\n---\n", 1)[1]
    lowered = markdown.lower()
    for dangerous in ("javascript:", "vbscript:", "data:text", "file:", "onclick", "steal()"):
        assert dangerous not in lowered, dangerous
    # Tags only as escaped text, which no Markdown renderer turns into HTML.
    assert not re.search(r"(?<!\\)<(script|iframe|object|style)", lowered)
    assert "\\<script\\>not a tag" in markdown
    assert "![inline image](data:image/png;base64," in markdown
    assert "[spaced](https://example.org/a%20b%28c%29)" in markdown
    assert "\n# not" not in markdown and "\n1. not" not in markdown


def test_plain_text_content_is_escaped(server: FeedServer, tmp_path: Path) -> None:
    body = (
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        b'<entry><title>plain</title><link href="https://example.org/p"/><id>p</id>'
        b'<content type="text">&lt;b&gt;not bold&lt;/b&gt; # *not* a heading</content>'
        b"</entry></feed>"
    )
    out = tmp_path / "out"
    run_cli(
        one_feed_config(tmp_path, server.feed("/feed", body, content_type="application/atom+xml")),
        out,
    )
    (path,) = articles(out)
    markdown = path.read_text().split("\n---\n", 1)[1]
    assert "<b>" not in markdown
    assert "\\<b\\>not bold" in markdown and "\\*not\\*" in markdown


# --- the archive -----------------------------------------------------------------------


def _run_under_way(
    server: FeedServer, tmp_path: Path, feeds: int, *, stderr: int, endless_feed: bool = False
) -> tuple[subprocess.Popen[bytes], Path, Path]:
    """`archiver run` in a process of its own (and a process group: a terminal's Ctrl-C
    reaches them all) over `feeds` feeds of 20 entries, once 50 files are written. With
    `endless_feed`, one more feed that never ends keeps the run (and its workers) going."""
    for i in range(feeds):
        items = [rss_item(f"feed {i} item {j}", f"https://example.org/{i}/{j}") for j in range(20)]
        server.always(f"/f{i}", Reply(200, rss(*items), headers={"ETag": f'"{i}"'}))
    endless_url = server.route(
        "/endless", lambda r: Reply(200, chunks=lambda: endless(b"<"), delay=0.2)
    )
    config = write_config(
        tmp_path / "feeds.yaml",
        "defaults:\n  concurrency: 2\n  workers: 2\nfeeds:\n"
        + "".join(f"  - name: f{i}\n    url: {server.url(f'/f{i}')}\n" for i in range(feeds))
        + (f"  - name: endless\n    url: {endless_url}\n" if endless_feed else ""),
    )
    out = tmp_path / "out"
    child = subprocess.Popen(
        [sys.executable, "-m", "archiver", "run", "--config", str(config), "--output", str(out)],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(list(out.rglob("*.md"))) < 50:
        time.sleep(0.01)
    return child, config, out


def _children(pid: int) -> list[int]:
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        pytest.skip("no /proc here to find a process's children")
    found: list[int] = []
    for task in tasks:
        with open(f"/proc/{pid}/task/{task}/children") as handle:
            found += [int(child) for child in handle.read().split()]
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


def test_killed_mid_run_leaves_no_partial_file_and_the_next_run_completes(
    server: FeedServer, tmp_path: Path
) -> None:
    feeds = 30
    child, config, out = _run_under_way(server, tmp_path, feeds, stderr=subprocess.DEVNULL)
    helpers = _children(child.pid)  # the worker processes and multiprocessing's tracker
    child.send_signal(signal.SIGKILL)
    child.wait()
    interrupted = list(out.rglob("*.md"))
    assert 0 < len(interrupted) < feeds * 20, "the kill should land mid-run"
    assert helpers, "the run should have started its worker processes"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in helpers):
        time.sleep(0.05)
    assert not [pid for pid in helpers if _alive(pid)], "the killed run's workers live on"
    for path in interrupted:  # every visible article is whole
        assert path.read_text(encoding="utf-8").count("\n---\n") >= 1

    code, _, _ = run_cli(config, out)
    assert code == EXIT_OK
    assert len(articles(out)) == feeds * 20
    leftovers = [p for p in out.rglob("*") if p.name.startswith(".archiver-tmp-")]
    assert leftovers == []


@pytest.mark.parametrize(
    ("sent", "code", "said"),
    [
        pytest.param(signal.SIGTERM, EXIT_TERMINATED, "terminated (SIGTERM)", id="sigterm"),
        # Ctrl-C reaches the whole process group: the workers too.
        pytest.param(signal.SIGINT, EXIT_INTERRUPTED, "interrupted", id="ctrl-c"),
    ],
)
def test_a_stopped_run_keeps_the_state_of_what_it_finished(
    server: FeedServer, tmp_path: Path, sent: signal.Signals, code: int, said: str
) -> None:
    feeds = 30
    child, config, out = _run_under_way(server, tmp_path, feeds, stderr=subprocess.PIPE)
    os.killpg(child.pid, sent)
    _, stderr = child.communicate(timeout=30)
    message = stderr.decode()
    assert child.returncode == code, message
    assert "Traceback" not in message
    assert message.splitlines()[-1] == (
        f"archiver: {said}: what was archived is kept; the next run fetches the rest"
    )
    kept = articles(out)
    assert 0 < len(kept) < feeds * 20, "the signal should land mid-run"
    assert [p for p in out.rglob("*") if p.name.startswith(".archiver-tmp-")] == []
    # The state vouches for every feed it names: all of their entries are on disk.
    state = json.loads((out / ".archiver" / "state.json").read_text())
    assert state["feeds"]
    names = {p.name for p in kept}
    for name in state["feeds"]:
        i = int(name[1:])
        assert sum(n.startswith(f"feed-{i}-item-") for n in names) == 20, name
    # Every file kept has its catalog line, with the digest of what was written (which
    # tells archiver's files from edited ones): the signal does not cut between them.
    catalog = (out / ".archiver" / "catalog.jsonl").read_text().splitlines()
    recorded = {line["path"] for line in map(json.loads, catalog) if line.get("written")}
    assert recorded == {p.relative_to(out).as_posix() for p in kept}

    code, stdout, _ = run_cli(config, out)
    assert code == EXIT_OK
    assert len(articles(out)) == feeds * 20
    for name in state["feeds"]:
        assert f"{name}: 0 new, 20 already archived" in stdout


def test_the_workers_outlast_a_sigterm_and_the_run_stops_them(
    server: FeedServer, tmp_path: Path
) -> None:
    # A SIGTERM sent to the whole group (systemd, a CI runner) reaches the workers too:
    # they leave stopping to the main process, so the pool never breaks under the tasks
    # it is winding down.
    child, _, _ = _run_under_way(server, tmp_path, 30, stderr=subprocess.PIPE, endless_feed=True)
    try:
        helpers = _children(child.pid)
        assert helpers, "the run should have started its worker processes"
        for pid in helpers:
            os.kill(pid, signal.SIGTERM)
        time.sleep(0.5)
        assert all(_alive(pid) for pid in helpers), "a worker ended on SIGTERM"
        assert child.poll() is None, "the endless feed should keep the run going"
        os.killpg(child.pid, signal.SIGTERM)
        _, stderr = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.communicate()
    assert child.returncode == EXIT_TERMINATED, stderr.decode()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in helpers):
        time.sleep(0.05)
    assert not [pid for pid in helpers if _alive(pid)], "the stopped run's workers live on"


def test_disk_full_stops_the_run_and_the_next_run_catches_up(
    server: FeedServer, tmp_path: Path
) -> None:
    body = rss(*(rss_item(f"item {j}", f"https://example.org/{j}") for j in range(5)))
    config = one_feed_config(tmp_path, server.feed("/feed", body, etag='"1"'))
    out = tmp_path / "out"
    full_after_two = FaultyDisk("replace", after=2, code=errno.ENOSPC)
    code, _, stderr = run_cli(config, out, disk=full_after_two)
    assert code == EXIT_FEED_FAILED
    assert "No space left on device (free some space and run again" in stderr
    assert len(articles(out)) == 2
    assert [p for p in out.rglob("*") if p.name.startswith(".archiver-tmp-")] == []
    assert not (out / ".archiver/state.json").exists()

    code, stdout, _ = run_cli(config, out)
    assert code == EXIT_OK
    assert "f: 3 new, 2 already archived" in stdout


def test_hand_edited_file_is_never_overwritten(server: FeedServer, tmp_path: Path) -> None:
    url = server.feed("/feed", HEALTHY)
    config = one_feed_config(tmp_path, url)
    out = tmp_path / "out"
    run_cli(config, out)
    (path,) = articles(out)
    path.write_text("---\ntitle: [broken\n---\nmy own notes\n")
    server.feed("/feed", HEALTHY.replace(b"<title>t</title>", b"<title>t2</title>"))
    code, stdout, _ = run_cli(config, out)
    assert code == EXIT_OK
    assert "f: 0 new, 1 already archived" in stdout
    assert path.read_text() == "---\ntitle: [broken\n---\nmy own notes\n"

    stdout_buffer, stderr_buffer = io.StringIO(), io.StringIO()
    code = main(
        ["check", "--config", str(config), "--output", str(out)],
        stdout=stdout_buffer,
        stderr=stderr_buffer,
    )
    assert code == EXIT_FEED_FAILED
    assert f"{path}: front matter is not valid YAML (line 2)" in stderr_buffer.getvalue()
    assert stdout_buffer.getvalue().splitlines()[-1] == (
        f"{out}: 1 archived file needs attention (never overwritten)"
    )


# --- acceptance --------------------------------------------------------------------------


def test_all_faults_at_once_leave_healthy_feeds_archived(
    server: FeedServer, tmp_path: Path
) -> None:
    faults = {
        "too-large": Reply(200, chunks=lambda: endless(b"x" * 65536)),
        "bomb": Reply(200, gzip.compress(b"\0" * 30_000_000), {"Content-Encoding": "gzip"}),
        "trickle": Reply(200, chunks=lambda: endless(b"<"), delay=0.2),
        "loop": Reply(302, headers={"Location": "/loop"}),
        "rate-limited": Reply(429, headers={"Retry-After": "86400"}),
        "server-error": Reply(500),
        "missing": Reply(404),
        "gone": Reply(410),
        "forbidden": Reply(403),
        "html": Reply(
            200, b"<!doctype html><html><body>hi</body></html>", {"Content-Type": "text/html"}
        ),
        "empty": Reply(200, b""),
        "not-xml": Reply(200, b"\x00\x01\x02 binary garbage"),
    }
    lines = ["defaults:", "  deadline: 8", "  max_bytes: 5000000", "  retries: 1", "feeds:"]
    for name, reply in faults.items():
        lines += [
            f"  - name: {name}",
            f"    url: {server.always('/' + name, reply)}",
        ]
    for i in range(3):
        body = rss(rss_item(f"healthy {i}", f"https://example.org/healthy/{i}"))
        lines += [f"  - name: healthy-{i}", f"    url: {server.feed(f'/healthy{i}', body)}"]
    lines += ["  - name: refused", "    url: http://127.0.0.1:9/feed"]
    config = write_config(tmp_path / "feeds.yaml", "\n".join(lines) + "\n")

    started = time.monotonic()
    code, _, stderr = run_cli(config, tmp_path / "out")
    elapsed = time.monotonic() - started
    assert code == EXIT_FEED_FAILED
    assert elapsed < 45
    assert len(articles(tmp_path / "out")) == 3
    failing = [*faults, "refused"]
    error_lines = [line for line in stderr.splitlines() if " failed: " in line]
    assert sorted(line.split("'")[1] for line in error_lines) == sorted(failing)
    assert "Traceback" not in stderr
