from __future__ import annotations

import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.provisional import urls

from archiver.archive.store import Archive
from archiver.config.model import FeedConfig
from archiver.convert.document import build_document, fallback_title
from archiver.convert.paths import MAX_NAME_BYTES
from archiver.models import Entry, ParsedFeed
from archiver.urls import entry_id

FEED = FeedConfig(name="feed", url="https://example.org/feed.xml", categories=("News",))
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
LOGO = "https://example.org/logo.png"


def make_entry(
    *,
    title: str | None = "Title",
    link: str | None = "https://example.org/a",
    content: str = "<p>Body</p>",
    images: tuple[str, ...] = (),
    published: datetime | None = None,
    updated: datetime | None = None,
) -> Entry:
    return Entry(
        id=entry_id(
            link=link, guid=None, feed_url=FEED.url, home_url=None, fallback_fields=(content,)
        ),
        title=title,
        link=link,
        guid=None,
        author=None,
        published=published,
        updated=updated,
        tags=(),
        content=content,
        content_type="text/html",
        content_base=FEED.url,
        images=images,
    )


def parsed(*entries: Entry, image: str | None = LOGO) -> ParsedFeed:
    return ParsedFeed(title="t", home_url=None, image=image, entries=entries)


def header(text: str) -> dict[str, object]:
    loaded = yaml.safe_load(text[4:].split("\n---\n", 1)[0])
    assert isinstance(loaded, dict)
    return loaded


@pytest.mark.parametrize(
    ("images", "content", "feed_image", "expected"),
    [
        pytest.param(
            ("https://e.org/thumb.jpg",),
            "<img src='/a.jpg'>",
            LOGO,
            "https://e.org/thumb.jpg",
            id="thumbnail-first",
        ),
        pytest.param(
            (),
            "<img src='/a.jpg'><img src='/b.jpg'>",
            LOGO,
            "https://example.org/a.jpg",
            id="first-img",
        ),
        pytest.param(
            (), "<img src='https://x.org/undefined'>", LOGO, LOGO, id="placeholder-then-logo"
        ),
        pytest.param(("https://x.org/null",), "<p>x</p>", LOGO, LOGO, id="placeholder-thumbnail"),
        pytest.param((), "<p>x</p>", None, None, id="nothing"),
    ],
)
def test_lead_image(
    images: tuple[str, ...], content: str, feed_image: str | None, expected: str | None
) -> None:
    entry = make_entry(images=images, content=content)
    document = build_document(
        entry, feed=FEED, parsed=parsed(entry, image=feed_image), first_seen=NOW
    )
    assert header(document.text).get("image") == expected


def test_date_fallbacks() -> None:
    updated = datetime(2020, 1, 2, tzinfo=timezone.utc)
    only_updated = make_entry(updated=updated)
    document = build_document(only_updated, feed=FEED, parsed=parsed(only_updated), first_seen=NOW)
    assert header(document.text)["date"] == "2020-01-02T00:00:00+00:00"
    assert "updated" not in header(document.text)
    assert document.relpath.startswith("2020/01/02/")

    undated = make_entry()
    document = build_document(undated, feed=FEED, parsed=parsed(undated), first_seen=NOW)
    assert header(document.text)["date"] == NOW.isoformat()


@pytest.mark.parametrize(
    ("body", "title"),
    [
        ("Good morning **students**! [link](https://x.org)", "Good morning students! link"),
        ("![img](https://x.org/a.png)\n\n### Heading here", "Heading here"),
        ("\\# not a heading", "# not a heading"),
        ("", "Untitled"),
        ("word " * 40, ("word " * 16).strip() + "…"),
    ],
)
def test_fallback_title(body: str, title: str) -> None:
    assert fallback_title(body) == title


_html = st.lists(
    st.one_of(
        st.text(max_size=30),
        st.sampled_from(["<p>", "</p>", "<img src='", "'>", "<a href='", "<h1>", "<pre>", "---"]),
    ),
    max_size=20,
).map("".join)


@settings(max_examples=150, deadline=None)
@given(
    title=st.one_of(st.none(), st.text()),
    link=st.one_of(st.none(), urls(), st.text(max_size=50)),
    content=_html,
)
def test_any_entry_converts_writes_and_reads_back(
    title: str | None, link: str | None, content: str
) -> None:
    entry = make_entry(title=title, link=link, content=content)
    document = build_document(entry, feed=FEED, parsed=parsed(entry), first_seen=NOW)
    with tempfile.TemporaryDirectory() as folder:
        archive = Archive(Path(folder) / "archive")
        archive.write_entries([(document.relpath, document.text)])
        path = archive.root / document.relpath
        written = path.read_text(encoding="utf-8")
        assert path.resolve().is_relative_to(archive.root.resolve())
        assert archive.scan_ids()[entry.id] == document.relpath
    assert all(len(part.encode()) <= MAX_NAME_BYTES for part in Path(document.relpath).parts)
    matter = header(written)
    assert matter["title"] == document.title
    assert matter["id"] == entry.id
