"""The SAX driver feedparser reads XML with: expat, handing over each text whole, and
feedparser making of a feed what it made of it piece by piece."""

from __future__ import annotations

import io
import xml.sax
from unittest import mock
from xml.sax.saxutils import escape

import feedparser.api
from hypothesis import given, settings
from hypothesis import strategies as st

from archiver.parse import saxdriver
from archiver.parse.feed import parse_feed

URL = "https://example.org/blog/feed.xml"


def rss(items: str) -> bytes:
    return (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>Blog</title>"
        f"<link>https://example.org/</link>{items}</channel></rss>"
    ).encode()


class _TextPieces(xml.sax.handler.ContentHandler):
    def __init__(self) -> None:
        super().__init__()
        self.pieces: list[str] = []

    def characters(self, content: str) -> None:
        self.pieces.append(content)


def test_feedparser_gets_escaped_html_as_one_piece_of_text() -> None:
    # Unbuffered, expat splits this text at each of its 40 entities and each line.
    text = "&lt;p&gt;one &amp;amp; two&lt;/p&gt;\n" * 10
    parse_feed(
        rss(f"<item><title>t</title><description>{text}</description></item>"), url=URL, headers={}
    )
    assert feedparser.api.PREFERRED_XML_PARSERS[0] == saxdriver.__name__
    reader = xml.sax.make_parser(feedparser.api.PREFERRED_XML_PARSERS)
    handler = _TextPieces()
    reader.setContentHandler(handler)
    reader.parse(io.BytesIO(f"<d>{text}</d>".encode()))
    assert handler.pieces == ["<p>one &amp; two</p>\n" * 10]


# Characters XML 1.0 allows: a tab, line ends, and no other control or surrogate.
_XML_TEXT = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\ufffe\uffff"),
    max_size=80,
).map(lambda s: "".join(c for c in s if c in "\t\n\r" or ord(c) >= 0x20))


@settings(max_examples=150, deadline=None)
@given(titles=st.lists(_XML_TEXT, min_size=1, max_size=3), html=_XML_TEXT)
def test_buffered_text_reads_as_expat_piece_by_piece_did(titles: list[str], html: str) -> None:
    items = "".join(
        f"<item><title>{escape(title)}</title><link>https://example.org/{i}</link>"
        f"<description>{escape(escape(html))}</description></item>"
        for i, title in enumerate(titles)
    )
    body = rss(items)
    saxdriver.use()
    buffered = feedparser.parse(body, sanitize_html=False)
    # feedparser takes its XML driver from this module list, and offers no other way to
    # choose one: the list given expat's own driver alone is the unbuffered reading.
    with mock.patch.object(feedparser.api, "PREFERRED_XML_PARSERS", ["xml.sax.expatreader"]):
        piece_by_piece = feedparser.parse(body, sanitize_html=False)
    assert not buffered.bozo and not piece_by_piece.bozo
    assert piece_by_piece.entries == buffered.entries
    assert piece_by_piece.feed == buffered.feed
