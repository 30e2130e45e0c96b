"""An entry's summary beside its body: plain text, kept when it says something the body does not.

A feed entry may carry both a summary (RSS `description`, Atom `summary`, JSON
Feed `summary`) and full content. The content is the body; the summary goes
into the front matter, so neither is lost. An excerpt that is only the start
of the body is kept too: where it ends is the author's (or the CMS's) choice,
and the site generators show exactly that text in their lists of posts.
"""

from __future__ import annotations

import html
import re

from archiver.parse.html import parse_html
from archiver.text import clean_line

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_TAG = re.compile(r"<[^>]*>")
# Elements that end a line when shown: their text must not run into the next word's.
_BREAK = re.compile(
    r"<(?=/?(br|p|div|li|d[dt]|t[rdh]|blockquote|pre|figcaption|h[1-6]|[ou]l|table|section"
    r"|article|hr)\b)",
    re.IGNORECASE,
)


def plain_text(value: str, content_type: str) -> str:
    """`value` as the words a reader sees, on one line."""
    if content_type.lower() not in HTML_TYPES:
        return clean_line(value) or ""
    if "<" not in value:
        return clean_line(html.unescape(value)) or ""
    # get_text leaves out what a browser does not show: scripts and styles.
    return clean_line(parse_html(_BREAK.sub(" <", value)).get_text()) or ""


def distinct_summary(
    summary: str | None, summary_type: str, body: str, body_type: str
) -> str | None:
    """The summary as plain text, or None when there is none or it reads as the body does."""
    if not summary or summary == body:  # feedparser's copy of a content that has no summary
        return None
    text = plain_text(summary, summary_type)
    if not text or _words(text) == _words(_rough_text(body, body_type)):
        return None
    return text


def _rough_text(value: str, content_type: str) -> str:
    """The text of `value` without parsing it: only to tell whether a summary repeats it.
    Where it keeps more than a parser would (a script, a comment), the summary is kept."""
    if content_type.lower() in HTML_TYPES:
        value = html.unescape(_TAG.sub("", value))
    return value


def _words(text: str) -> str:
    # Markup may or may not separate two words' worth of text ("<b>a</b>b"), so
    # the comparison ignores whitespace altogether.
    return "".join(text.split())
