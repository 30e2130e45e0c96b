"""The pipeline with its edges swapped: httpx.MockTransport for the network, a fixed clock."""

from __future__ import annotations

import asyncio
import errno
import json
import threading
from collections.abc import Sequence
from concurrent.futures import Executor
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from archiver.archive.disk import Disk, FaultyDisk
from archiver.archive.ids import IdSet, id_from_name
from archiver.archive.store import Archive
from archiver.config.load import parse_config
from archiver.config.model import FeedConfig
from archiver.models import Document, Entry, FetchResult, ParsedFeed, RunReport, Status
from archiver.pipeline.run import RunOptions, run_async
from archiver.pipeline.workers import Workers, shared_pool

from .conftest import FIXED_NOW, streamed

FEED_URL = "https://example.org/feed.xml"


def rss(*items: str) -> bytes:
    body = "".join(
        f"<item><title>{title}</title><link>https://example.org/{title}</link>{extra}</item>"
        for title, extra in (item.split("|", 1) if "|" in item else (item, "") for item in items)
    )
    return f"<rss version='2.0'><channel><title>t</title>{body}</channel></rss>".encode()


class CountingWorkers(Workers):
    """The real workers in a thread, counting the bodies they parse and the feeds they
    convert; entries titled as in `breaks` fail to convert, as one that breaks a library."""

    def __init__(self, count: int = 1, *, breaks: str | None = None) -> None:
        super().__init__(count)
        self.parsed = 0
        self.converted = 0
        self.breaks = breaks

    async def parse(self, fetched: FetchResult) -> ParsedFeed:
        self.parsed += 1
        return await super().parse(fetched)

    async def convert(
        self, entries: Sequence[Entry], feed: FeedConfig, parsed: ParsedFeed, first_seen: datetime
    ) -> list[Document | str]:
        good = [entry for entry in entries if entry.title != self.breaks]
        results = await super().convert(good, feed, parsed, first_seen)
        self.converted += 1
        broken = [entry for entry in entries if entry.title == self.breaks]
        return results + [f"entry {e.link} skipped: RecursionError()" for e in broken]


def run(
    out: Path,
    handler: httpx.MockTransport,
    config_text: str = f"defaults:\n  workers: 1\nfeeds:\n  - name: f\n    url: {FEED_URL}\n",
    **seams: Any,
) -> RunReport:
    async def no_sleep(seconds: float) -> None:
        pass

    return asyncio.run(
        run_async(
            parse_config(config_text),
            RunOptions(output=out),
            transport=handler,
            sleep=no_sleep,
            clock=lambda: FIXED_NOW,
            **seams,
        )
    )


def serve(body: bytes, headers: dict[str, str] | None = None) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: streamed(200, content=body, headers=headers))


