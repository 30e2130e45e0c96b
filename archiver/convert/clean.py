"""The tree cleaned before conversion, in one pass: what runs or is chrome dropped, images
at their real address and placeholders gone, players and plugins as links, links made
absolute, and what Markdown cannot hold (a block inside inline markup, a stray list item
or cell) moved where it can."""

from __future__ import annotations

import base64
import re
from collections.abc import Collection
from urllib.parse import urlsplit

from bs4 import BeautifulSoup, Tag
from bs4.element import PageElement

from archiver.urls import resolve

# Elements whose content is code, chrome or interaction, never article text. The
# text of a <form> around them stays: its labels and paragraphs are the page's. So
# does a <head>'s: libxml2 puts there what HTML 4 did not know (<article>, <main>)
# when it follows a <title> or <meta>.
DROPPED_ELEMENTS = frozenset(
    {
        "script",
        "style",
        "template",
        "input",
        "button",
        "select",
        "datalist",
        "textarea",
        "link",
        "meta",
        "base",
        "title",
    }
)
BLOCK_ELEMENTS = (
    "pre", "p", "div", "table", "ul", "ol", "dl", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "section", "article", "figure",
)  # fmt: skip
LISTS = frozenset({"ul", "ol", "menu", "dir"})
# What an inline element cannot hold in Markdown (for most, a fenced block).
_NOT_INSIDE = {
    "code": frozenset({*BLOCK_ELEMENTS, "a"}),
    "kbd": frozenset({"pre", "a"}),
    "samp": frozenset({"pre", "a"}),
}
INLINE_ELEMENTS = frozenset(
    {
        "a", "abbr", "b", "big", "cite", "code", "del", "em", "font", "i", "ins", "kbd", "mark",
        "q", "s", "samp", "small", "span", "strike", "strong", "sub", "sup", "tt", "u",
    }
)  # fmt: skip
# Embeds keep a link to what they showed: a video is worth finding again. What they
# hold is the fallback of a browser without video or frames, and shown by none today;
# an <object>'s fallback is what every browser shows since plugins went, and stays.
EMBED_ELEMENTS = frozenset({"iframe", "frame", "video", "audio", "embed"})
# The <param> names that hold a plugin's address, in the classic Flash player's markup.
SOURCE_PARAMS = frozenset({"movie", "src", "url", "filename", "data"})
IMAGE_WRAPPERS = frozenset({"a", "picture", "span"})

LINK_SCHEMES = frozenset({"http", "https", "mailto", "ftp", "ftps", "tel", "magnet", "gemini"})
IMAGE_SCHEMES = frozenset({"http", "https"})
# Attributes lazy-loading scripts keep the real address in, most common first.
LAZY_SRC_ATTRIBUTES = ("data-src", "data-original", "data-lazy-src", "data-actualsrc", "data-url")
LAZY_SRCSET_ATTRIBUTES = ("data-srcset", "data-lazy-srcset", "srcset")
# Last path segments that a JavaScript template leaves when it had no value.
PLACEHOLDER_NAMES = frozenset({"undefined", "null", "none", "nan", "false", "[object object]"})
SPACER_NAMES = frozenset({"spacer.gif", "blank.gif", "pixel.gif", "1x1.gif", "transparent.gif"})
TINY_DATA_IMAGE_BYTES = 128  # a 1×1 GIF or PNG placeholder fits in well under this


def is_real_image(url: str | None, width: str | None = None, height: str | None = None) -> bool:
    """False for what only pretends to be an image: empty, `…/undefined`, 1×1, spacers."""
    if not url or not url.strip():
        return False
    url = url.strip()
    if url.lower().startswith("data:"):
        return _data_image_size(url) > TINY_DATA_IMAGE_BYTES
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme.lower() not in IMAGE_SCHEMES:
        return False
    last = parts.path.rstrip("/").rsplit("/", 1)[-1].replace("%20", " ").lower()
    if last in PLACEHOLDER_NAMES or last in SPACER_NAMES:
        return False
    return not (_at_most_one_pixel(width) and _at_most_one_pixel(height))


def _at_most_one_pixel(value: str | None) -> bool:
    return value is not None and value.strip().removesuffix("px") in ("0", "1")


def _data_image_size(url: str) -> int:
    header, _, payload = url.partition(",")
    if not header.lower().startswith("data:image/"):
        return 0
    if header.lower().endswith(";base64"):
        try:
            return len(base64.b64decode(payload, validate=False))
        except ValueError:
            return 0
    return len(payload)


def _largest_from_srcset(srcset: str) -> str | None:
    best: tuple[float, str] | None = None
    for candidate in re.split(r",\s+", srcset.strip()):
        parts = candidate.split()
        if not parts:
            continue
        descriptor = parts[1] if len(parts) > 1 else "1x"
        try:
            size = float(descriptor[:-1])
        except ValueError:
            size = 1.0
        if best is None or size > best[0]:
            best = (size, parts[0])
    return best[1] if best else None


