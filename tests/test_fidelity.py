"""Fidelity: over every entry of ../shared/feeds, what a reader sees of the source
HTML survives in the Markdown, as a CommonMark renderer (markdown-it) shows it."""

from __future__ import annotations

import collections
from dataclasses import dataclass
from urllib.parse import unquote

import pytest
from bs4 import BeautifulSoup
from markdown_it import MarkdownIt

from archiver.convert.clean import (
    DROPPED_ELEMENTS,
    EMBED_ELEMENTS,
    LINK_SCHEMES,
    is_real_image,
)
from archiver.convert.document import convert_body
from archiver.errors import ParseError
from archiver.models import Entry
from archiver.parse.feed import parse_feed
from archiver.parse.html import parse_html
from archiver.urls import resolve

from .conftest import FEEDS_DIR

MIN_SURVIVAL = 0.995
RENDERER = MarkdownIt("commonmark", {"html": True}).enable("table")


@dataclass(frozen=True)
class Fidelity:
    where: str
    survival: float  # share of the source's visible characters found in the rendering
    lost_links: tuple[str, ...]
    lost_images: tuple[str, ...]
    raw_html: int  # HTML blocks or inline tags a renderer would pass through


# What no reader sees: code, chrome, the fallback of players, the pleas of <noscript>.
HIDDEN_ELEMENTS = [*DROPPED_ELEMENTS, *EMBED_ELEMENTS, "noscript", "rp"]


def _visible(entry: Entry) -> BeautifulSoup:
    """The source as a reader sees it: without scripts, styles, form controls and templates.

    Parsed as the converter parses it, HTML's void elements ending where they start:
    BeautifulSoup's lxml builder lets an <embed> hold all that follows it.
    """
    soup = parse_html(entry.content)
    for element in soup.find_all(HIDDEN_ELEMENTS):
        element.decompose()
    return soup


def _characters(text: str) -> collections.Counter[str]:
    return collections.Counter(c for c in text if not c.isspace())


def _source_links(soup: BeautifulSoup, base: str | None) -> set[str]:
    links = set()
    for anchor in soup.find_all("a", href=True):
        url = resolve(base, str(anchor["href"]))
        scheme = url.split(":", 1)[0].lower()
        if scheme in LINK_SCHEMES and anchor.get_text(strip=True):
            links.add(unquote(url))
    return links


def _source_images(soup: BeautifulSoup, base: str | None) -> list[set[str]]:
    """For each image the source shows, the addresses it may be known by."""
    images = []
    for img in soup.find_all("img"):
        names = [img.get(a) for a in ("data-src", "data-original", "data-lazy-src", "src")]
        real = {unquote(resolve(base, str(n))) for n in names if n}
        width, height = (str(img.get(a)) if img.get(a) else None for a in ("width", "height"))
        real = {url for url in real if is_real_image(url, width, height)}
        if real:
            images.append(real)
    return images


def measure(entry: Entry, where: str) -> Fidelity:
    markdown = convert_body(entry).markdown
    tokens = RENDERER.parse(markdown)
    inline = [child for token in tokens for child in token.children or []]
    raw_html = sum(1 for t in [*tokens, *inline] if t.type in ("html_block", "html_inline"))
    rendered = BeautifulSoup(RENDERER.render(markdown), "lxml")
    if entry.content_type == "text/plain":
        source_text, links, images = entry.content, set(), []
    else:
        soup = _visible(entry)
        source_text = soup.get_text()
        links = _source_links(soup, entry.content_base)
        images = _source_images(soup, entry.content_base)
    source, kept = _characters(source_text), _characters(rendered.get_text())
    total = sum(source.values())
    survived = sum(min(count, kept[char]) for char, count in source.items())
    out_links = {unquote(str(a["href"])) for a in rendered.find_all("a", href=True)}
    out_images = {unquote(str(i["src"])) for i in rendered.find_all("img", src=True)}
    return Fidelity(
        where=where,
        survival=survived / total if total else 1.0,
        lost_links=tuple(sorted(links - out_links)),
        lost_images=tuple(sorted(min(i) for i in images if not i & out_images)),
        raw_html=raw_html,
    )


def corpus_entries() -> list[tuple[str, Entry]]:
    found = []
    for path in sorted(FEEDS_DIR.glob("*/*")):
        if path.suffix in (".md", ".tsv"):
            continue
        try:
            parsed = parse_feed(
                path.read_bytes(), url=f"https://example.org/{path.name}", headers={}
            )
        except ParseError:
            continue
        for number, entry in enumerate(parsed.entries):
            found.append((f"{path.parent.name}/{path.name}#{number} {entry.title!r:.50}", entry))
    return found


@pytest.mark.skipif(not FEEDS_DIR.is_dir(), reason=f"{FEEDS_DIR} is absent")
def test_every_entry_of_the_corpus_survives_conversion(capsys: pytest.CaptureFixture[str]) -> None:
    results = [measure(entry, where) for where, entry in corpus_entries()]
    assert len(results) > 2000
    worst = sorted(results, key=lambda r: r.survival)[:5]
    with capsys.disabled():
        print(f"\nfidelity over {len(results)} entries; the worst:")
        for result in worst:
            print(f"  {result.survival:.2%}  {result.where}")
    assert [r.where for r in results if r.survival < MIN_SURVIVAL] == []
    assert [(r.where, r.lost_links) for r in results if r.lost_links] == []
    assert [(r.where, r.lost_images) for r in results if r.lost_images] == []
    assert [r.where for r in results if r.raw_html] == []
