"""The command line, used as a person or a scheduler uses it, against a real loopback server."""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup

from archiver import __version__
from archiver.archive.ids import id_from_name
from archiver.archive.store import Archive
from archiver.cli.main import (
    EXIT_FEED_FAILED,
    EXIT_INTERRUPTED,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_USAGE,
    main,
)

from .conftest import REPO_ROOT, FeedServer, Reply, shared_path, write_config

SEED_CATEGORIES = ["新媒体", "虎嗅", "首页资讯"]
PER_RUN_FILES = {"lock", "health.json"}


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def snapshot(root: Path) -> dict[str, str]:
    """Every file under `root` with a hash of its bytes, except the per-run files
    that the archive's .gitignore keeps out of Git (the lock, the feeds' health)."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name not in PER_RUN_FILES and ".git" not in p.parts
    }


def entries(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.md") if id_from_name(p.name))


def front_matter(path: Path) -> tuple[dict[str, object], str]:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    header, _, body = text[4:].partition("\n---\n")
    loaded = yaml.safe_load(header)
    assert isinstance(loaded, dict)
    return loaded, body


@pytest.fixture
def seed_feed(server: FeedServer) -> str:
    body = shared_path("seed", "huxiu-rsshub.xml").read_bytes()
    return server.feed(
        "/huxiu/article",
        body,
        content_type="application/rss+xml; charset=utf-8",
        etag='"seed-v1"',
    )


@pytest.fixture
def seed_config(tmp_path: Path, seed_feed: str) -> Path:
    return write_config(
        tmp_path / "feeds.yaml",
        f"feeds:\n  - name: huxiu\n    url: {seed_feed}\n"
        "    categories: [新媒体, 虎嗅, 首页资讯]\n",
    )


def test_seed_feed_gives_one_better_file(tmp_path: Path, seed_config: Path) -> None:
    out = tmp_path / "out"
    code, stdout, stderr = run_cli("run", "--config", str(seed_config), "--output", str(out))
    assert (code, stderr) == (EXIT_OK, "")
    assert "huxiu: 1 new, 1 already archived" in stdout
    assert stdout.splitlines()[-1] == (
        "archiver: feeds: 1 ok, 0 not modified, 0 failed; entries: 1 new, 1 already archived"
    )

    (path,) = entries(out)
    assert path.parent == out / "2021" / "06" / "20"
    assert path.name == "中国加密矿工-清退命运尘埃落定-61b020c61b8d24fa.md"
    matter, body = front_matter(path)
    assert matter["title"] == "中国加密矿工，清退命运尘埃落定"
    assert matter["author"] == "虎嗅"
    assert matter["date"] == "2021-06-20T23:59:00+00:00"
    assert datetime.fromisoformat(str(matter["date"])).tzinfo is not None
    assert matter["categories"] == SEED_CATEGORIES
    assert matter["url"] == "https://www.huxiu.com/article/436011.html"
    assert matter["id"] == "61b020c61b8d24fa"
    # The item's only <img> is the `undefined` placeholder: the feed's logo leads instead.
    assert matter["image"] == "https://www.huxiu.com/static_2015/img/logo.png"
    assert "undefined" not in path.read_text(encoding="utf-8")

    # Markdown, not HTML: headings as ###, bold as **, no tags left.
    assert "### 一、监管态度明确，火电水电一视同仁" in body
    assert "**视频里播放的是他们的“行刑现场”**" in body
    assert not re.search(r"<(div|p|span|img|h3|strong|a)\b", body)
    # Every Chinese sentence of the original survives.
    source = shared_path("seed", "000_b5ed156a56557f7e.md").read_text(encoding="utf-8")
    html = re.split(r"^---\s*$", source, maxsplit=2, flags=re.MULTILINE)[2]
    text = BeautifulSoup(html, "html.parser").get_text("\n")
    sentences = [s for s in re.split(r"[。\n]", text) if re.search(r"[\u4e00-\u9fff]", s)]
    assert len(sentences) > 40
    flat_body = body.replace("**", "").replace("\\", "")
    missing = [s.strip() for s in sentences if s.strip() not in flat_body]
    assert missing == []


def test_second_run_changes_nothing_and_git_stays_clean(
    tmp_path: Path, seed_config: Path, server: FeedServer
) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    out = tmp_path / "out"
    assert run_cli("run", "--config", str(seed_config), "--output", str(out))[0] == EXIT_OK
    git = ["git", "-C", str(out), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "archive"], check=True)
    before = snapshot(out)

    code, stdout, _ = run_cli("run", "--config", str(seed_config), "--output", str(out))
    assert code == EXIT_OK
    assert "huxiu: not modified" in stdout
    # The second request carried the stored validator and got a 304.
    assert server.hits("/huxiu/article")[-1].headers["if-none-match"] == '"seed-v1"'
    assert snapshot(out) == before
    status = subprocess.run(
        [*git, "status", "--porcelain"], check=True, capture_output=True, text=True
    )
    assert status.stdout == ""


def test_lost_state_never_creates_duplicates(tmp_path: Path, seed_config: Path) -> None:
    out = tmp_path / "out"
    run_cli("run", "--config", str(seed_config), "--output", str(out))
    files = entries(out)
    shutil.rmtree(out / ".archiver")
    code, stdout, _ = run_cli("run", "--config", str(seed_config), "--output", str(out))
    assert code == EXIT_OK
    assert "huxiu: 0 new, 2 already archived" in stdout
    assert entries(out) == files


def test_corrupt_state_is_set_aside_and_the_run_goes_on(tmp_path: Path, seed_config: Path) -> None:
    out = tmp_path / "out"
    run_cli("run", "--config", str(seed_config), "--output", str(out))
    (out / ".archiver" / "state.json").write_text('{"version": 1, "feeds": {"huxiu": ')
    code, _, stderr = run_cli("run", "--config", str(seed_config), "--output", str(out))
    assert code == EXIT_OK
    assert "state file" in stderr and "damaged" in stderr
    assert len(entries(out)) == 1
    assert list((out / ".archiver").glob("state.json.corrupt-*"))


def test_dry_run_writes_nothing(tmp_path: Path, seed_config: Path) -> None:
    out = tmp_path / "out"
    code, stdout, _ = run_cli(
        "run", "--config", str(seed_config), "--output", str(out), "--dry-run"
    )
    assert code == EXIT_OK
    assert "huxiu: 1 new, 1 already archived" in stdout
    assert "dry run, nothing written" in stdout
    assert not out.exists()


def test_failing_feed_is_reported_and_the_others_archived(
    tmp_path: Path, seed_feed: str, server: FeedServer
) -> None:
    missing = server.url("/gone.xml")
    broken = server.route("/broken.xml", lambda request: Reply(200, b"<html>oops</html>"))
    config = write_config(
        tmp_path / "feeds.yaml",
        f"""\
