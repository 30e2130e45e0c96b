"""Bytes and response headers → a ParsedFeed, for RSS 0.9x–2.0, Atom, RDF and JSON Feed."""

from __future__ import annotations

import calendar
import io
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

import feedparser

from archiver.errors import ParseError
from archiver.models import Enclosure, Entry, ParsedFeed, header
from archiver.parse import jsonfeed, saxdriver
from archiver.parse.html import parse_html
from archiver.parse.summary import HTML_TYPES, distinct_summary, plain_text
from archiver.text import clean_line
from archiver.urls import article_key, entry_id, is_web_url, resolve, short_hash

FEED_LINK_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
)


def parse_feed(
    body: bytes, *, url: str, headers: Mapping[str, str], id_url: str | None = None
) -> ParsedFeed:
    """Read a feed of any supported format; ParseError when there is nothing to archive.

    Links resolve against `url`, the document's address; ids of entries whose guid is
    no URL are keyed on `id_url` (the feed's own URL, for a page of its history).
    """
    if not body.strip():
        raise ParseError("not a feed: the response body is empty")
    content_type = header(headers, "content-type")
    id_url = id_url or url
    if jsonfeed.looks_like_json(body, content_type):
        return _separate_shared_guids(jsonfeed.parse_json_feed(body, url=url, id_url=id_url))
    return _separate_shared_guids(
        _parse_xml(body, url=url, content_type=content_type, id_url=id_url)
    )


def _separate_shared_guids(feed: ParsedFeed) -> ParsedFeed:
    """Give distinct entries that share a guid (and no one article link) ids of their own.

    Entries sharing an article link are one article, the first wins (the seed's
    two items). But a guid shared by entries with different titles or text, and
    no one article link, is a broken feed, not a duplicate: each entry is kept.
    """
    first_by_id: dict[str, Entry] = {}
    entries = []
    for entry in feed.entries:
        first = first_by_id.setdefault(entry.id, entry)
        distinct = (entry.title, entry.content) != (first.title, first.content)
        article = article_key(entry.link, feed.home_url)
        one_article = article is not None and article == article_key(first.link, feed.home_url)
        if first is not entry and distinct and not one_article:
            own_id = short_hash("\n".join((entry.id, entry.title or "", entry.content)))
            entries.append(replace(entry, id=own_id))
        else:
            entries.append(entry)
    return replace(feed, entries=tuple(entries))


# Declared charsets that valid multi-byte UTF-8 is, in practice, never meant as.
_LATIN_CHARSETS = frozenset(
    {"iso-8859-1", "iso8859-1", "latin1", "latin-1", "windows-1252", "cp1252", "us-ascii", "ascii"}
)
_CHARSET = re.compile(rb"""^<\?xml[^>]*encoding=["']([\w.:-]+)["']""")
_HTTP_CHARSET = re.compile(r"charset=[\"']?([\w.:-]+)", re.IGNORECASE)
# XML 1.0 appendix F: '<' and an ASCII character in UTF-16 without a byte order mark.
_BOMLESS_UTF16 = (
    (re.compile(rb"^<\x00[^\x00]\x00"), "utf-16-le"),
    (re.compile(rb"^\x00<\x00[^\x00]"), "utf-16-be"),
)


def _repair(body: bytes, content_type: str) -> tuple[bytes, str]:
    """Undo common breakage that would cost a whole feed, before feedparser sees it.

    - whitespace before the XML declaration (illegal, and common);
    - UTF-16 with neither a byte order mark nor a declaration;
    - UTF-8 bytes declared as Latin-1 or windows-1252, which would turn every
      accented letter and every CJK character into mojibake.
    """
    stripped = body.lstrip(b" \t\r\n")
    if stripped.startswith(b"<?xml"):
        body = stripped
    for pattern, utf16 in _BOMLESS_UTF16:
        if pattern.match(body):
            try:
                return body.decode(utf16).encode("utf-8"), "application/xml; charset=utf-8"
            except UnicodeDecodeError:
                break
    declared = _HTTP_CHARSET.search(content_type)
    prolog = _CHARSET.match(body[:200])
    charset = declared.group(1) if declared else prolog.group(1).decode() if prolog else ""
    if charset.lower() in _LATIN_CHARSETS and not body.isascii():
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return body, "application/xml; charset=utf-8"
    return body, content_type