def _image_source(img: Tag, base: str | None) -> str | None:
    """The address the image really shows, lazy-loading attributes first, made absolute."""
    for attribute in LAZY_SRC_ATTRIBUTES:
        value = _attr(img, attribute)
        if value and not value.lower().startswith("data:"):
            return resolve(base, value)
    src = _attr(img, "src")
    src = resolve(base, src) if src else None
    if is_real_image(src):
        return src
    for attribute in LAZY_SRCSET_ATTRIBUTES:
        value = _attr(img, attribute)
        if value and (largest := _largest_from_srcset(value)):
            return resolve(base, largest)
    if img.parent is not None and img.parent.name == "picture":
        # A lazy <picture> may give the real address only to its <source>s.
        for source in img.parent.find_all("source", recursive=False):
            for attribute in LAZY_SRCSET_ATTRIBUTES:
                value = _attr(source, attribute)
                if value and (largest := _largest_from_srcset(value)):
                    return resolve(base, largest)
    return src


def _attr(tag: Tag, name: str) -> str | None:
    value = tag.get(name)
    if isinstance(value, list):
        value = " ".join(value)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _scheme_allowed(url: str, schemes: frozenset[str]) -> bool:
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return False
    return scheme in schemes or (scheme == "" and not url.startswith("//"))


def _replace_embed(soup: BeautifulSoup, embed: Tag, base: str | None) -> list[str]:
    """The player as a link to what it plays, after its poster; the poster's address."""
    src = _attr(embed, "src")
    source = embed.find("source") if src is None else None
    src = src or (_attr(source, "src") if isinstance(source, Tag) else None)
    poster = _media_poster(soup, embed, base)
    _link_before(soup, embed, src, base)
    embed.decompose()
    return [poster] if poster else []


def _media_poster(soup: BeautifulSoup, video: Tag, base: str | None) -> str | None:
    poster = _attr(video, "poster")
    if poster is None:
        return None
    img = soup.new_tag("img", src=poster)
    url = _clean_image(img, base)
    if url:
        paragraph = soup.new_tag("p")
        paragraph.append(img)
        video.insert_before(paragraph)
    return url


def _link_before(soup: BeautifulSoup, element: Tag, src: str | None, base: str | None) -> None:
    url = resolve(base, src) if src else None
    if url and _scheme_allowed(url, LINK_SCHEMES):
        link = soup.new_tag("a", href=url)
        link.string = url
        paragraph = soup.new_tag("p")
        paragraph.append(link)
        element.insert_before(paragraph)


def _replace_object(soup: BeautifulSoup, obj: Tag, base: str | None) -> None:
    """An <object> (and the <embed> and <object>s inside it, other ways to play the
    same thing) as one link, followed by the fallback it holds."""
    inner = [d for d in obj.descendants if isinstance(d, Tag) and d.name in ("object", "embed")]
    sources = [_object_source(o) for o in (obj, *inner)]
    _link_before(soup, obj, next((s for s in sources if s), None), base)
    for element in [obj, *inner]:
        for param in element.find_all("param", recursive=False):
            param.decompose()
        if element.name == "object":
            element.unwrap()  # its fallback stays where it was
        element.decompose()  # and the loop in clean_tree passes it by


def _object_source(element: Tag) -> str | None:
    if element.name == "embed":
        return _attr(element, "src")
    if data := _attr(element, "data"):
        return data
    for param in element.find_all("param", recursive=False):
        if (_attr(param, "name") or "").lower() in SOURCE_PARAMS and (
            value := _attr(param, "value")
        ):
            return value
    return None


def _replace_noscript(noscript: Tag, images: list[str]) -> None:
    """A <noscript> as the images it holds: a reader without JavaScript sees them, and
    the rest is a plea to turn it on. Lazy-loading themes put it right after the <img>
    it stands for, whose own address may be a placeholder: that <img> gives way."""
    shown = [d for d in noscript.descendants if isinstance(d, Tag) and d.name == "img"]
    before, after = noscript.find_previous_sibling(), noscript.find_next_sibling()
    if shown and isinstance(before, Tag) and before.name == "img":
        if images and images[-1] == before.get("src"):  # it was the last image kept
            images.pop()
        before.decompose()
    elif _shows_an_image(before) or _shows_an_image(after):
        shown = []  # the copy of an image a link or <picture> around it, or after it, shows
    for img in shown:
        noscript.insert_before(img.extract())
    noscript.decompose()


def _shows_an_image(element: PageElement | None) -> bool:
    return isinstance(element, Tag) and (
        element.name == "img" or (element.name in IMAGE_WRAPPERS and holds_any(element, ("img",)))
    )


def _clean_image(img: Tag, base: str | None) -> str | None:
    url = _image_source(img, base)
    if not is_real_image(url, _attr(img, "width"), _attr(img, "height")):
        img.decompose()
        return None
    assert url is not None
    img.attrs = {k: v for k, v in img.attrs.items() if k in ("alt", "title")}
    img["src"] = url
    return url


