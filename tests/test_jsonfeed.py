"""The JSON Feed reader: every field read defensively, plain text decoded as readers show it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from html import escape
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archiver.errors import ParseError
from archiver.models import Enclosure, Entry
from archiver.parse.jsonfeed import looks_like_json, parse_json_feed
from archiver.urls import url_id

FEED_URL = "https://example.org/feed.json"
VERSION = "https://jsonfeed.org/version/1.1"


def feed(*items: object, **fields: object) -> bytes:
    return json.dumps({"version": VERSION, **fields, "items": list(items)}).encode()


def item(**fields: object) -> dict[str, object]:
    return {"id": "1", "url": "https://example.org/j/1", **fields}


def entry(**fields: object) -> Entry:
    (only,) = parse_json_feed(feed(item(**fields)), url=FEED_URL).entries
    return only


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        pytest.param(b'{"items": []}', "", True, id="object"),
        pytest.param(b"[1]", "text/html", True, id="array-whatever-the-type"),
        pytest.param(b'\xef\xbb\xbf \n {"items": []}', "", True, id="bom-and-spaces-first"),
        pytest.param(b"<rss/>", "application/feed+json", False, id="markup-whatever-the-type"),
        pytest.param(b"", "application/feed+json; charset=utf-8", True, id="empty-feed-json"),
        pytest.param(b"", "Application/JSON", True, id="empty-json-any-case"),
        pytest.param(b"", "application/rss+xml", False, id="empty-rss"),
    ],
)
def test_looks_like_json(body: bytes, content_type: str, expected: bool) -> None:
    assert looks_like_json(body, content_type) is expected


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param({"title": "First"}, "First", id="plain"),
        pytest.param({"title": "  two\n lines "}, "two lines", id="one-line"),
        pytest.param({"title": ["x"]}, None, id="list-is-absent"),
        pytest.param({"title": "   "}, None, id="blank-is-absent"),
        pytest.param(
            {"title": "Mac Power Users &amp; Friends"},
            "Mac Power Users & Friends",
            id="named-reference",
        ),
        pytest.param({"title": "I&#039;m A Guest"}, "I'm A Guest", id="decimal-reference"),
        pytest.param({"title": "caf&#xE9; &eacute;t&eacute;"}, "café été", id="hex-and-named"),
        pytest.param({"title": "&amp;amp; stays &amp;"}, "&amp; stays &", id="decoded-once"),
        pytest.param(
            {"title": "AT&T & R&D; &bogus; fish&chips"},
            "AT&T & R&D; &bogus; fish&chips",
            id="bare-ampersands-stay",
        ),
        pytest.param({"title": "<b>bold</b> is text"}, "<b>bold</b> is text", id="tags-are-text"),
    ],
)
def test_title(fields: dict[str, object], expected: str | None) -> None:
    assert entry(**fields).title == expected


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"))))
def test_a_title_escaped_once_reads_back_as_written(text: str) -> None:
    title = escape(text, {'"': "&quot;", "'": "&#039;"})  # type: ignore[arg-type]
    assert entry(title=title).title == (" ".join(text.split()) or None)


@pytest.mark.parametrize(
    ("item_fields", "feed_fields", "expected"),
    [
        pytest.param({"authors": [{"name": "Ann"}]}, {}, "Ann", id="item-authors"),
        pytest.param({"authors": [{"name": "Ann"}, {"name": "Bo"}]}, {}, "Ann, Bo", id="several"),
        pytest.param({"author": {"name": "Ann"}}, {}, "Ann", id="json-feed-1-0-author"),
        pytest.param({}, {"authors": [{"name": "Feed"}]}, "Feed", id="feed-authors"),
        pytest.param(
            {"authors": [{"name": " "}]},
            {"author": {"name": "Feed"}},
            "Feed",
            id="blank-item-name-falls-back",
        ),
        pytest.param(
            {"authors": [{"url": "https://e.org"}, "x", {"name": 3}]}, {}, None, id="no-name"
        ),
        pytest.param(
            {"authors": [{"name": "Simon &amp; Garfunkel"}]}, {}, "Simon & Garfunkel", id="decoded"
        ),
        pytest.param({"authors": "Ann"}, {}, None, id="string-is-not-a-list"),
    ],
)
def test_author(
    item_fields: dict[str, Any], feed_fields: dict[str, Any], expected: str | None
) -> None:
    body = feed(item(**item_fields), **feed_fields)
    (only,) = parse_json_feed(body, url=FEED_URL).entries
    assert only.author == expected


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        pytest.param(["a", "b"], ("a", "b"), id="list"),
        pytest.param(["a", 3, None, "b"], ("a", "b"), id="non-strings-dropped"),
        pytest.param(["a", " a ", "", "b"], ("a", "b"), id="duplicates-and-blanks-dropped"),
        pytest.param(
            "workflow,omnifocus, mac &amp; ios",
            ("workflow", "omnifocus", "mac & ios"),
            id="csv-string",
        ),
        pytest.param({"a": 1}, (), id="object-is-absent"),
        pytest.param(None, (), id="null"),
    ],
)
def test_tags(tags: object, expected: tuple[str, ...]) -> None:
    assert entry(tags=tags).tags == expected


@pytest.mark.parametrize(
    ("fields", "content", "content_type"),
    [
        pytest.param({"content_html": "<p>x</p>"}, "<p>x</p>", "text/html", id="html"),
        pytest.param({"content_text": "plain *x*"}, "plain *x*", "text/plain", id="text"),
        pytest.param(
            {"content_html": "<p>x</p>", "content_text": "x"},
            "<p>x</p>",
            "text/html",
            id="html-first",
        ),
        pytest.param(
            {"content_html": " ", "content_text": "x"}, "x", "text/plain", id="blank-html"
        ),
        pytest.param({}, "", "text/plain", id="none"),
    ],
)
def test_content(fields: dict[str, object], content: str, content_type: str) -> None:
    parsed = entry(**fields)
    assert (parsed.content, parsed.content_type) == (content, content_type)


def test_summary_is_decoded_and_kept_when_distinct() -> None:
    parsed = entry(content_text="The body.", summary="Q&amp;A with Jo")
    assert parsed.summary == "Q&A with Jo"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(
            "2024-01-02T03:04:05Z", datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc), id="utc"
        ),
        pytest.param(
            "2024-01-02t03:04:05z",
            datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
            id="lower-case",
        ),
        pytest.param(
            "2024-01-03T00:00:00+01:00",
            datetime(2024, 1, 3, tzinfo=timezone(timedelta(hours=1))),
            id="offset",
        ),
        pytest.param(
            "2024-01-02T03:04:05",
            datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
            id="naive-is-utc",
        ),
        pytest.param("yesterday", None, id="not-a-date"),
        pytest.param(20240102, None, id="number"),
    ],
)
def test_dates(value: object, expected: datetime | None) -> None:
    parsed = entry(date_published=value, date_modified=value)
    assert parsed.published == expected
    assert parsed.updated == expected


@pytest.mark.parametrize(
    ("fields", "link", "guid"),
    [
        pytest.param({"url": "/j/1"}, "https://example.org/j/1", "1", id="relative-url"),
        pytest.param(
            {"url": None, "external_url": "https://e.org/x"},
            "https://e.org/x",
            "1",
            id="external-url",
        ),
        pytest.param({"url": "mailto:a@e.org"}, None, "1", id="not-a-web-link"),
        pytest.param({"id": 7}, "https://example.org/j/1", "7", id="number-id"),
        pytest.param({"id": []}, "https://example.org/j/1", None, id="list-id"),
    ],
)
def test_link_and_guid(fields: dict[str, object], link: str | None, guid: str | None) -> None:
    parsed = entry(**fields)
    assert (parsed.link, parsed.guid) == (link, guid)


def test_the_entry_id_comes_from_its_link() -> None:
    assert entry().id == url_id("https://example.org/j/1")


def test_images_and_attachments() -> None:
    parsed = entry(
        image="/lead.jpg",
        banner_image="https://example.org/banner.jpg",
        attachments=[
            {"url": "https://example.org/e.mp3", "mime_type": "audio/mpeg", "size_in_bytes": 9},
            {"url": "/cover.png", "mime_type": "image/png", "size_in_bytes": True},
            {"url": "https://example.org/e.mp3", "mime_type": "audio/mpeg", "size_in_bytes": 9},
            {"mime_type": "audio/mpeg"},
            "junk",
        ],
    )
    assert parsed.enclosures == (
        Enclosure("https://example.org/e.mp3", "audio/mpeg", 9),
        Enclosure("https://example.org/cover.png", "image/png", None),
    )
    assert parsed.images == (
        "https://example.org/lead.jpg",
        "https://example.org/banner.jpg",
        "https://example.org/cover.png",
    )


@pytest.mark.parametrize(
    ("attachments", "expected"),
    [
        pytest.param(
            [{"url": "https://e.org/a.mp3", "duration_in_seconds": 3079.5}],
            "3079",
            id="seconds-cut",
        ),
        pytest.param(
            [{"url": "https://e.org/a.mp3", "duration_in_seconds": "60"}], None, id="string"
        ),
        pytest.param([{"url": "https://e.org/a.mp3", "duration_in_seconds": 0}], None, id="zero"),
        pytest.param("junk", None, id="not-a-list"),
    ],
)
def test_duration(attachments: object, expected: str | None) -> None:
    assert entry(attachments=attachments).duration == expected


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param(
            {"next_url": "/feed.json?page=2"},
            (("next", "https://example.org/feed.json?page=2"),),
            id="relative",
        ),
        pytest.param({"next_url": 2}, (), id="not-a-string"),
        pytest.param({}, (), id="absent"),
    ],
)
def test_next_url_pages_the_feed(
    fields: dict[str, object], expected: tuple[tuple[str, str], ...]
) -> None:
    assert parse_json_feed(feed(item(), **fields), url=FEED_URL).links == expected


def test_feed_title_home_and_icon() -> None:
    parsed = parse_json_feed(
        feed(item(), title="JSON blog", home_page_url="https://example.org/", icon="/icon.png"),
        url=FEED_URL,
    )
    assert parsed.title == "JSON blog"
    assert parsed.home_url == "https://example.org/"
    assert parsed.image == "https://example.org/icon.png"


def test_wrong_types_are_absent_not_fatal() -> None:
    body = json.dumps(
        {
            "version": 1,
            "title": ["x"],
            "home_page_url": "javascript:x",
            "items": [{"id": [], "url": 5, "title": {}}, "junk"],
        }
    ).encode()
    parsed = parse_json_feed(body, url=FEED_URL)
    assert (parsed.title, parsed.home_url) == (None, None)
    (only,) = parsed.entries
    assert (only.title, only.link, only.guid) == (None, None, None)


def test_an_empty_items_list_is_a_feed_without_entries() -> None:
    assert parse_json_feed(feed(), url=FEED_URL).entries == ()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(b'{"version": "x", "items": [', "not valid JSON", id="truncated"),
        pytest.param(b"\xff\xfe{", "not valid JSON", id="not-utf"),
        pytest.param(b'{"rss": {"channel": {}}}', "no 'items' list", id="other-json"),
        pytest.param(b"[1, 2]", "no 'items' list", id="array"),
        pytest.param(b'{"items": {}}', "no 'items' list", id="items-not-a-list"),
        pytest.param(
            b'{"items": [1, "x"]}', "none of its items is a JSON object", id="no-object-item"
        ),
    ],
)
def test_what_is_not_a_json_feed(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_json_feed(body, url=FEED_URL)