def md_files(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*.md") if id_from_name(p.name))


def test_undated_entry_is_dated_by_the_clock(tmp_path: Path) -> None:
    report = run(tmp_path, serve(rss("undated")))
    (written,) = report.outcomes[0].written
    assert written.path == "2026/11/25/undated-" + md_files(tmp_path)[0][-19:]
    assert (written.title, written.feed, written.date) == ("undated", "f", FIXED_NOW.isoformat())
    assert "date: '2026-11-25T12:00:00+00:00'" in (tmp_path / md_files(tmp_path)[0]).read_text()


def test_folders_follow_the_configured_time_zone(tmp_path: Path) -> None:
    config = f"feeds:\n  - name: f\n    url: {FEED_URL}\n    timezone: Asia/Shanghai\n"
    run(tmp_path, serve(rss("late|<pubDate>Sun, 20 Jun 2021 23:59:00 GMT</pubDate>")), config)
    (name,) = md_files(tmp_path)
    assert name.startswith("2021/06/21/late-")  # 07:59 the next morning in Shanghai
    assert "date: '2021-06-21T07:59:00+08:00'" in (tmp_path / name).read_text()


def test_a_failed_write_stops_the_run_without_advancing_state(tmp_path: Path) -> None:
    transport = serve(rss("a", "b", "c"), {"ETag": '"v1"'})
    full_after_one = FaultyDisk("write", after=1, code=errno.ENOSPC)
    report = run(tmp_path, transport, disk=full_after_one)
    assert report.aborted is not None and "No space left on device" in report.aborted
    assert report.failed
    assert [(o.name, o.status) for o in report.outcomes] == [("f", Status.FAILED)]
    # The feed's files are written together: none is in place, no temporary one is left.
    assert [p for p in tmp_path.rglob("*") if p.is_file() and p.parent.name != ".archiver"] == []
    assert not list(tmp_path.rglob(".archiver-tmp-*"))
    assert not (tmp_path / ".archiver" / "state.json").exists()  # no validators vouch for b, c

    report = run(tmp_path, transport)
    assert (report.outcomes[0].new, report.outcomes[0].already_archived) == (3, 0)
    assert len(md_files(tmp_path)) == 3
    state = json.loads((tmp_path / ".archiver" / "state.json").read_text())
    assert state["feeds"]["f"]["etag"] == '"v1"'


def per_host() -> httpx.MockTransport:
    """Two entries of its own for each host, with an ETag."""

    def handler(request: httpx.Request) -> httpx.Response:
        host = request.url.host.split(".")[0]
        return streamed(200, content=rss(f"{host}-a", f"{host}-b"), headers={"ETag": '"v1"'})

    return httpx.MockTransport(handler)


def many_feeds(count: int) -> str:
    return "defaults:\n  workers: 1\n  concurrency: 1\nfeeds:\n" + "".join(
        f"  - name: f{i}\n    url: https://h{i}.example.org/feed.xml\n" for i in range(count)
    )


def test_the_state_is_written_once_at_the_start_and_once_at_the_end(tmp_path: Path) -> None:
    # Written after every feed, the state cost each feed the encoding of all the others.
    saved: list[int] = []

    class StateCountingDisk(Disk):
        """The real disk; the number of feeds in each state file written."""

        def write_temporary(self, path: Path, data: bytes) -> Path:
            if path.name == "state.json":
                saved.append(len(json.loads(data)["feeds"]))
            return super().write_temporary(path, data)

    report = run(
        tmp_path, per_host(), many_feeds(30), disk=StateCountingDisk(), state_save_interval=3600.0
    )
    assert len(report.outcomes) == 30 and not report.failed
    assert saved == [1, 30]
    state = json.loads((tmp_path / ".archiver" / "state.json").read_text())
    assert sorted(state["feeds"]) == sorted(f"f{i}" for i in range(30))
    assert {feed["etag"] for feed in state["feeds"].values()} == {'"v1"'}


def test_a_run_stopped_by_a_full_disk_keeps_the_state_of_the_feeds_it_finished(
    tmp_path: Path,
) -> None:
    # Entries fill the disk; the state file, a few hundred bytes, still fits.
    full_after_ten = FaultyDisk("write", after=10, where=lambda path: path.name != "state.json")
    report = run(
        tmp_path, per_host(), many_feeds(30), disk=full_after_ten, state_save_interval=3600.0
    )
    assert report.aborted is not None and "No space left on device" in report.aborted
    finished = {o.name for o in report.outcomes if o.status is Status.OK}
    assert 0 < len(finished) < 30
    state = json.loads((tmp_path / ".archiver" / "state.json").read_text())
    assert set(state["feeds"]) == finished


def test_an_entry_that_breaks_conversion_costs_only_itself(tmp_path: Path) -> None:
    transport = serve(rss("good", "bad", "also-good"), {"ETag": '"v1"'})
    report = run(tmp_path, transport, workers=CountingWorkers(breaks="bad"))
    (outcome,) = report.outcomes
    assert outcome.status is Status.OK
    assert outcome.new == 2
    assert any("https://example.org/bad skipped" in w for w in outcome.warnings)
    # Without validators, the next run fetches in full and tries the bad entry again.
    assert "etag" not in (tmp_path / ".archiver" / "state.json").read_text()


def test_a_feed_failing_the_same_way_leaves_the_state_untouched(tmp_path: Path) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(404))
    run(tmp_path, transport)
    state = tmp_path / ".archiver" / "state.json"
    first = state.read_bytes()
    assert b'"failing_since": "2026-11-25T12:00:00+00:00"' in first
    run(tmp_path, transport)
    assert state.read_bytes() == first


def test_recovery_clears_the_failure(tmp_path: Path) -> None:
    run(tmp_path, httpx.MockTransport(lambda request: httpx.Response(500)))
    report = run(tmp_path, serve(rss("a")))
    assert report.outcomes[0].status is Status.OK
    assert "failing_since" not in (tmp_path / ".archiver" / "state.json").read_text()


def test_permanent_redirect_is_kept_in_state(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if str(request.url) == FEED_URL:
            return httpx.Response(308, headers={"Location": "https://new.example.org/feed"})
        return streamed(200, content=rss("a"))

    run(tmp_path, httpx.MockTransport(handler))
    state = (tmp_path / ".archiver" / "state.json").read_text()
    assert '"permanent_redirect": "https://new.example.org/feed"' in state


def test_not_modified_parses_nothing_and_keeps_validators(tmp_path: Path) -> None:
    run(tmp_path, serve(rss("a"), {"ETag": '"v1"'}))
    state = (tmp_path / ".archiver" / "state.json").read_bytes()
    workers = CountingWorkers()
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("if-none-match"))
        return httpx.Response(304)

    report = run(tmp_path, httpx.MockTransport(handler), workers=workers)
    assert seen == ['"v1"']
    assert workers.parsed == 0, "a 304 was parsed"
    assert report.outcomes[0].status is Status.NOT_MODIFIED
    assert (tmp_path / ".archiver" / "state.json").read_bytes() == state


