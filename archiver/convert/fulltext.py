"""Full text for summary-only feeds (`fulltext: true` or `auto`).

The entry's page is fetched like any address that feed content names, and its
article extracted with trafilatura (chosen over readability-lxml: it is
maintained, scores best in the published extraction benchmarks, and keeps
links and images in its HTML output, which the converter then treats like any
feed content). The feed's own text stays as the entry's summary.
"""

from __future__ import annotations

import re
from dataclasses import replace

from archiver.config.model import Fulltext
from archiver.models import Entry
from archiver.text import excerpt

# Below this many characters of text, `auto` takes an entry for a teaser.
AUTO_MIN_CHARS = 500
SUMMARY_CHARS = 500
# How teasers end: "Read more", "Continue reading →", 阅读全文, 続きを読む, …
READ_MORE = re.compile(
    r"(read more|continue reading|read the rest|more\s*[»›→…]|weiterlesen|lire la suite|"
    r"leer más|leia mais|阅读全文|查看全文|全文|続きを読む|もっと読む|더 보기)\W*$",
    re.IGNORECASE,
)


def wants_full_text(entry: Entry, mode: Fulltext) -> bool:
    if entry.link is None or mode is False:
        return False
    if mode is True:
        return True
    text = _plain_text(entry.content)
    return len(text) < AUTO_MIN_CHARS or bool(READ_MORE.search(text))


def extract_article(page: bytes, url: str) -> str | None:
    """The article of a web page as HTML, or None when none can be told from the page."""
    # Imported here: trafilatura and its dependencies cost every process tens of
    # megabytes, and most feeds never ask for full text.
    import trafilatura  # noqa: PLC0415

    article = trafilatura.extract(
        page,
        url=url,
        output_format="html",
        include_links=True,
        include_images=True,
        include_tables=True,
        favor_recall=True,
    )
    return str(article) if article and article.strip() else None


def with_article(entry: Entry, article: str, page_url: str) -> Entry:
    """The entry with the page's article as its content; its summary, else the feed's text."""
    plain = entry.content_type == "text/plain"
    feed_text = entry.content if plain else _plain_text(entry.content)
    return replace(
        entry,
        content=article,
        content_type="text/html",
        content_base=page_url,
        # A summary of the feed's own stays; else the feed's text, cut, stands for one.
        summary=entry.summary or excerpt(feed_text, SUMMARY_CHARS) or None,
    )


def _plain_text(html: str) -> str:
    # Imported here: the main process of a run uses this module, and a run in which no
    # feed has anything new never needs the HTML parser.
    from archiver.parse.html import parse_html  # noqa: PLC0415

    return parse_html(html).get_text(" ", strip=True)