def _parse_xml(body: bytes, *, url: str, content_type: str, id_url: str) -> ParsedFeed:
    body, content_type = _repair(body, content_type)
    # Only the Content-Type: the fetcher has already undone any Content-Encoding,
    # and without a charset from the server feedparser reads the XML declaration.
    # No Content-Location either: given a base, feedparser turns a guid such as
    # "p-1" into a URL (and then into the entry's link), which would merge
    # distinct entries; links are resolved against the feed's URL here instead.
    response_headers = {"content-type": content_type or "application/xml"}
    # Sanitising and link resolution of the HTML happen once, in the converter,
    # which needs the lazy-loading attributes feedparser's sanitiser would drop.
    saxdriver.use()
    result = feedparser.parse(
        io.BytesIO(body),
        response_headers=response_headers,
        resolve_relative_uris=False,
        sanitize_html=False,
    )
    feed = result.get("feed", {})
    problem = _bozo_message(result)
    # A well-formed feed with no entries yet (a new blog) is a feed with nothing new.
    if not result.entries and not (result.get("version") and problem is None):
        raise ParseError(_no_entries_message(body, url, result.get("version"), problem))

    home_url = resolve(url, feed["link"]) if feed.get("link") else None
    home_url = home_url if is_web_url(home_url) else None
    entries = []
    for raw in result.entries:
        entries.append(_entry(raw, feed_url=url, home_url=home_url, id_url=id_url))
    image = (feed.get("image") or {}).get("href") or feed.get("logo")
    history = _history_prefix(result)
    return ParsedFeed(
        title=clean_line(feed.get("title")),
        home_url=home_url,
        image=resolve(url, image) if image else None,
        entries=tuple(entries),
        warning=f"the feed is not well-formed, archived what could be read: {problem}"
        if problem
        else None,
        links=tuple(
            (str(link["rel"]), resolve(url, str(link["href"])))
            for link in feed.get("links") or []
            if link.get("rel") and link.get("href")
        ),
        complete=history is not None and f"{history}_complete" in feed,
        archive=history is not None and f"{history}_archive" in feed,
        generator=clean_line(" ".join(filter(None, [feed.get("generator"), _generator_uri(feed)]))),
    )


# RFC 5005 section 2: the namespace of fh:complete and fh:archive.
HISTORY_NAMESPACE = "http://purl.org/syndication/history/1.0"


def _history_prefix(result: Any) -> str | None:
    """The prefix the document gives RFC 5005's namespace: feedparser names an element of
    a namespace it does not know by the document's own prefix (`fh_complete`)."""
    namespaces = result.get("namespaces") or {}
    return next((p for p, uri in namespaces.items() if uri == HISTORY_NAMESPACE and p), None)


def _generator_uri(feed: Any) -> str | None:
    detail = feed.get("generator_detail") or {}
    return detail.get("href") if isinstance(detail.get("href"), str) else None


def _bozo_message(result: Any) -> str | None:
    if not result.get("bozo"):
        return None
    exc = result.get("bozo_exception")
    # A wrong declared charset that feedparser read correctly anyway, or a
    # server calling its feed text/html: nothing the reader could act on.
    if isinstance(exc, (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)):
        return None
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
    soup = parse_html(html)
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


def _content(raw: Any, feed_url: str) -> tuple[str, str, str | None]:
    """(html or text, its type, its base URL): the entry's content, else its summary."""
    contents = [c for c in raw.get("content") or [] if (c.get("value") or "").strip()]
    summary = raw.get("summary_detail") or {}
    # Of several contents (Atom's <content> beside an xhtml:body), the fullest.
    best = max(contents, key=lambda c: len(c["value"]), default=summary)
    if not (best.get("value") or "").strip():
        return "", "text/html", None
    base = best.get("base")
    return best["value"], _text_type(best), resolve(feed_url, base) if base else None


def _text_type(detail: Any) -> str:
    return "text/plain" if (detail.get("type") or "").lower() == "text/plain" else "text/html"


def _summary(raw: Any, body: str, body_type: str) -> str | None:
    # feedparser copies a content into the summary when the entry has no summary
    # of its own; distinct_summary then finds it reads as the body does.
    detail = raw.get("summary_detail") or {}
    return distinct_summary(detail.get("value"), _text_type(detail), body, body_type)