def test_worker_processes_write_what_the_main_process_writes(tmp_path: Path) -> None:
    items = [f"post{i}|<description>&lt;p&gt;text {i}&lt;/p&gt;</description>" for i in range(40)]
    body = rss(*items)
    inline = run(tmp_path / "inline", serve(body))
    pooled = run(
        tmp_path / "pooled",
        serve(body),
        f"defaults:\n  workers: 2\nfeeds:\n  - name: f\n    url: {FEED_URL}\n",
    )
    assert inline.new == pooled.new == 40

    def files(root: Path) -> dict[str, str]:
        return {name: (root / name).read_text() for name in md_files(root)}

    assert files(tmp_path / "inline") == files(tmp_path / "pooled")


class ReleaseWatched(Workers):
    """Two worker processes that note, when released, whether the pages were written yet."""

    def __init__(self, out: Path, pools: list[Executor]) -> None:
        super().__init__(2, start_pool=self.started)
        self.out, self.pools = out, pools
        self.released_before_pages: bool | None = None

    def started(self, count: int) -> Executor:
        self.pools.append(shared_pool(count))
        return self.pools[-1]

    def release(self) -> None:
        self.released_before_pages = not (self.out / "README.md").exists()
        super().release()


def test_a_run_that_releases_its_workers_stops_them_before_the_pages(tmp_path: Path) -> None:
    config = parse_config(f"defaults:\n  workers: 2\nfeeds:\n  - name: f\n    url: {FEED_URL}\n")
    pools: list[Executor] = []

    def archive(out: Path, *, release: bool) -> ReleaseWatched:
        watched = ReleaseWatched(out, pools)
        options = RunOptions(output=out, release_workers=release)
        transport = serve(rss("a", "b"))
        run = run_async(
            config, options, transport=transport, clock=lambda: FIXED_NOW, workers=watched
        )
        assert asyncio.run(run).new == 2
        assert (out / "README.md").exists()
        return watched

    assert archive(tmp_path / "kept", release=False).released_before_pages is None
    assert archive(tmp_path / "released", release=True).released_before_pages is True
    assert pools[1] is pools[0], "a pool that is kept serves the next run"
    archive(tmp_path / "again", release=True)
    assert pools[2] is not pools[1], "a released pool was not stopped"


def test_worker_processes_start_only_for_a_feed_that_needs_parsing(tmp_path: Path) -> None:
    config = f"defaults:\n  workers: 2\nfeeds:\n  - name: f\n    url: {FEED_URL}\n"
    started: list[int] = []

    def pool(count: int) -> Executor:
        started.append(count)
        return shared_pool(count)

    def two_workers() -> Workers:
        return Workers(2, start_pool=pool)

    body = rss("a", "b")  # no validators: the second run gets the same bytes again
    assert run(tmp_path, serve(body), config, workers=two_workers()).new == 2
    assert started == [2]
    unchanged = run(tmp_path, serve(body), config, workers=two_workers())
    assert unchanged.outcomes[0].status is Status.UNCHANGED
    assert started == [2], "an unchanged feed started the workers"
    assert run(tmp_path, serve(rss("a", "b", "c")), config, workers=two_workers()).new == 1
    assert started == [2, 2]


class IdsOnceAFeedIsRequested(Archive):
    """An archive whose ids are read only once a feed has been requested."""

    requested = threading.Event()

    def archived_ids(self, *, remove_temporary: bool = True) -> IdSet:
        assert self.requested.wait(timeout=10), "the feeds waited for the archive's ids"
        return super().archived_ids(remove_temporary=remove_temporary)


def test_the_archive_s_ids_are_read_while_the_feeds_download(tmp_path: Path) -> None:
    first = run(tmp_path, serve(rss("a", "b")))
    assert first.new == 2
    archive = IdsOnceAFeedIsRequested(tmp_path)

    def feed(request: httpx.Request) -> httpx.Response:
        archive.requested.set()
        return streamed(200, content=rss("a", "b", "c"))

    again = run(tmp_path, httpx.MockTransport(feed), archive=archive)
    assert (again.new, again.already_archived) == (1, 2)


def test_the_same_body_again_costs_no_parsing(tmp_path: Path) -> None:
    body = rss("a", "b")  # served without validators: every request gets a 200
    first = run(tmp_path, serve(body))
    assert first.outcomes[0].new == 2

    workers = CountingWorkers()
    again = run(tmp_path, serve(body), workers=workers)
    assert workers.parsed == 0, "the same bytes were parsed again"
    assert again.outcomes[0].status is Status.UNCHANGED
    assert again.outcomes[0].not_modified  # as reports show it
    assert again.outcomes[0].http_status == 200
    assert not again.failed

    changed = run(tmp_path, serve(rss("a", "b", "c")))
    assert (changed.outcomes[0].new, changed.outcomes[0].already_archived) == (1, 2)


