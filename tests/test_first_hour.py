"""A new user's first hour: starting from no config at all, and the help and
messages met on the way, used as a person uses the command."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from archiver.archive.ids import id_from_name
from archiver.cli.main import EXIT_OK, EXIT_USAGE, main
from archiver.config.keys import FEED_KEYS, RUN_KEYS
from archiver.config.load import load_config, parse_config
from archiver.config.model import Config, FeedConfig
from archiver.config.starter import CONFIG_TEMPLATE

from .conftest import REPO_ROOT, FeedServer, Reply

RSS = (
    b"<rss version='2.0'><channel><title>Loopback Blog</title>"
    b"<item><title>Hello</title><link>https://example.org/hello</link>"
    b"<pubDate>Mon, 01 Jan 2024 10:00:00 GMT</pubDate><description>First post.</description>"
    b"</item></channel></rss>"
)
NO_FEEDS_YET = "no feeds yet; add one with `archiver add URL`"
# Lines that contradict themselves or show a crash; none may reach a new user.
CONTRADICTIONS = ("Traceback", "got a list", "no such file", "1 feeds", "1 entries", "1 errors")


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(args), stdout=out, stderr=err), out.getvalue(), err.getvalue()


def uncommented(template: str) -> str:
    """The template with every commented default (`  # key: value  # why`) switched on."""
    return re.sub(r"^  # (?=\w+: )", "  ", template, flags=re.MULTILINE)


def test_init_writes_a_commented_config_that_check_accepts(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    code, stdout, stderr = cli("init", "--config", str(path))
    assert (code, stderr) == (EXIT_OK, "")
    assert (
        stdout == f"wrote {path}: no feeds yet; add one with `archiver add URL --config {path}`\n"
    )
    assert path.read_text(encoding="utf-8") == CONFIG_TEMPLATE
    code, stdout, _ = cli("check", "--config", str(path))
    assert code == EXIT_OK
    assert stdout == (
        f"{path}: configuration OK, no feeds yet; add one with `archiver add URL --config {path}`\n"
    )


def test_init_never_overwrites_a_config(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds: []  # mine\n")
    code, stdout, stderr = cli("init", "--config", str(path))
    assert (code, stdout) == (EXIT_USAGE, "")
    assert stderr == f"archiver: {path}: already exists; not overwritten\n"
    assert path.read_text() == "feeds: []  # mine\n"


def test_the_templates_commented_defaults_are_the_codes_defaults() -> None:
    text = uncommented(CONFIG_TEMPLATE)
    switched_on = re.findall(r"^  (\w+): ", text, flags=re.MULTILINE)
    assert len(switched_on) >= 15  # the pattern above found the commented lines
    config = parse_config(
        text.replace("feeds: []", "feeds:\n  - name: x\n    url: https://e.org/f")
    )
    (feed,) = config.feeds
    assert feed == FeedConfig(name="x", url="https://e.org/f")
    assert config == Config(source=config.source, feeds=config.feeds)
    # Every key it switches on is a real setting, each given once.
    assert set(switched_on) <= {*FEED_KEYS, *RUN_KEYS} and len(switched_on) == len(set(switched_on))


def test_a_template_default_that_drifts_is_caught() -> None:
    # What the test above relies on: a wrong value in the template makes a different config.
    text = uncommented(CONFIG_TEMPLATE.replace("# retries: 2 ", "# retries: 3 "))
    config = parse_config(
        text.replace("feeds: []", "feeds:\n  - name: x\n    url: https://e.org/f")
    )
    assert config.feeds[0] != FeedConfig(name="x", url="https://e.org/f")


def test_run_and_status_with_no_feeds_say_how_to_add_one(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds: []\n")
    out = tmp_path / "out"
    for command in ("run", "status"):
        code, stdout, stderr = cli(command, "--config", str(path), "--output", str(out))
        assert (code, stderr) == (EXIT_OK, "")
        assert stdout == f"{path}: {NO_FEEDS_YET[:-1]} --config {path}`\n"
    assert not out.exists()


def test_add_creates_the_missing_config_and_says_so(tmp_path: Path, server: FeedServer) -> None:
    feed = server.feed("/feed.xml", RSS)
    path = tmp_path / "feeds.yaml"
    code, stdout, stderr = cli("add", feed, "--config", str(path))
    assert (code, stderr) == (EXIT_OK, "")
    assert stdout.splitlines() == [
        f"created {path} (there was none)",
        f"added loopback-blog: {feed}",
    ]
    text = path.read_text(encoding="utf-8")
    assert text.startswith(CONFIG_TEMPLATE.removesuffix("feeds: []\n"))  # the comments stay
    assert text.endswith(f"feeds:\n  - name: loopback-blog\n    url: {feed}\n")
    assert [f.name for f in load_config(path).feeds] == ["loopback-blog"]


def test_add_creates_nothing_when_no_feed_is_found(tmp_path: Path, server: FeedServer) -> None:
    path = tmp_path / "feeds.yaml"
    code, _, stderr = cli("add", server.url("/nothing/"), "--config", str(path))
    assert code == 1 and stderr.startswith("archiver: cannot fetch ")
    assert not path.exists()


def test_index_needs_no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.chdir(tmp_path)  # where no feeds.yaml is
    code, stdout, stderr = cli("index", "--output", str(out))
    assert (code, stderr) == (EXIT_OK, "")
    assert stdout == f"{out}: 1 index page written\n"


def test_check_of_an_archive_that_is_not_there(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds: []\n")
    missing = tmp_path / "nonexistent"
    code, _, stderr = cli("check", "--config", str(path), "--output", str(missing))
    assert code == EXIT_USAGE
    assert stderr == f"archiver: {missing}: no archive there (no such folder)\n"
    missing.mkdir()
    code, stdout, _ = cli("check", "--config", str(path), "--output", str(missing))
    assert code == EXIT_OK
    assert stdout.splitlines()[-1] == f"{missing}: no archived files yet"


def test_index_and_status_of_an_archive_that_is_not_there(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - name: a\n    url: https://example.org/feed.xml\n")
    missing = tmp_path / "nowhere"
    for command in (("index",), ("status", "--config", str(path))):
        code, stdout, stderr = cli(*command, "--output", str(missing))
        assert (code, stdout) == (EXIT_USAGE, ""), command
        assert stderr == f"archiver: {missing}: no archive there (no such folder)\n"
    assert not missing.exists()  # index made no archive there


COMMANDS = (
    "init",
    "run",
    "add",
    "remove",
    "import-opml",
    "export-opml",
    "index",
    "check",
    "status",
)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_commands_help_describes_it_and_shows_its_defaults(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    output = capsys.readouterr().out
    description = " ".join(output.split("\n\n")[1].split())  # the paragraph after the usage
    assert re.fullmatch(r"[A-Z][^\n]+\.", description), output
    text = " ".join(output.split())  # argparse wraps to the terminal's width
    rest = text.partition(" options: ")[2]
    if command != "index":
        assert "--config PATH the list of feeds (default: feeds.yaml)" in text
    if command in ("run", "status", "index"):
        assert "--output DIR the archive's folder (default: output)" in text
    for option in ("--feed", "--category"):
        if f"{option} " in rest:
            assert re.search(rf"{option} \w+ [^-]*\(repeatable\)", rest), text


def test_top_level_help_lists_every_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert (
        "Exit status: 0 all feeds fetched, 1 some feed failed, 2 usage or config error, "
        "3 another run holds the archive's lock, 130 or 143 stopped by Ctrl-C or SIGTERM."
    ) in text


def test_from_nothing_to_an_archived_feed(tmp_path: Path, server: FeedServer) -> None:
    """The acceptance path: a folder with no config, the real command, a blog's home page."""
    feed = server.feed("/blog/feed.xml", RSS)
    server.always(
        "/blog/",
        Reply(
            200,
            b"<html><head><title>Blog</title><link rel='alternate' "
            b"type='application/rss+xml' title='Loopback Blog' href='feed.xml'></head>"
            b"<body>Welcome</body></html>",
            {"Content-Type": "text/html"},
        ),
    )
    seen = []

    def archiver(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "archiver", *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            check=False,
            timeout=120,
        )
        seen.append(done.stdout + done.stderr)
        assert (done.returncode, done.stderr) == (0, ""), done.stdout + done.stderr
        return done.stdout

    assert archiver("init") == f"wrote feeds.yaml: {NO_FEEDS_YET}\n"
    assert archiver("check") == f"feeds.yaml: configuration OK, {NO_FEEDS_YET}\n"
    assert archiver("add", server.url("/blog/")) == f"added loopback-blog: {feed}\n"
    assert archiver("run").splitlines() == [
        "loopback-blog: 1 new, 0 already archived",
        "archiver: feeds: 1 ok, 0 not modified, 0 failed; entries: 1 new, 0 already archived",
    ]
    (entry,) = [p for p in (tmp_path / "output").rglob("*.md") if id_from_name(p.name)]
    assert "First post." in entry.read_text(encoding="utf-8")
    assert "feeds.yaml: 1 feed, configuration OK" in archiver("check")
    for text in seen:
        for line in CONTRADICTIONS:
            assert line not in text


@pytest.mark.parametrize(
    ("url", "said"),
    [
        pytest.param(
            "example.org/blog",
            "expected an http:// or https:// URL, got 'example.org/blog'; "
            "did you mean 'https://example.org/blog'?",
            id="no-scheme",
        ),
        pytest.param(
            "ftp://example.org/feed",
            "expected an http:// or https:// URL, got 'ftp://example.org/feed'",
            id="other-scheme",
        ),
    ],
)
def test_add_of_an_address_that_is_no_web_url(tmp_path: Path, url: str, said: str) -> None:
    config = tmp_path / "feeds.yaml"
    code, stdout, stderr = cli("add", url, "--config", str(config))
    assert (code, stdout) == (EXIT_USAGE, "")
    assert stderr == f"archiver: {said}\n"
    assert not config.exists()
