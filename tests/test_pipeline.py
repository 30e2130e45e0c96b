"""The pipeline with its edges swapped: httpx.MockTransport for the network, a fixed clock."""

from __future__ import annotations

import asyncio
import errno
import json
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from archiver.archive import store
from archiver.archive.disk import REAL_DISK, Disk, FaultyDisk
from archiver.archive.store import id_from_name
from archiver.config.load import parse_config
from archiver.convert import document
from archiver.models import Document, Entry, FeedOutcome, RunReport, Status
from archiver.parse import feed as parse
from archiver.pipeline import run as pipeline
from archiver.pipeline import workers
from archiver.pipeline.run import RunOptions, run_async

from .conftest import FIXED_NOW, streamed

FEED_URL = "https://example.org/feed.xml"


def rss(*items: str) -> bytes:
    body = "".join(
        f"<item><title>{title}</title><link>https://example.org/{title}</link>{extra}</item>"
        for title, extra in (item.split("|", 1) if "|" in item else (item, "") for item in items)
    )
    return f"<rss version='2.0'><channel><title>t</title>{body}</channel></rss>".encode()


def run(
    out: Path,
    handler: httpx.MockTransport,
    config_text: str = f"defaults:\n  workers: 1\nfeeds:\n  - name: f\n    url: {FEED_URL}\n",
    disk: Disk = REAL_DISK,
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
            disk=disk,
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
    assert (report.outcomes[0].new, report.outcomes[0].seen) == (3, 0)
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


def test_the_state_is_written_once_at_the_start_and_once_at_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Written after every feed, the state cost each feed the encoding of all the others.
    monkeypatch.setattr(pipeline, "STATE_SAVE_INTERVAL", 3600.0)
    saved: list[int] = []

    class StateCountingDisk(Disk):
        """The real disk; the number of feeds in each state file written."""

        def write_temporary(self, path: Path, data: bytes) -> Path:
            if path.name == "state.json":
                saved.append(len(json.loads(data)["feeds"]))
            return super().write_temporary(path, data)

    report = run(tmp_path, per_host(), many_feeds(30), StateCountingDisk())
    assert len(report.outcomes) == 30 and not report.failed
    assert saved == [1, 30]
    state = json.loads((tmp_path / ".archiver" / "state.json").read_text())
    assert sorted(state["feeds"]) == sorted(f"f{i}" for i in range(30))
    assert {feed["etag"] for feed in state["feeds"].values()} == {'"v1"'}


def test_a_run_stopped_by_a_full_disk_keeps_the_state_of_the_feeds_it_finished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "STATE_SAVE_INTERVAL", 3600.0)
    # Entries fill the disk; the state file, a few hundred bytes, still fits.
    full_after_ten = FaultyDisk("write", after=10, where=lambda path: path.name != "state.json")
    report = run(tmp_path, per_host(), many_feeds(30), full_after_ten)
    assert report.aborted is not None and "No space left on device" in report.aborted
    finished = {o.name for o in report.outcomes if o.status is Status.OK}
    assert 0 < len(finished) < 30
    state = json.loads((tmp_path / ".archiver" / "state.json").read_text())
    assert set(state["feeds"]) == finished


def test_an_entry_that_breaks_conversion_costs_only_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = document.build_document

    def build(entry: Entry, **kwargs: Any) -> Document:
        if entry.title == "bad":
            raise RecursionError("maximum recursion depth exceeded")
        return original(entry, **kwargs)

    monkeypatch.setattr(document, "build_document", build)
    report = run(tmp_path, serve(rss("good", "bad", "also-good"), {"ETag": '"v1"'}))
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


def test_not_modified_parses_nothing_and_keeps_validators(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(tmp_path, serve(rss("a"), {"ETag": '"v1"'}))
    state = (tmp_path / ".archiver" / "state.json").read_bytes()

    def no_parsing(*args: object, **kwargs: object) -> None:
        raise AssertionError("a 304 must not be parsed")

    monkeypatch.setattr(parse, "parse_feed", no_parsing)
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("if-none-match"))
        return httpx.Response(304)

    report = run(tmp_path, httpx.MockTransport(handler))
    assert seen == ['"v1"']
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


def test_a_run_that_releases_its_workers_stops_them_before_the_index_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = parse_config(f"defaults:\n  workers: 2\nfeeds:\n  - name: f\n    url: {FEED_URL}\n")
    alive_while_indexing = []
    real_rebuild = pipeline.rebuild_index

    def rebuild(*args: Any, **kwargs: Any) -> list[str]:
        alive_while_indexing.append(2 in workers._pools)
        return real_rebuild(*args, **kwargs)

    monkeypatch.setattr(pipeline, "rebuild_index", rebuild)

    def archive(out: Path, *, release: bool) -> RunReport:
        options = RunOptions(output=out, release_workers=release)
        return asyncio.run(
            run_async(config, options, transport=serve(rss("a", "b")), clock=lambda: FIXED_NOW)
        )

    assert archive(tmp_path / "kept", release=False).new == 2
    assert archive(tmp_path / "released", release=True).new == 2
    assert alive_while_indexing == [True, False]
    assert 2 not in workers._pools
    assert archive(tmp_path / "again", release=True).new == 2  # a new pool serves the next