def test_the_same_unreadable_body_again_fails_the_same_way_unparsed(tmp_path: Path) -> None:
    page = b"<html><head><title>We moved</title></head><body>See our new site</body></html>"
    html = {"content-type": "text/html"}
    first = run(tmp_path, serve(page, html))
    assert first.outcomes[0].status is Status.FAILED
    reason = first.outcomes[0].error
    assert reason and reason.startswith("not a feed: got an HTML page")
    state_file = tmp_path / ".archiver" / "state.json"
    state_before = state_file.read_bytes()

    workers = CountingWorkers()
    again = run(tmp_path, serve(page, html), workers=workers)
    assert workers.parsed == 0, "the same unreadable bytes were parsed again"
    assert again.outcomes[0].status is Status.FAILED
    assert again.outcomes[0].error == reason
    assert again.health["f"].consecutive_failures == 2
    assert state_file.read_bytes() == state_before  # nothing new to commit

    # Anything that could read differently is parsed again: other bytes, another
    # Content-Type (another version of archiver: test_decide.py).
    for body, headers in ((page + b" ", html), (page, {"content-type": "application/xml"})):
        workers = CountingWorkers()
        run(tmp_path, serve(body, headers), workers=workers)
        assert workers.parsed == 1

    fixed = run(tmp_path, serve(rss("a")))
    assert fixed.outcomes[0].new == 1
    assert fixed.health["f"].unreadable_sha256 is None


def test_fetching_runs_ahead_of_conversion_only_so_far(tmp_path: Path) -> None:
    # 40 feeds answer at once; conversion is slower. At no time may more feeds be
    # fetched and not yet converted than the fetch concurrency plus twice the parse slots.
    feeds = [f"https://h{i}.example.org/feed.xml" for i in range(40)]
    config = "defaults:\n  workers: 1\n  concurrency: 4\nfeeds:\n" + "".join(
        f"  - name: f{i}\n    url: {url}\n" for i, url in enumerate(feeds)
    )
    body = rss(*(f"item{j}" for j in range(30)))
    workers = CountingWorkers()
    fetched, most = 0, 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal fetched, most
        fetched += 1
        most = max(most, fetched - workers.converted)
        return streamed(200, content=body)

    report = run(tmp_path, httpx.MockTransport(handler), config, workers=workers)
    assert workers.converted == 40 and not report.failed
    assert most <= 4 + 2 * (2 * 1)


def test_an_entry_archived_under_its_former_id_is_not_written_again(tmp_path: Path) -> None:
    # archiver 0.1.0 dropped the link of an Atom entry whose <id> came first, and keyed
    # the entry on that id: the same id a link-less entry gets today.
    def atom(link: str) -> bytes:
        return (
            "<feed xmlns='http://www.w3.org/2005/Atom'><title>t</title><entry>"
            f"<id>tag:example.org,2024:post-1</id><title>Hello</title>{link}</entry></feed>"
        ).encode()

    run(tmp_path, serve(atom("")))
    (archived,) = md_files(tmp_path)
    report = run(tmp_path, serve(atom("<link href='https://example.org/posts/hello'/>")))
    assert (report.new, report.already_archived) == (0, 1)
    assert md_files(tmp_path) == [archived]


def test_an_entry_archived_under_its_former_id_is_updated_in_its_file(tmp_path: Path) -> None:
    def atom(link: str, text: str) -> bytes:
        return (
            "<feed xmlns='http://www.w3.org/2005/Atom'><title>t</title><entry>"
            f"<id>tag:example.org,2024:post-1</id><title>Hello</title>{link}"
            f"<content type='html'>{text}</content></entry></feed>"
        ).encode()

    config = (
        "defaults:\n  workers: 1\n  on_update: overwrite\n"
        f"feeds:\n  - name: f\n    url: {FEED_URL}\n"
    )
    run(tmp_path, serve(atom("", "first words")), config)
    (archived,) = md_files(tmp_path)
    link = "<link href='https://example.org/posts/hello'/>"
    report = run(tmp_path, serve(atom(link, "second words")), config)
    assert (report.new, report.outcomes[0].updated) == (0, 1)
    assert md_files(tmp_path) == [archived]
    assert "second words" in (tmp_path / archived).read_text()


def test_a_run_removes_what_a_killed_run_left_in_the_state_folder(tmp_path: Path) -> None:
    leftover = tmp_path / ".archiver" / ".archiver-tmp-state"
    leftover.parent.mkdir()
    leftover.write_text('{"half": ')
    run(tmp_path, serve(rss("a")))
    assert not leftover.exists()
    assert (tmp_path / ".archiver" / "state.json").exists()
