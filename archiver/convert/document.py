"""One entry → one Document: body, lead image, fallbacks, front matter and path."""

from __future__ import annotations

import re
from datetime import datetime

from archiver.config.model import FeedConfig
from archiver.convert.clean import is_real_image
from archiver.convert.frontmatter import front_matter, iso_date, render
from archiver.convert.inert import inert
from archiver.convert.markdown import Converted, html_to_markdown, text_to_markdown
from archiver.convert.paths import entry_relpath, slugify
from archiver.models import Document, Entry, ParsedFeed
from archiver.text import clean_line, excerpt

UNTITLED = "Untitled"
TITLE_FROM_TEXT_CHARS = 80


def convert_body(entry: Entry) -> Converted:
    if entry.content_type == "text/plain":
        return text_to_markdown(entry.content)
    return html_to_markdown(entry.content, entry.content_base)


_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)|<(https?://[^>]+)>")
_MARKUP = re.compile(r"\\(?=[^\w\s])|[*`]|^[#>\-\s]+")


def fallback_title(body: str) -> str:
    """A title for an entry without one: the start of its text (as Scripting News items need)."""
    for line in body.splitlines():
        text = _MARKUP.sub("", _LINK.sub(lambda m: m[1] or m[2], _IMAGE.sub("", line)))
        title = clean_line(excerpt(text, TITLE_FROM_TEXT_CHARS))
        if title:
            return title
    return UNTITLED


def lead_image(entry: Entry, body: Converted, feed: ParsedFeed) -> str | None:
    """The entry's own image (thumbnail, enclosure, first real <img>), else the feed's logo."""
    for candidate in (*entry.images, *body.images, feed.image):
        if is_real_image(candidate):
            return candidate
    return None


def build_document(
    entry: Entry, *, feed: FeedConfig, parsed: ParsedFeed, first_seen: datetime
) -> Document:
    """Documented fallbacks: no date → the updated date, else the time the archive first saw
    the entry; no title → the start of its text, else "Untitled"."""
    body = convert_body(entry)
    # Cleaned again here, whatever the parser did: a control or line-break
    # character (NEL, U+2028) would not survive a YAML round trip.
    title = clean_line(entry.title) or fallback_title(body.markdown)
    date = entry.published or entry.updated or first_seen
    lead = lead_image(entry, body, parsed)
    matter = front_matter(entry, feed=feed, title=title, date=date, image=lead)
    relpath = entry_relpath(
        feed.path_pattern,
        date=date.astimezone(feed.zone),
        slug=slugify(title),
        id=entry.id,
        feed=feed.name,
    )
    return Document(
        id=entry.id,
        relpath=relpath,
        text=render(matter, inert(feed.flavor, body.markdown)),
        title=title,
        date=iso_date(date, feed.zone),  # for the catalog, whatever the flavour calls it
        images=tuple(dict.fromkeys([*([lead] if lead else []), *body.images])),
    )