defaults:
  retries: 0
feeds:
  - name: missing
    url: {missing}
  - name: huxiu
    url: {seed_feed}
  - name: broken
    url: {broken}
""",
    )
    out = tmp_path / "out"
    code, stdout, stderr = run_cli("run", "--config", str(config), "--output", str(out))
    assert code == EXIT_FEED_FAILED
    assert len(entries(out)) == 1
    lines = stderr.splitlines()
    assert (
        "archiver: feed 'missing' failed: HTTP 404 Not Found (the feed is not at this" in lines[0]
    )
    assert any(line.startswith("archiver: feed 'broken' failed: not a feed") for line in lines)
    assert "feeds: 1 ok, 0 not modified, 2 failed" in stdout
    state = (out / ".archiver" / "state.json").read_text()
    assert '"failing_since"' in state and "HTTP 404" in state


def test_unreachable_feeds_fail_one_line_each_and_quickly(tmp_path: Path) -> None:
    # Ports on loopback where nothing listens: connection refused at once.
    config = write_config(
        tmp_path / "feeds.yaml",
        "defaults:\n  retries: 0\nfeeds:\n"
        + "".join(f"  - name: f{i}\n    url: http://127.0.0.1:9/{i}.xml\n" for i in range(4)),
    )
    code, _, stderr = run_cli("run", "--config", str(config), "--output", str(tmp_path / "o"))
    assert code == EXIT_FEED_FAILED
    failures = sorted(stderr.splitlines())
    assert len(failures) == 4
    assert all(
        re.match(r"archiver: feed 'f\d' failed: cannot connect to 127\.0\.0\.1", f)
        for f in failures
    )


def test_same_article_in_two_feeds_is_one_file(tmp_path: Path, server: FeedServer) -> None:
    item = (
        "<item><title>{title}</title><link>https://example.org/story{suffix}</link>"
        "<pubDate>Mon, 01 Jan 2024 00:00:00 GMT</pubDate><description>text</description></item>"
    )
    urls = [
        server.feed(
            f"/{name}.xml",
            (
                "<rss version='2.0'><channel><title>x</title>"
                + item.format(title=name, suffix=suffix)
                + "</channel></rss>"
            ).encode(),
        )
        for name, suffix in (("first", ""), ("second", "?utm_campaign=x#top"))
    ]
    config = write_config(
        tmp_path / "feeds.yaml",
        f"feeds:\n  - name: a\n    url: {urls[0]}\n  - name: b\n    url: {urls[1]}\n",
    )
    code, stdout, _ = run_cli("run", "--config", str(config), "--output", str(tmp_path / "out"))
    assert code == EXIT_OK
    assert len(entries(tmp_path / "out")) == 1
    assert "entries: 1 new, 1 already archived" in stdout


def test_feed_option_selects_feeds(tmp_path: Path, seed_feed: str, server: FeedServer) -> None:
    config = write_config(
        tmp_path / "feeds.yaml",
        f"feeds:\n  - name: huxiu\n    url: {seed_feed}\n"
        f"  - name: other\n    url: {server.url('/other.xml')}\n",
    )
    code, stdout, _ = run_cli(
        "run", "--config", str(config), "--output", str(tmp_path / "o"), "--feed", "huxiu"
    )
    assert code == EXIT_OK
    assert server.hits("/other.xml") == []
    assert "feeds: 1 ok" in stdout


def test_unknown_feed_name_is_a_usage_error(tmp_path: Path, seed_config: Path) -> None:
    code, _, stderr = run_cli("run", "--config", str(seed_config), "--feed", "nope")
    assert code == EXIT_USAGE
    assert "no feed named 'nope'" in stderr and "known: huxiu" in stderr


def test_config_error_exits_2_naming_file_line_and_key(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "feeds.yaml",
        "feeds:\n  - name: x\n    url: https://e.org/f\n    catgories: [a]\n",
    )
    for command in ("run", "check"):
        code, stdout, stderr = run_cli(command, "--config", str(config))
        assert code == EXIT_USAGE
        assert stdout == ""
        assert stderr.strip() == (
            f"archiver: {config}:4: feeds[0].catgories: unknown key; did you mean 'categories'?"
        )


def test_check_validates_without_the_network(seed_config: Path, server: FeedServer) -> None:
    code, stdout, _ = run_cli("check", "--config", str(seed_config))
    assert code == EXIT_OK
    assert stdout == f"{seed_config}: 1 feed, configuration OK\n"
    assert server.requests == []


def test_a_held_lock_exits_3(tmp_path: Path, seed_config: Path, server: FeedServer) -> None:
    out = tmp_path / "out"
    with Archive(out).lock():
        code, _, stderr = run_cli("run", "--config", str(seed_config), "--output", str(out))
    assert code == EXIT_LOCKED
    assert "another run holds the lock" in stderr
    assert server.requests == []


def test_usage_errors_exit_2() -> None:
    with pytest.raises(SystemExit) as caught:
        run_cli("run", "--no-such-option")
    assert caught.value.code == EXIT_USAGE


def test_version() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "archiver", "--version"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )
    assert completed.returncode == 0
    assert completed.stdout.strip() == f"archiver {__version__}"


def test_ctrl_c_while_the_command_imports_its_modules_ends_in_one_line() -> None:
    # Ctrl-C lands at a random moment of the imports; here, at the import of the CLI.
    interrupt_the_import = textwrap.dedent(
        """
        import builtins, sys
        real_import = builtins.__import__

        def interrupted(name, *args, **kwargs):
            if name == "archiver.cli.main":
                raise KeyboardInterrupt
            return real_import(name, *args, **kwargs)

        builtins.__import__ = interrupted
        import archiver
        sys.exit(archiver.main())
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", interrupt_the_import],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )
    assert completed.returncode == EXIT_INTERRUPTED
    assert completed.stderr == "archiver: interrupted\n"


