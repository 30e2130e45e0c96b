"""Managing subscriptions: OPML in and out, add, remove and moved feeds, editing
feeds.yaml with its comments kept."""

from __future__ import annotations

import io
from pathlib import Path
from xml.etree import ElementTree

import pytest

from archiver.cli.main import EXIT_OK, EXIT_USAGE, main
from archiver.config.load import load_config
from archiver.errors import ConfigError
from archiver.subscriptions import NewFeed, add_feed

from .conftest import FeedServer, Reply, write_config

CONFIG = """\
# My feeds: a comment that must survive every edit.
defaults:
  timezone: UTC   # dates in UTC

feeds:
  # The one I read first.
  - name: first
    url: https://example.org/first.xml
    categories: [News]
"""

OPML = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>Reader export</title></head><body>
  <outline text="Tech" title="Tech">
    <outline text="Blogs" title="Blogs">
      <outline type="rss" text="Daring Fireball" title="Daring Fireball"
               xmlUrl="https://daringfireball.net/feeds/main" htmlUrl="https://daringfireball.net/"/>
    </outline>
    <outline type="rss" text="Hacker News" xmlUrl="https://news.ycombinator.com/rss"/>
  </outline>
  <outline type="rss" text="First again" xmlUrl="HTTPS://EXAMPLE.ORG/first.xml?utm_source=x"/>
  <outline type="rss" text="Daring Fireball" xmlUrl="https://daringfireball.net/feeds/linked"/>
