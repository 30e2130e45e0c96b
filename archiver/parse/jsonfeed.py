"""JSON Feed 1.0 and 1.1 (https://www.jsonfeed.org/version/1.1/), which feedparser 6 cannot read.

Feeds in the wild get the types wrong (a title that is a list, a date that is
not one), so every field is read defensively: a value of the wrong type is
treated as absent rather than failing the whole feed.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from archiver.errors import ParseError
from archiver.models import Enclosure, Entry, ParsedFeed
from archiver.parse.summary import distinct_summary
from archiver.text import clean_line
from archiver.urls import entry_id, is_web_url, resolve

JSON_FEED_VERSION_PREFIX = "https://jsonfeed.org/version/"
_BOM = b"\xef\xbb\xbf"


def looks_like_json(body: bytes, content_type: str) -> bool:
    """True for a JSON body: its first byte decides, the Content-Type only when that is unclear."""
    start = body[:1024].lstrip(_BOM).lstrip()[:1]
    if start in (b"{", b"["):
        return True
    if start == b"<":
        return False
    media_type = content_type.split(";", maxsplit=1)[0].strip().lower()
    return media_type in ("application/json", "application/feed+json")


def _text(obj: Any, key: str) -> str | None:
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, str) and value.strip() else None


# A character reference, named or numeric, with its semicolon.
_REFERENCE = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")


def _decoded(text: str | None) -> str | None:
    """Plain text with the HTML character references publishers put in it decoded.

    JSON Feed's title, summary and names are plain text, yet "Mac Power Users &amp; …"
    and "I&#039;m A Guest" are common. feedparser reads such RSS text as HTML (a
    character reference makes it so) and a reader sees "&", "'": the same here. Each
    reference is decoded once, so "&amp;amp;" reads "&amp;", and a bare "&" stays.
    """
    if text is None or "&" not in text:
        return text
    return _REFERENCE.sub(lambda match: html.unescape(match[0]), text)


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _authors(item: dict[str, Any], feed: dict[str, Any]) -> str | None:
    for source in (item, feed):
        authors = source.get("authors")
        candidates = authors if isinstance(authors, list) else [source.get("author")]
        names = [clean_line(_decoded(_text(a, "name"))) for a in candidates]
        joined = ", ".join(n for n in names if n)
        if joined:
            return joined
    return None


def _tags(item: dict[str, Any]) -> tuple[str, ...]:
    tags = item.get("tags")
    if isinstance(tags, str):
        tags = tags.split(",")  # "workflow,omnifocus": a list written as CSV
    if not isinstance(tags, list):
        return ()
    cleaned = (clean_line(_decoded(t)) for t in tags if isinstance(t, str))
    return tuple(dict.fromkeys(t for t in cleaned if t))


def _attachments(item: dict[str, Any], base: str) -> Iterable[Enclosure]:
    attachments = item.get("attachments")
    for attachment in attachments if isinstance(attachments, list) else []:
        url = _text(attachment, "url")
        if not url:
            continue
        size = attachment.get("size_in_bytes")
        yield Enclosure(
            url=resolve(base, url),
            type=clean_line(_text(attachment, "mime_type")),
            length=size
            if isinstance(size, int) and not isinstance(size, bool) and size > 0
            else None,
        )


def _entry(item: dict[str, Any], feed: dict[str, Any], *, feed_url: str, id_url: str) -> Entry:
    home_url = _text(feed, "home_page_url")
    link = _text(item, "url") or _text(item, "external_url")
    link = resolve(feed_url, link) if link else None
    raw_id = item.get("id")
    guid = clean_line(str(raw_id)) if isinstance(raw_id, (str, int)) else None
    html = _text(item, "content_html")
    content, content_type = (
        (html, "text/html") if html else (_text(item, "content_text"), "text/plain")
    )
    title = clean_line(_decoded(_text(item, "title")))
    published = _date(_text(item, "date_published"))
    updated = _date(_text(item, "date_modified"))
    images = [_text(item, "image"), _text(item, "banner_image")]
    attachments = tuple(dict.fromkeys(_attachments(item, feed_url)))
    images += [a.url for a in attachments if (a.type or "").startswith("image/")]
    raw_attachments = item.get("attachments")
    seconds = next(
        (
            a["duration_in_seconds"]
            for a in (raw_attachments if isinstance(raw_attachments, list) else [])
            if isinstance(a, dict) and isinstance(a.get("duration_in_seconds"), (int, float))
        ),
        None,
    )
    return Entry(
        id=entry_id(
            link=link,
            guid=guid,
            feed_url=id_url,
            home_url=home_url,
            fallback_fields=(title or "", str(published or updated or ""), content or ""),
        ),
        title=title,
        link=link if is_web_url(link) else None,
        guid=guid,
        author=_authors(item, feed),
        published=published,
        updated=updated,
        tags=_tags(item),
        content=content or "",
        content_type=content_type,
        content_base=link or feed_url,
        summary=distinct_summary(
            _decoded(_text(item, "summary")), "text/plain", content or "", content_type
        ),
        images=tuple(dict.fromkeys(resolve(feed_url, i) for i in images if i)),
        enclosures=attachments,
        duration=str(int(seconds)) if seconds else None,
    )


def parse_json_feed(body: bytes, *, url: str, id_url: str | None = None) -> ParsedFeed:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(f"not a feed: the body is not valid JSON ({exc})") from None
    # The version is often written loosely ("1.1"); the shape decides.
    items = document.get("items") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise ParseError(
            "not a feed: JSON that is not a JSON Feed (it has no 'items' list; "
            f"see {JSON_FEED_VERSION_PREFIX}1.1)"
        )
    entries = [
        _entry(item, document, feed_url=url, id_url=id_url or url)
        for item in (items if isinstance(items, list) else [])
        if isinstance(item, dict)
    ]
    if items and not entries:
        raise ParseError("the feed has no entries: none of its items is a JSON object")
    home_url = _text(document, "home_page_url")
    image = _text(document, "icon")
    # JSON Feed 1.1: next_url pages the feed, as RFC 5005's rel="next" does.
    next_url = _text(document, "next_url")
    return ParsedFeed(
        title=clean_line(_text(document, "title")),
        home_url=home_url if is_web_url(home_url) else None,
        image=resolve(url, image) if image else None,
        entries=tuple(entries),
        links=(("next", resolve(url, next_url)),) if next_url else (),
    )
