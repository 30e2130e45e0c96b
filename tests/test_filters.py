"""Per-feed filters: include: and exclude: by title, content, author and
categories, through the CLI against a loopback server."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from archiver.archive.ids import id_from_name
from archiver.cli.main import main
from archiver.config.load import parse_config
from archiver.errors import ConfigError

from .conftest import FeedServer, write_config

ITEMS = [
    ("Weekly news", "jane", "News", "All the week's news."),
    ("Sponsored: buy this", "ads", "Ads", "A word from our sponsor."),
    ("Deep dive into Rust", "bob", "Programming", "Ownership and borrowing explained."),
    ("Podcast episode 12", "jane", "Audio", "We talk about sponsored content."),
]


def feed_body() -> bytes:
    items = "".join(
        f"<item><title>{title}</title><link>https://example.org/{i}</link>"
        f"<author>{author}@example.org ({author})</author><category>{category}</category>"
        f"<description>{text}</description></item>"
        for i, (title, author, category, text) in enumerate(ITEMS)
    )
    return f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>".encode()


def run(server: FeedServer, tmp_path: Path, filters: str) -> tuple[set[str], str]:
    url = server.feed("/feed", feed_body())
    config = write_config(
        tmp_path / "feeds.yaml", f"feeds:\n  - name: f\n    url: {url}\n{filters}"
    )
    out = io.StringIO()
    assert (
        main(
            ["run", "--config", str(config), "--output", str(tmp_path / "out")],
            stdout=out,
            stderr=io.StringIO(),
        )
        == 0
    )
    titles = set()
    for path in (tmp_path / "out").rglob("*.md"):
        if id_from_name(path.name):
            titles.add(re.search(r"^title: (.*)$", path.read_text(), re.M).group(1).strip("'"))  # type: ignore[union-attr]
    return titles, out.getvalue()


def test_exclude_by_title_keeps_matching_entries_out(server: FeedServer, tmp_path: Path) -> None:
    titles, stdout = run(server, tmp_path, "    exclude: {title: '^sponsored'}\n")
    assert titles == {"Weekly news", "Deep dive into Rust", "Podcast episode 12"}
    assert "f: 3 new, 0 already archived, 1 filtered out" in stdout
    assert "entries: 3 new, 0 already archived, 1 filtered out" in stdout


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ("    include: {categories: 'news|programming'}\n", {"Weekly news", "Deep dive into Rust"}),
        ("    include: {author: '^jane$'}\n", {"Weekly news", "Podcast episode 12"}),
        ("    exclude: {content: sponsor}\n", {"Weekly news", "Deep dive into Rust"}),
        (
            "    include: {title: 'news|rust|podcast'}\n    exclude: {content: sponsor}\n",
            {"Weekly news", "Deep dive into Rust"},
        ),
        # A list of bare patterns searches title and content.
        ("    exclude: [sponsor]\n", {"Weekly news", "Deep dive into Rust"}),
        ("    include: ['^weekly', borrowing]\n", {"Weekly news", "Deep dive into Rust"}),
        ("    exclude: sponsor\n", {"Weekly news", "Deep dive into Rust"}),
    ],
    ids=[
        "include-categories",
        "include-author",
        "exclude-content",
        "include-and-exclude",
        "exclude-list",
        "include-list",
        "exclude-one-pattern",
    ],
)
def test_filters(server: FeedServer, tmp_path: Path, filters: str, expected: set[str]) -> None:
    assert run(server, tmp_path, filters)[0] == expected


def test_lifting_a_filter_archives_what_it_left_out(server: FeedServer, tmp_path: Path) -> None:
    run(server, tmp_path, "    exclude: {title: sponsored}\n")
    titles, stdout = run(server, tmp_path, "")  # the same bytes, without the filter
    assert "Sponsored: buy this" in titles
    assert "f: 1 new, 3 already archived" in stdout


@pytest.mark.parametrize(
    ("filters", "key", "message"),
    [
        (
            "    exclude: {title: '(unclosed'}\n",
            "feeds[0].exclude.title",
            "not a valid regular expression",
        ),
        ("    include: {titel: x}\n", "feeds[0].include.titel", "did you mean 'title'?"),
        ("    exclude: [ok, '(unclosed']\n", "feeds[0].exclude[1]", "not a valid regular"),
    ],
)
def test_a_bad_filter_is_a_config_error_naming_feed_and_key(
    filters: str, key: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(f"feeds:\n  - name: f\n    url: https://e.org/f\n{filters}", "feeds.yaml")
    assert caught.value.key == key
    assert message in caught.value.message
    assert caught.value.line == 4