</body></opml>
"""

RSS = (
    b"<rss version='2.0'><channel><title>Loopback Blog</title>"
    b"<item><title>a</title></item></channel></rss>"
)

# A web page that advertises its feed, as `add` finds it.
BLOG_PAGE = Reply(
    200,
    b'<html><head><link rel="alternate" type="application/rss+xml" href="feed.xml">'
    b"</head><body>Hello</body></html>",
    {"Content-Type": "text/html"},
)


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(args), stdout=out, stderr=err), out.getvalue(), err.getvalue()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path / "feeds.yaml", CONFIG)


def feeds_of(path: Path) -> dict[str, tuple[str, tuple[str, ...]]]:
    return {f.name: (f.url, f.categories) for f in load_config(path).feeds}


def test_import_opml_keeps_comments_and_nests_folders_as_categories(
    config: Path, tmp_path: Path
) -> None:
    opml = tmp_path / "subscriptions.opml"
    opml.write_bytes(OPML)
    code, stdout, _ = cli("import-opml", str(opml), "--config", str(config))
    assert code == EXIT_OK
    assert "3 feeds added, 1 already there" in stdout
    text = config.read_text()
    for comment in ("# My feeds: a comment", "# dates in UTC", "# The one I read first."):
        assert comment in text
    assert text.startswith(CONFIG)  # the old lines untouched, the new ones appended
    assert feeds_of(config) == {
        "first": ("https://example.org/first.xml", ("News",)),
        "daring-fireball": ("https://daringfireball.net/feeds/main", ("Tech", "Blogs")),
        "hacker-news": ("https://news.ycombinator.com/rss", ("Tech",)),
        "daring-fireball-2": ("https://daringfireball.net/feeds/linked", ()),
    }


def test_import_opml_starts_a_config_where_there_is_none(tmp_path: Path) -> None:
    config, opml = tmp_path / "feeds.yaml", tmp_path / "subscriptions.opml"
    code, stdout, stderr = cli("import-opml", str(opml), "--config", str(config))
    assert (code, stdout) == (2, "")
    assert stderr == f"archiver: cannot read {opml}: No such file or directory\n"
    assert not config.exists()
    opml.write_bytes(OPML)
    code, stdout, _ = cli("import-opml", str(opml), "--config", str(config))
    assert code == EXIT_OK
    assert stdout.splitlines()[0] == f"created {config} (there was none)"
    assert set(feeds_of(config)) == {
        "daring-fireball",
        "hacker-news",
        "daring-fireball-2",
        "first-again",
    }


def test_export_then_import_changes_nothing(config: Path, tmp_path: Path) -> None:
    opml = tmp_path / "in.opml"
    opml.write_bytes(OPML)
    cli("import-opml", str(opml), "--config", str(config))
    code, exported, _ = cli("export-opml", "--config", str(config))
    assert code == EXIT_OK
    root = ElementTree.fromstring(exported)
    assert root.get("version") == "2.0"
    nested = root.find("body/outline[@text='Tech']/outline[@text='Blogs']/outline")
    assert nested is not None and nested.get("xmlUrl") == "https://daringfireball.net/feeds/main"

    before = config.read_bytes()
    (tmp_path / "out.opml").write_text(exported)
    code, stdout, _ = cli("import-opml", str(tmp_path / "out.opml"), "--config", str(config))
    assert "0 feeds added, 4 already there" in stdout
    assert config.read_bytes() == before

    fresh = write_config(tmp_path / "fresh.yaml", "feeds:\n  - name: x\n    url: https://x.org/f\n")
    cli("import-opml", str(tmp_path / "out.opml"), "--config", str(fresh))
    imported = dict(feeds_of(fresh).values())
    assert dict(feeds_of(config).values()).items() <= imported.items()


def test_add_finds_the_feed_a_page_advertises(config: Path, server: FeedServer) -> None:
    feed_url = server.feed("/blog/feed.xml", RSS)
    server.always("/blog/", BLOG_PAGE)
    code, stdout, _ = cli(
        "add", server.url("/blog/"), "--config", str(config), "--category", "Tech"
    )
    assert code == EXIT_OK
    assert f"added loopback-blog: {feed_url}" in stdout
    assert feeds_of(config)["loopback-blog"] == (feed_url, ("Tech",))
    assert "# The one I read first." in config.read_text()

    code, again, _ = cli("add", feed_url, "--config", str(config))  # the feed itself, again
    assert "already in" in again


def test_add_asks_which_when_a_page_has_several(config: Path, server: FeedServer) -> None:
    server.feed("/rss.xml", RSS)
    server.feed("/atom.xml", RSS.replace(b"Loopback Blog", b"Comments"))
    server.always(
        "/",
        Reply(
            200,
            b'<html><head><link rel="alternate" type="application/rss+xml" href="/rss.xml">'
            b'<link rel="alternate" type="application/atom+xml" href="/atom.xml"></head></html>',
            {"Content-Type": "text/html"},
        ),
    )
    code, stdout, stderr = cli("add", server.url("/"), "--config", str(config))
    assert code == EXIT_USAGE
    assert "1. Loopback Blog" in stdout and "2. Comments" in stdout
    assert "choose one with --pick K" in stderr
    code, stdout, _ = cli(
        "add", server.url("/"), "--config", str(config), "--pick", "2", "--name", "talk"
    )
    assert code == EXIT_OK
    assert feeds_of(config)["talk"][0] == server.url("/atom.xml")

    code, stdout, stderr = cli("add", server.url("/"), "--config", str(config), "--pick", "9")
    assert code == EXIT_USAGE
    assert stdout.splitlines() == [
        f"1. Loopback Blog  {server.url('/rss.xml')}",
        f"2. Comments  {server.url('/atom.xml')}",
    ]
    assert stderr == "archiver: --pick 9 is out of range: 2 feeds found, numbered 1 to 2\n"


class Terminal(io.StringIO):
    """What a person types at a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        pytest.param("2\n", EXIT_OK, id="a number from the list"),
        pytest.param("3\n", EXIT_USAGE, id="a number not in it"),
        pytest.param("\n", EXIT_USAGE, id="nothing"),
    ],
)
def test_add_at_a_terminal_takes_the_number_typed(
    config: Path, server: FeedServer, typed: str, code: int
) -> None:
    server.feed("/rss.xml", RSS)
    server.feed("/atom.xml", RSS.replace(b"Loopback Blog", b"Comments"))
    page = b'<link rel="alternate" type="application/rss+xml" href="/rss.xml">'
    page += b'<link rel="alternate" type="application/atom+xml" href="/atom.xml">'
    server.always("/", Reply(200, page, {"Content-Type": "text/html"}))
    stdout, stderr = io.StringIO(), io.StringIO()
    add = ["add", server.url("/"), "--config", str(config)]
    assert main(add, stdout=stdout, stderr=stderr, stdin=Terminal(typed)) == code
    assert "2. Comments" in stdout.getvalue() and "Which one (1-2)? " in stdout.getvalue()
    added = [url for url, _ in feeds_of(config).values() if url.startswith(server.url("/"))]
    assert added == ([server.url("/atom.xml")] if code == EXIT_OK else [])
    if code != EXIT_OK:
        assert "choose one with --pick K" in stderr.getvalue()


def test_add_of_a_missing_page_says_so_in_one_line(config: Path, server: FeedServer) -> None:
    missing = server.url("/no-such-blog/")
    code, stdout, stderr = cli("add", missing, "--config", str(config))
    assert (code, stdout) == (1, "")
    assert stderr == (
        f"archiver: cannot fetch {missing}: HTTP 404 Not Found "
        "(the page is not at this address; check the URL)\n"
    )
    assert config.read_text() == CONFIG