def _clean_anchor(anchor: Tag, base: str | None) -> None:
    href = _attr(anchor, "href")
    url = resolve(base, href) if href else None
    if url and _scheme_allowed(url, LINK_SCHEMES):
        anchor.attrs = {k: v for k, v in anchor.attrs.items() if k == "title"}
        anchor["href"] = url
        _drop_trailing_breaks(anchor)
    else:
        anchor.unwrap()  # the text stays, the javascript: goes


def _drop_trailing_breaks(anchor: Tag) -> None:
    """A <br> that ends a link's text becomes a backslash before `](`, escaping the `]`."""
    # A plain walk, as in holds_any: most links hold no <br>, and find_all would
    # build a filter for each of them to learn so.
    breaks = [d for d in anchor.descendants if isinstance(d, Tag) and d.name == "br"]
    for br in reversed(breaks):
        after = "".join(s for s in br.find_all_next(string=True) if anchor in s.parents)
        if after.strip():
            return
        br.decompose()


def _wrap_stray_cells(soup: BeautifulSoup, first: Tag) -> None:
    """Cells outside any row (`<tbody><th>…</th><tr>…`) into a row of their own: left
    alone, their line runs into the next row's and the table loses both."""
    row = soup.new_tag("tr")
    cells = [first]
    for sibling in first.next_siblings:
        if isinstance(sibling, Tag) and sibling.name in ("td", "th"):
            cells.append(sibling)
        elif isinstance(sibling, Tag) or str(sibling).strip():
            break
    first.insert_before(row)
    for cell in cells:
        row.append(cell.extract())


def _widen_first_row(soup: BeautifulSoup, table: Tag) -> None:
    """Empty cells at the end of a table's first row, up to its widest row: a Markdown
    table is as wide as its first row, and renderers drop the cells past it."""
    rows = [
        d
        for d in table.descendants
        if isinstance(d, Tag) and d.name == "tr" and d.find_parent("table") is table
    ]
    if len(rows) < 2:
        return
    widths = [_row_width(row) for row in rows]
    first = rows[0]
    cell = "th" if any(c.name == "th" for c in first.children if isinstance(c, Tag)) else "td"
    for _ in range(max(widths) - widths[0]):
        first.append(soup.new_tag(cell))


def _row_width(row: Tag) -> int:
    width = 0
    for cell in row.children:
        if isinstance(cell, Tag) and cell.name in ("td", "th"):
            span = cell.get("colspan")
            width += max(1, min(1000, int(span))) if isinstance(span, str) and span.isdigit() else 1
    return width


def holds_any(element: Tag, names: Collection[str]) -> bool:
    # A plain walk: Tag.find builds a filter per call, which costs more than the
    # few descendants an inline element has.
    return any(isinstance(d, Tag) and d.name in names for d in element.descendants)


def _keep_expansion(element: Tag) -> None:
    """An abbreviation about to be unwrapped keeps its expansion, written after what it
    held, as convert_abbr writes it."""
    title = " ".join(str(element.get("title") or "").split()) if element.name == "abbr" else ""
    if title and title not in element.get_text():
        element.append(f" ({title})")


def clean_tree(soup: BeautifulSoup, base: str | None) -> list[str]:
    """Make the tree safe to convert, in one pass; return the real images it shows."""
    images = []
    for element in [d for d in soup.descendants if isinstance(d, Tag)]:
        name = element.name
        if not name:  # inside something already dropped (decompose() blanks the name)
            continue
        if name in INLINE_ELEMENTS and holds_any(element, _NOT_INSIDE.get(name, ("pre",))):
            # Markdown cannot nest a block in inline markup: `*` or a code span
            # around a fenced block moves the fence off the start of its line, and
            # the code it holds, no longer fenced, would be read as HTML. Nor can a
            # code span hold a link: the code's look goes, its link's address stays.
            _keep_expansion(element)
            element.unwrap()
        elif name in DROPPED_ELEMENTS:
            element.decompose()
        elif name in EMBED_ELEMENTS:
            images.extend(_replace_embed(soup, element, base))
        elif name == "object":
            _replace_object(soup, element, base)
        elif name == "noscript":
            _replace_noscript(element, images)
        elif name == "img":
            url = _clean_image(element, base)
            if url:
                images.append(url)
        elif name == "a":
            _clean_anchor(element, base)
        elif name == "table":
            _widen_first_row(soup, element)
        elif name == "li" and (element.parent is None or element.parent.name not in LISTS):
            # A stray <li> would put its bullet (and a fence) in the middle of a line.
            element.wrap(soup.new_tag("ul"))
        elif name in ("td", "th") and element.parent is not None and element.parent.name != "tr":
            _wrap_stray_cells(soup, element)
    return images
