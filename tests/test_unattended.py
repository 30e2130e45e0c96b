"""Running unattended from cron or GitHub Actions: the lock, logs, reports, health
and the README and month pages, through the CLI against a loopback server."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import unquote

import pytest

from archiver.archive.catalog import Catalog
from archiver.archive.health import feed_statuses, next_health
from archiver.archive.ids import id_from_name
from archiver.cli.main import EXIT_FEED_FAILED, EXIT_LOCKED, EXIT_OK, main
from archiver.config.model import FeedConfig
from archiver.models import CatalogEntry, FeedHealth, FeedOutcome, Status

from .conftest import REPO_ROOT, FeedServer, Reply, write_config


def rss(*titles: str, date: str = "Mon, 01 Jan 2024 10:00:00 GMT") -> bytes:
    items = "".join(
        f"<item><title>{t}</title><link>https://example.org/{t}</link><pubDate>{date}</pubDate>"
        "<description>text</description></item>"
        for t in titles
    )
    return f"<rss version='2.0'><channel><title>x</title>{items}</channel></rss>".encode()


def cli(*args: str, tty: bool = False) -> tuple[int, str, str]:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return tty

    out, err = Terminal(), Terminal()
    code = main(list(args), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def two_feeds(server: FeedServer, tmp_path: Path) -> Path:
    good = server.feed("/good", rss("alpha", "beta"))
    bad = server.url("/bad")  # 404
    return write_config(
        tmp_path / "feeds.yaml",
        f"defaults:\n  retries: 0\nfeeds:\n  - name: good\n    url: {good}\n"
        f"  - name: bad\n    url: {bad}\n",
    )


def run_args(config: Path, out: Path, *extra: str) -> list[str]:
    return ["run", "--config", str(config), "--output", str(out), *extra]


def test_two_runs_started_together_one_archives_the_other_exits_3(
    server: FeedServer, tmp_path: Path
) -> None:
    slow = server.route("/slow", lambda r: _slowly(Reply(200, rss("one", "two"))))
    config = write_config(tmp_path / "feeds.yaml", f"feeds:\n  - name: slow\n    url: {slow}\n")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "archiver", *run_args(config, out)]
    first = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    second = subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    results = []
    for process in (first, second):
        stdout, stderr = process.communicate(timeout=60)
        results.append((process.returncode, stdout.decode(), stderr.decode()))
    assert sorted(code for code, _, _ in results) == [EXIT_OK, EXIT_LOCKED]
    locked = next(r for r in results if r[0] == EXIT_LOCKED)
    assert locked[1] == ""
    assert len(locked[2].splitlines()) == 1
    assert "another run holds the lock" in locked[2]
    assert len(server.hits("/slow")) == 1
    assert len([p for p in out.rglob("*.md") if id_from_name(p.name)]) == 2


def _slowly(reply: Reply) -> Reply:
    time.sleep(1.5)  # the server keeps the first run busy, inside its lock
    return reply


def test_wait_lets_the_second_run_go_after_the_first(server: FeedServer, tmp_path: Path) -> None:
    slow = server.route("/slow", lambda r: _slowly(Reply(200, rss("one"))))
    config = write_config(tmp_path / "feeds.yaml", f"feeds:\n  - name: slow\n    url: {slow}\n")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "archiver", *run_args(config, out)]
    first = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE)
    assert first.stdout is not None
    deadline = time.monotonic() + 30
    while not (out / ".archiver" / "lock").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    second = subprocess.run(
        [*command, "--wait", "30"], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    first.communicate(timeout=60)
    assert (first.returncode, second.returncode) == (EXIT_OK, EXIT_OK)
    assert "slow: not modified" in second.stdout  # the same bytes again: nothing to parse


def test_report_json_lists_every_feed(two_feeds: Path, tmp_path: Path) -> None:
    report_path = tmp_path / "reports" / "run.json"
    code, _, _ = cli(*run_args(two_feeds, tmp_path / "out", "--report", str(report_path)))
    assert code == EXIT_FEED_FAILED
    report = json.loads(report_path.read_text())
    assert report["started"] <= report["finished"]
    feeds = {f["name"]: f for f in report["feeds"]}
    assert set(feeds) == {"good", "bad"}
    good, bad = feeds["good"], feeds["bad"]
    assert (good["status"], good["http_status"], good["new"], good["not_modified"]) == (
        "ok",
        200,
        2,
        False,
    )
    assert good["bytes"] == len(rss("alpha", "beta"))
    assert good["elapsed"] >= 0
    assert good["error"] is None
    assert (bad["status"], bad["http_status"]) == ("failed", 404)
    assert bad["error"].startswith("HTTP 404")
    assert report["summary"]["entries"] == {
        "new": 2,
        "already_archived": 0,
        "filtered": 0,
        "updated": 0,
    }


def test_github_actions_summary_and_annotations(
    two_feeds: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    _, stdout, _ = cli(*run_args(two_feeds, tmp_path / "out"))
    table = summary.read_text()
    assert "| | Feed | New | Already archived | Note |" in table
    assert re.search(r"\| ❌ \| bad \| 0 \| 0 \| HTTP 404", table)
    assert "| ✅ | good | 2 | 0 |" in table
    assert "::warning title=feed bad failed::HTTP 404 Not Found" in stdout


def test_no_github_output_outside_actions(
    two_feeds: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    _, stdout, _ = cli(*run_args(two_feeds, tmp_path / "out"))
    assert "::warning" not in stdout


def test_fail_after_pages_nobody_for_one_blip(two_feeds: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert cli(*run_args(two_feeds, out, "--fail-after", "2"))[0] == EXIT_OK
    assert cli(*run_args(two_feeds, out, "--fail-after", "2"))[0] == EXIT_FEED_FAILED
    assert cli(*run_args(two_feeds, out))[0] == EXIT_FEED_FAILED  # default 1


def test_status_json_reports_consecutive_failures(two_feeds: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    cli(*run_args(two_feeds, out))
    cli(*run_args(two_feeds, out))
    code, stdout, _ = cli("status", "--config", str(two_feeds), "--output", str(out), "--json")
    assert code == EXIT_OK
    rows = {row["name"]: row for row in json.loads(stdout)["feeds"]}
    assert rows["bad"]["consecutive_failures"] == 2
    assert rows["bad"]["last_status"] == 404
    assert rows["bad"]["last_success"] is None
    assert rows["good"]["consecutive_failures"] == 0
    assert rows["good"]["entries"] == 2
    assert rows["good"]["newest_entry"] == "2024-01-01T10:00:00+00:00"
    assert rows["good"]["validators"] is False  # the loopback feed sends none

    code, stdout, _ = cli("status", "--config", str(two_feeds), "--output", str(out))
    lines = stdout.splitlines()
    assert lines[0].split() == [
        "feed",
        "last",
        "success",
        "HTTP",
        "fails",
        "entries",
        "newest",
        "validators",
    ]
    assert re.match(r"bad\s+never\s+404\s+2\s+0\s+-\s+no", lines[2])


def test_status_flags_silence_long_failures_and_moves(server: FeedServer, tmp_path: Path) -> None:
    new = server.feed("/new", rss("old-post", date="Mon, 01 Jan 2001 00:00:00 GMT"))
    moved = server.always("/moved", Reply(301, headers={"Location": "/new"}))
    config = write_config(tmp_path / "feeds.yaml", f"feeds:\n  - name: m\n    url: {moved}\n")
    out = tmp_path / "out"
    cli(*run_args(config, out))
    _, stdout, _ = cli("status", "--config", str(config), "--output", str(out), "--json")
    (row,) = json.loads(stdout)["feeds"]
    assert row["moved_to"] == new
    assert f"moved: replace its url with {new}" in row["flags"]
    assert any(flag.startswith("silent") for flag in row["flags"])


def test_quiet_verbose_and_json_logs(two_feeds: Path, tmp_path: Path) -> None:
    _, stdout, stderr = cli(*run_args(two_feeds, tmp_path / "q", "-q"))
    assert stdout == ""
    assert stderr.startswith("archiver: feed 'bad' failed: HTTP 404")

    _, stdout, _ = cli(*run_args(two_feeds, tmp_path / "v", "-v"))
    assert re.search(r"^  \+ 2024/01/01/alpha-[0-9a-f]{16}\.md$", stdout, re.MULTILINE)

    _, stdout, stderr = cli(*run_args(two_feeds, tmp_path / "j", "--log-format", "json"))
    records = [json.loads(line) for line in stdout.splitlines()]
    assert stderr == ""
    assert {r["event"] for r in records} == {"feed", "summary"}
    by_name = {r["name"]: r for r in records if r["event"] == "feed"}
    assert by_name["bad"]["level"] == "error"
    assert by_name["good"]["new"] == 2
    assert records[-1]["entries"]["new"] == 2


def test_not_a_terminal_means_no_animation(two_feeds: Path, tmp_path: Path) -> None:
    _, stdout, stderr = cli(*run_args(two_feeds, tmp_path / "out"), tty=False)
    assert "\r" not in stdout + stderr and "\033[" not in stdout + stderr
    assert stdout.splitlines()[0] == "good: 2 new, 0 already archived"


def test_on_a_terminal_progress_and_a_colour_table(
    two_feeds: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    _, stdout, stderr = cli(*run_args(two_feeds, tmp_path / "out"), tty=True)
    assert "2/2 feeds, 2 entries written, 1 error\r" in stderr
    assert "\r\033[K" in stderr
    assert re.search(r"\033\[31mbad\s+failed\s+0\s+0\s+HTTP 404", stdout)
    assert re.search(r"\033\[32mgood\s+ok\s+2\s+0", stdout)


def test_pages_link_every_entry_and_stay_put(server: FeedServer, tmp_path: Path) -> None:
    url = server.feed("/f", rss("first", "second"))
    other = server.feed("/g", rss("third", date="Sat, 03 Feb 2024 00:00:00 GMT"))
    config = write_config(
        tmp_path / "feeds.yaml",
        f"feeds:\n  - name: f\n    url: {url}\n  - name: g\n    url: {other}\n",
    )
    out = tmp_path / "out"
    cli(*run_args(config, out))
    readme = (out / "README.md").read_text()
    entries = sorted(
        p.relative_to(out).as_posix() for p in out.rglob("*.md") if id_from_name(p.name)
    )
    links = sorted(unquote(link) for link in re.findall(r"\]\(([^)]+\.md)\)", readme))
    assert [link for link in links if id_from_name(link)] == entries
    assert "3 entries from 2 feeds" in readme
    assert "| f | 2 |" in readme and "| g | 1 |" in readme
    assert "[2024-02](2024/02/index.md) | 1 |" in readme
    january = (out / "2024/01/index.md").read_text()
    for link in re.findall(r"\]\(([^)]+\.md)\)", january):
        assert (out / "2024/01" / unquote(link)).resolve().exists()

    before = (out / "README.md").stat().st_mtime_ns
    cli(*run_args(config, out))  # nothing new: pages untouched
    assert (out / "README.md").stat().st_mtime_ns == before


def _item(title: str, date: str) -> str:
    return (
        f"<item><title>{title}</title><link>https://example.org/{title}</link>"
        f"<pubDate>{date}</pubDate></item>"
    )


def test_a_run_builds_the_pages_of_its_months_and_catches_up_stale_ones(
    server: FeedServer, tmp_path: Path
) -> None:
    january, february = "Mon, 01 Jan 2024 10:00:00 GMT", "Sat, 03 Feb 2024 10:00:00 GMT"
    march = "Fri, 01 Mar 2024 10:00:00 GMT"
    items = [_item("a", january), _item("b", january), _item("c", february)]
    body = "<rss version='2.0'><channel><title>x</title>{}</channel></rss>"
    url = server.feed("/f", body.format("".join(items)).encode())
    config = write_config(tmp_path / "feeds.yaml", f"feeds:\n  - name: f\n    url: {url}\n")
    out = tmp_path / "out"
    cli(*run_args(config, out))
    jan_page, feb_page = out / "2024/01/index.md", out / "2024/02/index.md"
    assert "2 entries." in jan_page.read_text() and "1 entry." in feb_page.read_text()
    # A month the run adds nothing to is left as it is, even when it differs from what
    # a rebuild would write...
    feb_page.write_text(feb_page.read_text() + "a note by hand\n")
    # ...unless its count no longer matches: an entry of January removed by hand.
    (january_file,) = list((out / "2024/01/01").glob("a-*.md"))
    january_file.unlink()
    server.feed("/f", body.format("".join([*items[1:], _item("d", march)])).encode())
    code, stdout, _ = cli(*run_args(config, out))
    assert code == EXIT_OK and "f: 1 new" in stdout
    assert "1 entry." in (out / "2024/03/index.md").read_text()
    assert "a note by hand" in feb_page.read_text()
    assert "1 entry." in jan_page.read_text() and "/a-" not in jan_page.read_text()
    readme = (out / "README.md").read_text()
    assert "3 entries from 1 feed," in readme and "[2024-01](2024/01/index.md) | 1 |" in readme

    code, stdout, _ = cli("index", "--config", str(config), "--output", str(out))
    assert code == EXIT_OK and stdout == f"{out}: 1 index page written\n"
    assert "a note by hand" not in feb_page.read_text()


def test_pages_can_be_switched_off(server: FeedServer, tmp_path: Path) -> None:
    url = server.feed("/f", rss("first"))
    config = write_config(
        tmp_path / "feeds.yaml", f"defaults:\n  index: false\nfeeds:\n  - name: f\n    url: {url}\n"
    )
    cli(*run_args(config, tmp_path / "out"))
    assert not (tmp_path / "out" / "README.md").exists()
    assert not list((tmp_path / "out").rglob("index.md"))


def test_catalog_is_rebuilt_from_the_files(server: FeedServer, tmp_path: Path) -> None:
    url = server.feed("/f", rss("first"))
    config = write_config(tmp_path / "feeds.yaml", f"feeds:\n  - name: f\n    url: {url}\n")
    out = tmp_path / "out"
    cli(*run_args(config, out))
    (out / ".archiver" / "catalog.jsonl").unlink()
    server.feed("/f", rss("first", "second"))
    cli(*run_args(config, out))
    readme = (out / "README.md").read_text()
    assert "first" in readme and "second" in readme
    assert len((out / ".archiver" / "catalog.jsonl").read_text().splitlines()) == 2


def test_a_catalog_line_cut_short_costs_only_itself(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path)
    entry = CatalogEntry("0123456789abcdef", "2024/01/01/a-0123456789abcdef.md", "a", "f", "2024")
    catalog.append([entry])
    with open(catalog.path, "a", encoding="utf-8") as handle:
        handle.write('{"id": "cut sho')  # a run killed mid-line
    second = CatalogEntry("fedcba9876543210", "2024/01/01/b-fedcba9876543210.md", "b", "f", "2024")
    catalog.append([second])
    on_disk = {entry.id: entry.path, second.id: second.path}
    assert catalog.reconcile(tmp_path, on_disk, persist=False) == {
        entry.id: entry,
        second.id: second,
    }


def test_status_writes_nothing(two_feeds: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    cli(*run_args(two_feeds, out))
    (out / ".archiver" / "catalog.jsonl").unlink()  # status must rebuild it in memory only
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    code, stdout, _ = cli("status", "--config", str(two_feeds), "--output", str(out), "--json")
    assert code == EXIT_OK
    rows = {row["name"]: row for row in json.loads(stdout)["feeds"]}
    assert rows["good"]["entries"] == 2
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_a_feed_with_no_entries_yet_is_a_success_with_nothing_new(
    server: FeedServer, tmp_path: Path
) -> None:
    url = server.feed("/new-blog", rss())
    config = write_config(tmp_path / "feeds.yaml", f"feeds:\n  - name: new-blog\n    url: {url}\n")
    out = tmp_path / "out"
    code, stdout, stderr = cli(*run_args(config, out))
    assert (code, stderr) == (EXIT_OK, "")
    assert stdout.splitlines() == [
        "new-blog: 0 new, 0 already archived",
        "archiver: feeds: 1 ok, 0 not modified, 0 failed; entries: 0 new, 0 already archived",
    ]
    status = ["status", "--config", str(config), "--output", str(out), "--json"]
    (row,) = json.loads(cli(*status)[1])["feeds"]
    assert (row["consecutive_failures"], row["flags"]) == (0, [])
    # Past --silent-days since it was first read, it is flagged like a feed gone quiet.
    (row,) = json.loads(cli(*status, "--silent-days", "0")[1])["feeds"]
    assert row["flags"] == ["silent: no new entry for more than 0 days"]


@pytest.mark.parametrize(("days", "flagged"), [(59, False), (61, True)])
def test_a_feed_that_never_had_an_entry_is_silent_from_its_first_success(
    days: int, flagged: bool
) -> None:
    now = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
    first = now - timedelta(days=days)
    health = {"f": FeedHealth(last_success=now, first_success=first)}
    (row,) = feed_statuses(
        [FeedConfig("f", "https://e.org/f")], {}, health, [], now=now, silent_days=60
    )
    assert bool(row.flags) is flagged


def test_first_success_is_kept_across_runs_and_failures() -> None:
    first, later = (datetime(2026, 1, d, tzinfo=timezone.utc) for d in (1, 2))
    ok = FeedOutcome("f", "https://e.org/f", Status.OK, http_status=200)
    failed = FeedOutcome("f", "https://e.org/f", Status.FAILED, http_status=500)
    health = next_health(None, ok, first)
    assert health.first_success == first
    assert next_health(next_health(health, failed, later), ok, later).first_success == first


def test_a_hugo_archive_has_section_pages_that_catch_up_as_the_default_ones(
    server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    january, february = "Mon, 01 Jan 2024 10:00:00 GMT", "Sat, 03 Feb 2024 10:00:00 GMT"
    items = [_item("a", january), _item("c", february)]
    body = "<rss version='2.0'><channel><title>x</title>{}</channel></rss>"
    url = server.feed("/f", body.format("".join(items)).encode())
    config = write_config(
        tmp_path / "feeds.yaml", f"defaults:\n  flavor: hugo\nfeeds:\n  - name: f\n    url: {url}\n"
    )
    out = tmp_path / "out"
    cli(*run_args(config, out))
    # Hugo's section pages: an index.md would make a month a leaf bundle.
    assert not (out / "README.md").exists() and not list(out.rglob("index.md"))
    feb_page = out / "2024/02/_index.md"
    assert feb_page.read_text().startswith("---\ntitle: 2024-02\n---\n")
    feb_page.write_text(feb_page.read_text() + "a note by hand\n")
    server.feed(
        "/f", body.format("".join([*items, _item("d", "Fri, 01 Mar 2024 10:00:00 GMT")])).encode()
    )
    code, stdout, _ = cli(*run_args(config, out))
    assert code == EXIT_OK and "f: 1 new" in stdout
    assert "1 entry." in (out / "2024/03/_index.md").read_text()
    assert "a note by hand" in feb_page.read_text()  # its count in _index.md still matches
    code, stdout, _ = cli("index", "--config", str(config), "--output", str(out))
    assert code == EXIT_OK and "1 index page written" in stdout
    assert "a note by hand" not in feb_page.read_text()
    # Without --config, the feeds.yaml of the folder says the form.
    feb_page.write_text(feb_page.read_text() + "a note by hand\n")
    monkeypatch.chdir(tmp_path)
    code, stdout, _ = cli("index", "--output", str(out))
    assert code == EXIT_OK and "1 index page written" in stdout
    assert not list(out.rglob("index.md")) and "a note by hand" not in feb_page.read_text()