def test_worker_processes_start_only_for_a_feed_that_needs_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = f"defaults:\n  workers: 2\nfeeds:\n  - name: f\n    url: {FEED_URL}\n"
    started: list[int] = []
    real_pool = workers._shared_pool

    def pool(count: int) -> Any:
        started.append(count)
        return real_pool(count)

    monkeypatch.setattr(workers, "_shared_pool", pool)
    body = rss("a", "b")  # no validators: the second run gets the same bytes again
    assert run(tmp_path, serve(body), config).new == 2
    assert started == [2]
    assert run(tmp_path, serve(body), config).outcomes[0].status is Status.NOT_MODIFIED
    assert started == [2], "an unchanged feed started the workers"
    assert run(tmp_path, serve(rss("a", "b", "c")), config).new == 1
    assert started == [2, 2]


def test_the_archive_s_ids_are_read_while_the_feeds_download(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = run(tmp_path, serve(rss("a", "b")))
    assert first.new == 2
    requested = threading.Event()
    real_ids = store.Archive.archived_ids

    def ids_once_a_feed_is_requested(self: store.Archive, **kwargs: Any) -> Any:
        assert requested.wait(timeout=10), "the feeds waited for the archive's ids"
        return real_ids(self, **kwargs)

    def feed(request: httpx.Request) -> httpx.Response:
        requested.set()
        return streamed(200, content=rss("a", "b", "c"))

    monkeypatch.setattr(store.Archive, "archived_ids", ids_once_a_feed_is_requested)
    again = run(tmp_path, httpx.MockTransport(feed))
    assert (again.new, again.seen) == (1, 2)


def test_the_same_body_again_costs_no_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = rss("a", "b")  # served without validators: every request gets a 200
    first = run(tmp_path, serve(body))
    assert first.outcomes[0].new == 2

    def no_parsing(*args: object, **kwargs: object) -> None:
        raise AssertionError("the same bytes must not be parsed again")

    monkeypatch.setattr(parse, "parse_feed", no_parsing)
    again = run(tmp_path, serve(body))
    assert again.outcomes[0].status is Status.NOT_MODIFIED
    assert again.outcomes[0].http_status == 200
    assert not again.failed

    monkeypatch.undo()
    changed = run(tmp_path, serve(rss("a", "b", "c")))
    assert (changed.outcomes[0].new, changed.outcomes[0].seen) == (1, 2)


def test_the_same_unreadable_body_again_fails_the_same_way_unparsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = b"<html><head><title>We moved</title></head><body>See our new site</body></html>"
    html = {"content-type": "text/html"}
    first = run(tmp_path, serve(page, html))
    assert first.outcomes[0].status is Status.FAILED
    reason = first.outcomes[0].error
    assert reason and reason.startswith("not a feed: got an HTML page")
    state_file = tmp_path / ".archiver" / "state.json"
    state_before = state_file.read_bytes()

    def no_parsing(*args: object, **kwargs: object) -> None:
        raise AssertionError("the same unreadable bytes must not be parsed again")

    monkeypatch.setattr(parse, "parse_feed", no_parsing)
    again = run(tmp_path, serve(page, html))
    assert again.outcomes[0].status is Status.FAILED
    assert again.outcomes[0].error == reason
    assert again.health["f"].consecutive_failures == 2
    assert state_file.read_bytes() == state_before  # nothing new to commit

    # Anything that could read differently is parsed again: other bytes, another
    # Content-Type, another version of archiver.
    for body, headers in ((page + b" ", html), (page, {"content-type": "application/xml"})):
        with pytest.raises(AssertionError, match="must not be parsed again"):
            run(tmp_path, serve(body, headers))
    monkeypatch.setattr("archiver.__version__", "99.0.0")
    with pytest.raises(AssertionError, match="must not be parsed again"):
        run(tmp_path, serve(page, html))

    monkeypatch.undo()
    fixed = run(tmp_path, serve(rss("a")))
    assert fixed.outcomes[0].new == 1
    assert fixed.health["f"].unreadable_sha256 is None


def test_fetching_runs_ahead_of_conversion_only_so_far(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 40 feeds answer at once; conversion is slower. At no time may more feeds be
    # fetched and not yet archived than the fetch concurrency plus twice the parse slots.
    feeds = [f"https://h{i}.example.org/feed.xml" for i in range(40)]
    config = "defaults:\n  workers: 1\n  concurrency: 4\nfeeds:\n" + "".join(
        f"  - name: f{i}\n    url: {url}\n" for i, url in enumerate(feeds)
    )
    body = rss(*(f"item{j}" for j in range(30)))
    fetched, archived, most = 0, 0, 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal fetched, most
        fetched += 1
        most = max(most, fetched - archived)
        return streamed(200, content=body)

    real_archive_feed = pipeline._Run.archive_feed

    async def counted(self: pipeline._Run, *args: Any) -> FeedOutcome:
        nonlocal archived
        outcome = await real_archive_feed(self, *args)
        archived += 1
        return outcome

    monkeypatch.setattr(pipeline._Run, "archive_feed", counted)
    report = asyncio.run(
        run_async(
            parse_config(config),
            RunOptions(output=tmp_path),
            transport=httpx.MockTransport(handler),
            clock=lambda: FIXED_NOW,
        )
    )
    assert archived == 40 and not report.failed
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
    assert (report.new, report.seen) == (0, 1)
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
