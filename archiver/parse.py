"""Bytes and response headers → a ParsedFeed, for RSS 0.9x–2.0, Atom, RDF and JSON Feed."""

from __future__ import annotations

import calendar
import io
import time
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

import feedparser
from bs4 import BeautifulSoup

from archiver import jsonfeed
from archiver.errors import ParseError
from archiver.models import Enclosure, Entry, ParsedFeed
from archiver.text import clean_line
from archiver.urls import entry_id, is_web_url, resolve

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
FEED_LINK_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
)


def parse_feed(body: bytes, *, url: str, headers: Mapping[str, str]) -> ParsedFeed:
    """Read a feed of any supported format; ParseError when there is nothing to archive."""
    if not body.strip():
        raise ParseError("not a feed: the response body is empty")
    content_type = _header(headers, "content-type")
    if jsonfeed.looks_like_json(body, content_type):
        return jsonfeed.parse_json_feed(body, url=url)
    return _parse_xml(body, url=url, content_type=content_type)


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return ""


def _parse_xml(body: bytes, *, url: str, content_type: str) -> ParsedFeed:
    # Only the headers that describe the bytes as we hand them over: httpx has
    # already undone any Content-Encoding, so passing it on would make
    # feedparser try to decompress plain text.
    response_headers = {"content-location": url}
    if content_type:
        response_headers["content-type"] = content_type
    # Sanitising and link resolution happen once, in the converter, which
    # needs to see lazy-loading attributes feedparser's sanitiser would drop.
    result = feedparser.parse(
        io.BytesIO(body),
        response_headers=response_headers,
        resolve_relative_uris=False,
        sanitize_html=False,
    )
    feed = result.get("feed", {})
    problem = _bozo_message(result)
    if not result.entries:
        raise ParseError(_no_entries_message(body, url, result.get("version"), problem))

    home_url = feed.get("link") if is_web_url(feed.get("link")) else None
    entries = []
    for raw in result.entries:
        entries.append(_entry(raw, feed_url=url, home_url=home_url))
    image = (feed.get("image") or {}).get("href") or feed.get("logo")
    return ParsedFeed(
        title=clean_line(feed.get("title")),
        home_url=home_url,
        image=resolve(url, image) if image else None,
        entries=tuple(entries),
        warning=f"the feed is not well-formed, archived what could be read: {problem}"
        if problem
        else None,
    )


def _bozo_message(result: Any) -> str | None:
    if not result.get("bozo"):
        return None
    exc = result.get("bozo_exception")
    if isinstance(exc, feedparser.CharacterEncodingOverride):
        return None  # a wrong declared charset that feedparser read correctly anyway
    return clean_line(str(exc)) or type(exc).__name__


def _no_entries_message(body: bytes, url: str, version: str | None, problem: str | None) -> str:
    head = body[:4096].lower()
    if not version and (b"<html" in head or b"<!doctype html" in head):
        advertised = advertised_feeds(body, url)
        hint = f"; the page advertises a feed at {advertised[0]}" if advertised else ""
        return f"not a feed: got an HTML page{hint}"
    if not version:
        reason = f" ({problem})" if problem else ""
        return f"not a feed: no RSS, Atom, RDF or JSON Feed document found{reason}"
    return "the feed has no entries" + (f" (parser said: {problem})" if problem else "")


def advertised_feeds(html: bytes, base: str) -> list[str]:
    """Feed URLs an HTML page names in <link rel="alternate">, made absolute."""
    soup = BeautifulSoup(html, "html.parser")
    found = []
    for link in soup.find_all("link", href=True):
        rel: list[str] | str = link.get("rel") or []
        kind = str(link.get("type") or "").lower()
        if "alternate" in rel and kind.startswith(FEED_LINK_TYPES):
            found.append(resolve(base, str(link["href"])))
    return found


def _datetime(parsed: time.struct_time | None) -> datetime | None:
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=timezone.utc)
    except (OverflowError, ValueError, OSError):
        return None


def _richest_content(raw: Any) -> tuple[str, str, str | None]:
    """(html or text, its type, its base URL): full content before the summary."""
    candidates = list(raw.get("content") or [])
    if raw.get("summary_detail"):
        candidates.append(raw["summary_detail"])
    best: Any = None
    for detail in candidates:
        value = detail.get("value") or ""
        if value.strip() and (best is None or len(value) > len(best.get("value") or "")):
            best = detail
    if best is None:
        return "", "text/html", None
    kind = (best.get("type") or "text/html").lower()
    kind = "text/plain" if kind == "text/plain" else "text/html"
    return best["value"], kind, best.get("base") or None


def _title(raw: Any) -> str | None:
    title = raw.get("title")
    detail = raw.get("title_detail") or {}
    if title and (detail.get("type") or "").lower() in HTML_TYPES and "<" in title:
        title = BeautifulSoup(title, "html.parser").get_text(" ")
    return clean_line(title)


def _author(raw: Any) -> str | None:
    detail = raw.get("author_detail") or {}
    return clean_line(detail.get("name") or raw.get("author"))


def _tags(raw: Any) -> tuple[str, ...]:
    terms = (clean_line(t.get("term") or t.get("label")) for t in raw.get("tags") or [])
    return tuple(dict.fromkeys(t for t in terms if t))


def _images(raw: Any, base: str) -> Iterable[str]:
    for thumb in raw.get("media_thumbnail") or []:
        if thumb.get("url"):
            yield resolve(base, thumb["url"])
    for media in raw.get("media_content") or []:
        kind = (media.get("type") or "").lower()
        if media.get("url") and (media.get("medium") == "image" or kind.startswith("image/")):
            yield resolve(base, media["url"])
    for enclosure in raw.get("enclosures") or []:
        if (enclosure.get("type") or "").lower().startswith("image/") and enclosure.get("href"):
            yield resolve(base, enclosure["href"])


def _enclosures(raw: Any, base: str) -> tuple[Enclosure, ...]:
    found = []
    for enclosure in raw.get("enclosures") or []:
        href = enclosure.get("href")
        if not href:
            continue
        length = str(enclosure.get("length") or "").strip()
        found.append(
            Enclosure(
                url=resolve(base, href),
                type=clean_line(enclosure.get("type")),
                length=int(length) if length.isdigit() and int(length) > 0 else None,
            )
        )
    return tuple(dict.fromkeys(found))


def _entry(raw: Any, *, feed_url: str, home_url: str | None) -> Entry:
    content, content_type, base = _richest_content(raw)
    link = raw.get("link")
    link = resolve(feed_url, link) if link else None
    guid = clean_line(raw.get("id"))
    title = _title(raw)
    published = _datetime(raw.get("published_parsed"))
    updated = _datetime(raw.get("updated_parsed"))
    return Entry(
        id=entry_id(
            link=link,
            guid=guid,
            feed_url=feed_url,
            home_url=home_url,
            fallback_fields=(title or "", str(published or updated or ""), content),
        ),
        title=title,
        link=link if is_web_url(link) else None,
        guid=guid,
        author=_author(raw),
        published=published,
        updated=updated,
        tags=_tags(raw),
        content=content,
        content_type=content_type,
        content_base=base or link or feed_url,
        summary=(raw.get("summary") or None) if raw.get("content") else None,
        images=tuple(dict.fromkeys(_images(raw, base or feed_url))),
        enclosures=_enclosures(raw, base or feed_url),
    )