def test_the_command_is_archiver_main() -> None:
    # What pip installs as `archiver`: the entry that catches a Ctrl-C during imports.
    pyproject = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    scripts = re.search(r"^\[project\.scripts\]\n((?:[^\[\n].*\n)*)", pyproject, re.MULTILINE)
    assert scripts is not None
    assert scripts.group(1).strip() == 'archiver = "archiver:main"'


def test_entry_without_a_date_is_dated_when_first_archived(
    tmp_path: Path, server: FeedServer
) -> None:
    url = server.feed(
        "/nodate.xml",
        b"<rss version='2.0'><channel><title>x</title><item><title>t</title>"
        b"<link>https://example.org/undated</link></item></channel></rss>",
    )
    config = write_config(tmp_path / "feeds.yaml", f"feeds:\n  - name: n\n    url: {url}\n")
    run_cli("run", "--config", str(config), "--output", str(tmp_path / "out"))
    (path,) = entries(tmp_path / "out")
    matter, _ = front_matter(path)
    archived = datetime.fromisoformat(str(matter["date"]))
    assert abs((datetime.now(timezone.utc) - archived).total_seconds()) < 600
    assert path.parent.name == f"{archived.day:02d}"


def test_ctrl_c_outside_a_run_says_so_in_one_line(tmp_path: Path) -> None:
    # A config that is a pipe: the command waits in reading it, outside any run, until
    # the Ctrl-C a person would type.
    config = tmp_path / "feeds.yaml"
    os.mkfifo(config)
    command = subprocess.Popen(
        [sys.executable, "-m", "archiver", "check", "--config", str(config)],
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    with open(config, "w", encoding="utf-8"):  # returns once the command opens it
        command.send_signal(signal.SIGINT)
        _, stderr = command.communicate(timeout=60)
    assert (command.returncode, stderr) == (EXIT_INTERRUPTED, "archiver: interrupted\n")


@pytest.mark.parametrize(
    ("release", "kept"),
    [
        pytest.param(True, False, id="the archiver command, about to exit, stops them"),
        pytest.param(False, True, id="a program running commands in-process keeps them"),
    ],
)
def test_the_worker_processes_are_released_when_main_is_told_so(
    tmp_path: Path, seed_feed: str, release: bool, kept: bool
) -> None:
    # Three workers: a pool of its own, not the one the other tests share.
    config = write_config(
        tmp_path / "feeds.yaml",
        f"defaults:\n  workers: 3\nfeeds:\n  - name: huxiu\n    url: {seed_feed}\n",
    )
    before = set(multiprocessing.active_children())
    run = ["run", "--config", str(config), "--output", str(tmp_path / "out")]
    code = main(run, stdout=io.StringIO(), stderr=io.StringIO(), release_workers=release)
    assert code == EXIT_OK
    assert bool(set(multiprocessing.active_children()) - before) is kept
    if kept:  # stopped by a command told to, for the tests after this one
        main([*run, "--output", str(tmp_path / "again")], release_workers=True)
        assert set(multiprocessing.active_children()) <= before