def test_import_opml_names_the_outlines_it_cannot_use(config: Path, tmp_path: Path) -> None:
    opml = tmp_path / "subscriptions.opml"
    opml.write_bytes(
        b"<opml version='2.0'><body>"
        b"<outline text='Old FTP feed' xmlUrl='ftp://example.org/feed.xml'/>"
        b"<outline text='Good' xmlUrl='https://example.org/good.xml'/>"
        b"</body></opml>"
    )
    code, stdout, stderr = cli("import-opml", str(opml), "--config", str(config))
    assert code == EXIT_OK
    assert stdout.splitlines() == ["added good", "1 feed added, 0 already there, 1 skipped"]
    assert stderr == (
        f"archiver: {opml}: skipped 'Old FTP feed': ftp://example.org/feed.xml "
        "is not an http:// or https:// URL\n"
    )


def test_add_tries_the_usual_paths(config: Path, server: FeedServer) -> None:
    server.always(
        "/", Reply(200, b"<html><body>No links here</body></html>", {"Content-Type": "text/html"})
    )
    server.feed("/index.xml", RSS)
    code, stdout, _ = cli("add", server.url("/"), "--config", str(config))
    assert code == EXIT_OK
    assert server.url("/index.xml") in stdout


def test_remove_keeps_the_comments(config: Path) -> None:
    write_config(config, CONFIG + "  - name: second\n    url: https://example.org/2.xml\n")
    code, stdout, _ = cli("remove", "second", "--config", str(config))
    assert code == EXIT_OK
    assert "removed second" in stdout
    assert config.read_text() == CONFIG
    code, _, stderr = cli("remove", "nope", "--config", str(config))
    assert code == EXIT_USAGE and stderr == f"archiver: no feed named 'nope' in {config}\n"


def test_remove_with_a_misspelt_name_suggests_the_close_one(config: Path) -> None:
    code, _, stderr = cli("remove", "frist", "--config", str(config))
    assert code == EXIT_USAGE
    assert stderr == f"archiver: no feed named 'frist' in {config}; did you mean 'first'?\n"
    assert config.read_text() == CONFIG


def test_apply_redirects_updates_the_config(tmp_path: Path, server: FeedServer) -> None:
    new = server.feed("/new.xml", RSS)
    old = server.always("/old.xml", Reply(301, headers={"Location": "/new.xml"}))
    config = write_config(
        tmp_path / "feeds.yaml", f"feeds:\n  # moved last year\n  - name: moved\n    url: {old}\n"
    )
    code, stdout, _ = cli(
        "run", "--config", str(config), "--output", str(tmp_path / "out"), "--apply-redirects"
    )
    assert code == EXIT_OK
    assert f"moved: url updated in {config} to {new}" in stdout
    assert feeds_of(config)["moved"][0] == new
    assert "# moved last year" in config.read_text()


@pytest.mark.parametrize("empty", ["feeds: []\n", "feeds:\n"])
def test_add_to_an_empty_feed_list(tmp_path: Path, server: FeedServer, empty: str) -> None:
    config = write_config(tmp_path / "feeds.yaml", "# mine\n" + empty)
    feed = server.feed("/feed.xml", RSS)
    code, stdout, _ = cli("add", feed, "--config", str(config))
    assert (code, stdout) == (EXIT_OK, f"added loopback-blog: {feed}\n")
    assert config.read_text() == f"# mine\nfeeds:\n  - name: loopback-blog\n    url: {feed}\n"


def test_add_to_a_list_written_flush_left_keeps_its_layout(
    tmp_path: Path, server: FeedServer
) -> None:
    config = write_config(tmp_path / "feeds.yaml", "feeds:\n- name: a\n  url: https://e.org/a\n")
    feed = server.feed("/feed.xml", RSS)
    assert cli("add", feed, "--config", str(config))[0] == EXIT_OK
    assert config.read_text() == (
        f"feeds:\n- name: a\n  url: https://e.org/a\n- name: loopback-blog\n  url: {feed}\n"
    )


def test_an_edit_that_would_not_load_leaves_the_file_as_it_was(config: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        add_feed(config, NewFeed("ftp", "ftp://example.org/feed.xml"))
    assert str(caught.value) == (
        f"{config}:11: feeds[1].url: expected an http:// or https:// URL, "
        "got 'ftp://example.org/feed.xml'"
    )
    assert config.read_text() == CONFIG