def _title(raw: Any) -> str | None:
    title = raw.get("title")
    detail = raw.get("title_detail") or {}
    # RSS does not say whether a title is text or HTML: feedparser calls it HTML when
    # it holds a tag or a character reference ("I&#039;m"), and such a title is read
    # as a browser reads it. An Atom title says so itself (type="html").
    if title and (detail.get("type") or "").lower() in HTML_TYPES:
        title = plain_text(title, "text/html")
    return clean_line(title)


_EMAIL_THEN_NAME = re.compile(r"^\s*[^\s()<>]+@[^\s()<>]+\s*\((?P<name>.+)\)\s*$")
_NAME_THEN_EMAIL = re.compile(r"^\s*(?P<name>[^<>]+?)\s*<[^\s<>]+@[^\s<>]+>\s*$")


def _author(raw: Any) -> str | None:
    """Every author the entry names (several dc:creator, a podcast's episode author
    and its itunes:author), each once, in the feed's order."""
    detail = raw.get("author_detail") or {}
    names = []
    for author in raw.get("authors") or [detail]:
        name = author.get("name") or author.get("email")
        if author.get("email") and author == detail:
            name = _name_of(raw.get("author"), detail) or name
        names.append(clean_line(name))
    return ", ".join(dict.fromkeys(n for n in names if n)) or clean_line(raw.get("author"))


def _name_of(text: str | None, detail: Any) -> str | None:
    """The name in an RSS "email (Name)" author, where feedparser split it wrongly:
    its email pattern cuts long top-level domains (.industries) in half."""
    if not text or text == f"{detail.get('name')} ({detail.get('email')})":
        return None
    match = _EMAIL_THEN_NAME.match(text) or _NAME_THEN_EMAIL.match(text)
    return match["name"] if match else text


def _tags(raw: Any) -> tuple[str, ...]:
    terms = (clean_line(t.get("term") or t.get("label")) for t in raw.get("tags") or [])
    return tuple(dict.fromkeys(t for t in terms if t))


def _images(raw: Any, base: str) -> Iterable[str]:
    episode_image = (raw.get("image") or {}).get("href")  # itunes:image
    if episode_image:
        yield resolve(base, episode_image)
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


def _entry(raw: Any, *, feed_url: str, home_url: str | None, id_url: str) -> Entry:
    content, content_type, base = _content(raw, feed_url)
    guid = clean_line(raw.get("id"))
    link = raw.get("link")
    # feedparser says it copied the guid into the link also of an Atom <id> before the
    # entry's <link> (Blogger's order), whose link is real.
    guid_taken_for_link = bool(raw.get("guidislink")) and not is_web_url(guid)
    if guid_taken_for_link and link == raw.get("id"):
        link = None  # feedparser copied a guid that is no URL ("p-1") into the link
    link = resolve(feed_url, link) if link else None
    title = _title(raw)
    published = _datetime(raw.get("published_parsed"))
    # dict.get: FeedParserDict.get("updated_parsed") falls back to the published
    # date (with a DeprecationWarning), which would make every entry "updated".
    updated = _datetime(dict.get(raw, "updated_parsed"))
    fallback_fields = (title or "", str(published or updated or ""), content)

    def id_from(link: str | None) -> str:
        return entry_id(
            link=link,
            guid=guid,
            feed_url=id_url,
            home_url=home_url,
            fallback_fields=fallback_fields,
        )

    the_id = id_from(link)
    # archiver 0.1.0 dropped such a link and keyed the entry on its guid: an
    # archive they made holds it under that id, and must not get it a second time.
    former_id = id_from(None) if guid_taken_for_link and link else the_id
    return Entry(
        id=the_id,
        former_ids=(former_id,) if former_id != the_id else (),
        title=title,
        link=link if is_web_url(link) else None,
        guid=guid,
        author=_author(raw),
        published=published,
        updated=updated,
        tags=_tags(raw),
        content=content,
        content_type=content_type,
        content_base=base or feed_url,  # RFC 4287: the document, not the entry link
        summary=_summary(raw, content, content_type),
        images=tuple(dict.fromkeys(_images(raw, base or feed_url))),
        enclosures=_enclosures(raw, base or feed_url),
        duration=clean_line(raw.get("itunes_duration")),
    )
