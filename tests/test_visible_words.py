"""Every visible word survives the HTML → Markdown converter, whatever the HTML.

Bodies are built from every element of HTML, obsolete and unknown ones too, nested at
random, void elements left unclosed, with a sentinel word in each text, alt, title and
href: each sentinel outside an element the converter drops on purpose must be in the
Markdown, and so must everything after such an element.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from hypothesis import example, given, settings
from hypothesis import strategies as st

from archiver.convert.markdown import html_to_markdown

# The elements of the WHATWG HTML Living Standard, from its "Index of elements"
# (https://html.spec.whatwg.org/multipage/indices.html#elements-3), with <math> and
# <svg> from the same table.
HTML_ELEMENTS = (
    "a", "abbr", "address", "area", "article", "aside", "audio", "b", "base", "bdi", "bdo",
    "blockquote", "body", "br", "button", "canvas", "caption", "cite", "code", "col",
    "colgroup", "data", "datalist", "dd", "del", "details", "dfn", "dialog", "div", "dl", "dt",
    "em", "embed", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4",
    "h5", "h6", "head", "header", "hgroup", "hr", "html", "i", "iframe", "img", "input", "ins",
    "kbd", "label", "legend", "li", "link", "main", "map", "mark", "math", "menu", "meta",
    "meter", "nav", "noscript", "object", "ol", "optgroup", "option", "output", "p", "picture",
    "pre", "progress", "q", "rp", "rt", "ruby", "s", "samp", "script", "search", "section",
    "select", "slot", "small", "source", "span", "strong", "style", "sub", "summary", "sup",
    "svg", "table", "tbody", "td", "template", "textarea", "tfoot", "th", "thead", "time",
    "title", "tr", "track", "u", "ul", "var", "video", "wbr",
)  # fmt: skip
# Obsolete and non-conforming elements feeds still carry (the same standard, section
# "Obsolete features"), and elements no standard knows.
LEGACY_ELEMENTS = (
    "acronym", "applet", "basefont", "bgsound", "big", "blink", "center", "dir", "font",
    "frame", "frameset", "image", "isindex", "keygen", "listing", "marquee", "menuitem",
    "multicol", "nextid", "nobr", "noembed", "noframes", "param", "rb", "rtc", "spacer",
    "strike", "tt", "xmp",
)  # fmt: skip
# <plaintext> is left out: it has no end, all that follows is its text, and where it
# sits in an element whose content is text already, that text ends where the element
# does. test_plaintext_shows_the_rest_as_text checks it alone.
UNKNOWN_ELEMENTS = ("my-widget", "x-foo", "foo", "o:p")
# HTML's void elements: written without an end tag, as feeds do.
VOID = frozenset(
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr", "basefont", "bgsound", "frame", "image", "isindex", "keygen", "nextid",
        "param", "spacer",
    }
)  # fmt: skip

# Elements whose words no reader sees, dropped on purpose, and why.
DROPPED = {
    "script": "code",
    "style": "code",
    "template": "inert until a script uses it",
    "noscript": "a plea to turn JavaScript on (its images stay: see test_clean)",
    "title": "the page's title, not the entry's",
    "input": "a form control",
    "button": "a form control",
    "select": "a form control; its options are its choices",
    "datalist": "a form control's suggestions, shown only while typing",
    "textarea": "a form control",
    "iframe": "fallback for browsers without frames; the frame becomes a link",
    "video": "fallback for browsers without video; the video becomes a link",
    "audio": "fallback for browsers without audio; the audio becomes a link",
    "rp": "the parentheses of browsers without ruby; the conversion writes its own",
}
# Markdown cannot hold a link inside code, nor code inside a link: there the link's
# text stays, its address goes.
NO_LINKS_INSIDE = frozenset({"pre", "listing", "xmp"})
NO_LINKS_AROUND = frozenset({"pre"})


@dataclass
class Node:
    name: str
    children: list[Node | str] = field(default_factory=list)


_counter = itertools.count()


def _sentinel() -> str:
    # Letters and digits only: no Markdown escaping touches them.
    return f"zq{next(_counter):05d}z"


ELEMENT_NAMES = st.sampled_from(HTML_ELEMENTS + LEGACY_ELEMENTS + UNKNOWN_ELEMENTS)


def _tree() -> st.SearchStrategy[list[Node | str]]:
    text = st.builds(_sentinel)
    nodes = st.recursive(
        st.one_of(text, st.builds(Node, ELEMENT_NAMES)),
        lambda children: st.builds(Node, ELEMENT_NAMES, st.lists(children, max_size=4)),
        max_leaves=24,
    )
    return st.lists(nodes, min_size=1, max_size=6)


@dataclass
class Body:
    html: str
    required: list[str]  # sentinels a reader sees
    dropped: list[str]  # sentinels inside an element dropped on purpose


def _render(nodes: list[Node | str]) -> Body:
    body = Body("", [], [])
    parts: list[str] = []

    def visit(node: Node | str, inside: frozenset[str]) -> None:
        hidden = bool(inside & DROPPED.keys())
        if isinstance(node, str):
            parts.append(node)
            (body.dropped if hidden else body.required).append(node)
            return
        name = node.name
        attributes, words = _attributes(name)
        parts.append(f"<{name}{attributes}>")
        unlinked = name == "a" and (inside & NO_LINKS_INSIDE or _holds(node, NO_LINKS_AROUND))
        wanted = words if not hidden and not unlinked else []
        (body.required if wanted else body.dropped).extend(words)
        if name == "a":  # a link shows only through its text
            text = _sentinel()
            parts.append(text)
            (body.dropped if hidden else body.required).append(text)
        if name not in VOID:
            for child in node.children:
                visit(child, inside | {name})
            parts.append(f"</{name}>")
        else:  # an unclosed void element's "children" follow it
            for child in node.children:
                visit(child, inside)

    for node in nodes:
        visit(node, frozenset())
    body.html = "".join(parts)
    return body


def _holds(node: Node, names: frozenset[str]) -> bool:
    return any(
        isinstance(child, Node) and (child.name in names or _holds(child, names))
        for child in node.children
    )


def _attributes(name: str) -> tuple[str, list[str]]:
    """The attributes `name` is written with, and the sentinels in those a reader sees."""
    if name == "img":
        alt, title = _sentinel(), _sentinel()
        return f' src="https://example.org/{_sentinel()}.jpg" alt="{alt}" title="{title}"', [
            alt,
            title,
        ]
    if name == "a":
        path, title = _sentinel(), _sentinel()
        return f' href="https://example.org/{path}" title="{title}"', [path, title]
    if name in ("abbr", "acronym"):
        title = _sentinel()
        return f' title="expands to {title}"', [title]
    if name in ("embed", "iframe", "video", "audio", "source", "track"):
        return f' src="https://example.org/{_sentinel()}"', []
    if name == "object":
        return f' data="https://example.org/{_sentinel()}"', []
    return f' title="{_sentinel()}"', []  # a tooltip: not text a reader sees


def _missing(body: Body) -> list[str]:
    markdown = html_to_markdown(body.html, "https://example.org/").markdown
    return [word for word in body.required if word not in markdown]


@settings(max_examples=150, deadline=None)
@given(_tree())
@example([Node("p", ["before"]), Node("embed"), Node("p", ["AFTER"])])
@example([Node("p", ["x", Node("embed"), "y"])])
@example([Node("details", [Node("summary", ["More"]), "hidden"])])
def test_every_visible_word_survives(nodes: list[Node | str]) -> None:
    body = _render(nodes)
    assert _missing(body) == [], body.html


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(DROPPED)), _tree(), _tree())
def test_nothing_after_a_dropped_element_is_lost(
    dropped: str, inside: list[Node | str], after: list[Node | str]
) -> None:
    body = _render([Node(dropped, inside), *after])
    assert _missing(body) == [], body.html


def test_plaintext_shows_the_rest_as_text() -> None:
    markdown = html_to_markdown("<p>a</p><plaintext><b>b</b></plaintext><p>c</p>").markdown
    assert "a" in markdown
    assert "b" in markdown
    assert "c" in markdown


def test_the_oracle_requires_what_a_reader_sees_and_only_that() -> None:
    body = _render(
        [
            Node("p", ["seen1", Node("script", ["code1"])]),
            Node("embed"),
            "seen2",
            Node("video", ["fallback1"]),
        ]
    )
    assert body.required == ["seen1", "seen2"]
    assert body.dropped == ["code1", "fallback1"]
