"""Full text for summary-only feeds: the article of each entry's page, fetched over
loopback, with the feed's one-line summary kept in the front matter."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml

from archiver.archive.ids import id_from_name
from archiver.cli.main import main
from archiver.config.model import Fulltext
from archiver.convert.fulltext import wants_full_text
from archiver.models import Entry

from .conftest import FeedServer, Reply, an_entry, write_config

ARTICLE = (
    "The committee met on Tuesday to weigh the proposal in full. Members argued for "
    "three hours about the budget, the schedule and the people it would affect. "
)


def page(title: str) -> bytes:
    paragraphs = "".join(f"<p>{ARTICLE} Paragraph {i} of {title}.</p>" for i in range(6))
    return (
        f"<html><head><title>{title}</title></head><body><nav>Home | About | Contact</nav>"
        f"<article><h1>{title}</h1>{paragraphs}</article><footer>© Site</footer></body></html>"
    ).encode()


def rss(*items: tuple[str, str, str]) -> bytes:
    body = "".join(
        f"<item><title>{title}</title><link>{link}</link>"
        f"<pubDate>Mon, 01 Jan 2024 10:00:00 GMT</pubDate><description>{text}</description></item>"
        for title, link, text in items
    )
    return f"<rss version='2.0'><channel><title>t</title>{body}</channel></rss>".encode()


def run(
    server: FeedServer, tmp_path: Path, body: bytes, settings: str
) -> tuple[dict[str, str], str]:
    url = server.feed("/feed", body)
    config = write_config(
        tmp_path / "feeds.yaml",
        f"defaults:\n  retries: 0\nfeeds:\n  - name: f\n    url: {url}\n{settings}",
    )
    out, err = io.StringIO(), io.StringIO()
    main(
        ["run", "--config", str(config), "--output", str(tmp_path / "out")], stdout=out, stderr=err
    )
    files = {
        p.name.split("-")[0]: p.read_text()
        for p in (tmp_path / "out").rglob("*.md")
        if id_from_name(p.name)
    }
    return files, err.getvalue()


def split(text: str) -> tuple[dict[str, object], str]:
    header, _, body = text[4:].partition("\n---\n")
    matter = yaml.safe_load(header)
    assert isinstance(matter, dict)
    return matter, body


def test_fulltext_archives_the_pages_article(server: FeedServer, tmp_path: Path) -> None:
    link = server.always("/story", Reply(200, page("Budget"), {"Content-Type": "text/html"}))
    files, stderr = run(
        server,
        tmp_path,
        rss(("budget", link, "The committee met.")),
        "    fulltext: true\n    allow_private: true\n",
    )
    assert stderr == ""
    matter, body = split(files["budget"])
    assert "Members argued for three hours" in body
    assert "Paragraph 5 of Budget" in body
    assert "Home | About" not in body and "© Site" not in body  # the page's chrome stays out
    assert matter["summary"] == "The committee met."


def test_auto_fetches_only_teasers(server: FeedServer, tmp_path: Path) -> None:
    for name in ("short", "more", "long"):
        server.always(f"/{name}", Reply(200, page(name.title()), {"Content-Type": "text/html"}))
    long_text = "A full article in the feed itself. " * 40
    files, _ = run(
        server,
        tmp_path,
        rss(
            ("short", server.url("/short"), "One line."),
            ("more", server.url("/more"), f"{'Quite a long opening paragraph. ' * 20} Read more »"),
            ("long", server.url("/long"), long_text),
        ),
        "    fulltext: auto\n    allow_private: true\n",
    )
    assert server.hits("/long") == []
    assert len(server.hits("/short")) == len(server.hits("/more")) == 1
    assert "Paragraph 5 of Short" in files["short"]
    assert "Paragraph 5 of More" in files["more"]
    assert "A full article in the feed itself." in files["long"]


@pytest.mark.parametrize(
    ("settings", "reply", "reason"),
    [
        (
            "    allow_private: true\n",
            Reply(404),
            "no page: HTTP 404 Not Found (the page is not at this address)",
        ),
        (
            "    allow_private: true\n",
            Reply(200, b"%PDF-1.4", {"Content-Type": "application/pdf"}),
            "no page: not a page: application/pdf",
        ),
        (
            "",
            Reply(200, page("x"), {"Content-Type": "text/html"}),
            "no page: refused: 127.0.0.1 is a private or local address "
            "(allow_private: true lets this feed's pages through)",
        ),
        (
            "    allow_private: true\n",
            Reply(200, b"<html><body></body></html>", {"Content-Type": "text/html"}),
            "no article found",
        ),
    ],
    ids=["missing-page", "not-html", "private-address", "empty-page"],
)
def test_a_page_that_fails_keeps_the_feeds_text(
    server: FeedServer, tmp_path: Path, settings: str, reply: Reply, reason: str
) -> None:
    link = server.always("/story", reply)
    files, stderr = run(
        server,
        tmp_path,
        rss(("story", link, "The feed's own line.")),
        "    fulltext: true\n" + settings,
    )
    assert stderr.splitlines() == [
        f"archiver: feed 'f': warning: entry {link}: the feed's text is kept, {reason}"
    ]
    _, body = split(files["story"])
    assert body.strip() == "The feed's own line."


def entry(content: str, link: str | None = "https://e.org/a") -> Entry:
    return an_entry(id="0123456789abcdef", title="t", link=link, content=content)


@pytest.mark.parametrize(
    ("content", "mode", "wanted"),
    [
        ("<p>short</p>", "auto", True),
        ("<p>" + "long text " * 100 + "</p>", "auto", False),
        ("<p>" + "long text " * 100 + '<a href="/x">Continue reading →</a></p>', "auto", True),
        ("<p>" + "长文本" * 300 + "<a>阅读全文</a></p>", "auto", True),
        ("<p>" + "long text " * 100 + "</p>", True, True),
        ("<p>short</p>", False, False),
    ],
)
def test_wants_full_text(content: str, mode: Fulltext, wanted: bool) -> None:
    assert wants_full_text(entry(content), mode) is wanted
    assert wants_full_text(entry(content, link=None), mode) is False


def test_a_summary_of_the_feeds_own_survives_the_article(
    server: FeedServer, tmp_path: Path
) -> None:
    link = server.always("/story", Reply(200, page("Budget"), {"Content-Type": "text/html"}))
    body = (
        "<rss version='2.0' xmlns:content='http://purl.org/rss/1.0/modules/content/'><channel>"
        f"<title>t</title><item><title>budget</title><link>{link}</link>"
        "<description>In one line: the budget.</description>"
        "<content:encoded>The committee met. Read more</content:encoded></item></channel></rss>"
    ).encode()
    files, _ = run(server, tmp_path, body, "    fulltext: true\n    allow_private: true\n")
    matter, text = split(next(iter(files.values())))
    assert matter["summary"] == "In one line: the budget."
    assert "Paragraph 5 of Budget" in text
