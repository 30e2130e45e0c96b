"""The HTML tree builder: the tree BeautifulSoup's own lxml builder would build, built
directly from lxml's events."""

from __future__ import annotations

import warnings

import pytest
from bs4 import BeautifulSoup, Tag
from hypothesis import example, given, settings
from hypothesis import strategies as st

from archiver.parse.html import (
    ELEMENT_CLASSES,
    VOID_ELEMENTS,
    DirectTreeBuilder,
    parse_html,
    tree_builder,
)

# fmt: off
_TREE_MARKUP = [
    "<p>", "</p>", "<div class='a  b\tc'>", "</div>", "<pre>", "</pre>", "<textarea>",
    "</textarea>", "<script>", "</script>", "<style>", "</style>", "<template>", "</template>",
    "<ruby>", "<rt>", "</rt>", "<rp>", "</rp>", "<table>", "<tr>", "<td headers='h1 h2'>",
    "</td>", "</table>", "<ul>", "<li>", "</ul>", "<a href='x' rel='nofollow noopener'>",
    "</a>", "<br>", "<br/>", "<img alt", "<input disabled>", "<img src='a.png' alt='x'>",
    "<!-- c -->", "<!---->", "<!--\n-->", "<![CDATA[x]]>", "&amp;", "&nbsp;", "&bogus;", "&#0;",
    "\n", "  ", "\t\n ", "\r\n", "\f", "\xa0", "<!DOCTYPE html>", "<?php echo 1 ?>",
    "<?xml version='1.0'?>", "\ufeff", "<", ">", "&", "</", "<svg:rect x='1'/>", "<o:p>",
    "</o:p>", "<html>", "<body>", "<head><title>t</title></head>", "中文", "<embed src=x>",
    "</embed>", "<source srcset='a 1x'>", "<track>", "<wbr>", "</wbr>", "<keygen>", "<li>",
    "<param name=a>", "<image>", "<br></br>",
]
# fmt: on
_TREE_PIECES = st.one_of(st.text(max_size=12), st.sampled_from(_TREE_MARKUP))


def _tree_shape(soup: BeautifulSoup) -> list[tuple[object, ...]]:
    """Every node of the tree: its kind, name or text, attributes and links to others."""
    nodes = [soup, *soup.descendants]
    position = {id(node): i for i, node in enumerate(nodes)}

    def at(node: object) -> int | None:
        return None if node is None else position[id(node)]

    shape: list[tuple[object, ...]] = []
    for node in nodes:
        tag = node if isinstance(node, Tag) else None
        shape.append(
            (
                type(node).__name__,
                tag.name if tag else str(node),
                [(type(tag.attrs).__name__, k, type(v).__name__, v) for k, v in tag.attrs.items()]
                if tag
                else None,
                [at(node.parent), at(node.previous_element), at(node.next_element)],
                [at(node.previous_sibling), at(node.next_sibling)],
                [at(child) for child in tag.contents] if tag else None,
                (tag.can_be_empty_element, tag.interesting_string_types) if tag else None,
            )
        )
    return shape


class _BeautifulSoupsWay(DirectTreeBuilder):
    """The tree builder, always taking BeautifulSoup's own way."""

    def feed(self, markup: str | bytes) -> None:
        self.feed_beautifulsoups_way(markup)


class _NeverBeautifulSoupsWay(DirectTreeBuilder):
    """The tree builder, failing where it would take BeautifulSoup's own way."""

    def feed_beautifulsoups_way(self, markup: str | bytes) -> None:
        raise AssertionError("BeautifulSoup's own tree building was used")


@settings(max_examples=400, deadline=None)
@given(st.lists(_TREE_PIECES, min_size=1, max_size=25).map("".join))
@example("<p>a <!-- c --> b</p><pre>  <b> x </b>\n</pre> <script> <i>s</i></script>")
@example("<!DOCTYPE html><p>fallback</p>")
@example("<li>a<embed src=x><li>b<wbr>c</wbr><p>d<source><track>e</p>")
def test_the_tree_is_the_one_beautifulsoup_builds(markup: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # BeautifulSoup's warnings about odd markup
        expected = BeautifulSoup(
            markup, builder=_BeautifulSoupsWay(), element_classes=ELEMENT_CLASSES
        )
        built = BeautifulSoup(markup, builder=tree_builder(), element_classes=ELEMENT_CLASSES)
    assert _tree_shape(built) == _tree_shape(expected)


def test_without_html5s_void_elements_the_tree_is_lxmls() -> None:
    markup = "<ul><li>a<br>b<li><img src=x>c</ul><p>d<hr>e"
    plain = BeautifulSoup(markup, "lxml", element_classes=ELEMENT_CLASSES)
    built = BeautifulSoup(markup, builder=_BeautifulSoupsWay(), element_classes=ELEMENT_CLASSES)
    assert _tree_shape(built) == _tree_shape(plain)


@pytest.mark.parametrize("builder", [DirectTreeBuilder, _BeautifulSoupsWay])
@pytest.mark.parametrize("void", sorted(VOID_ELEMENTS))
def test_a_void_element_holds_nothing(builder: type[DirectTreeBuilder], void: str) -> None:
    # libxml2 knows only HTML 4's void elements: left to it, the rest hold what follows them.
    soup = BeautifulSoup(f"<div>a<{void} x=1>b<p>c</p></div>", builder=builder())
    element = soup.find(void)
    assert isinstance(element, Tag)
    assert element.contents == []
    assert soup.div is not None and soup.div.get_text() == "abc"


def test_ordinary_markup_never_takes_beautifulsoups_way() -> None:
    def parse(markup: str) -> BeautifulSoup:
        return BeautifulSoup(markup, builder=_NeverBeautifulSoupsWay())

    soup = parse("<p class='a b'>x <!-- c --><a href='/y'>y</a></p><pre> z </pre>")
    assert [t.name for t in soup.find_all(True)] == ["html", "body", "p", "a", "pre"]
    assert soup.p is not None and soup.p["class"] == ["a", "b"]
    with pytest.raises(AssertionError, match="own tree building"):
        parse("<!DOCTYPE html><p>x</p>")  # a doctype goes BeautifulSoup's way


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        pytest.param("notes.txt", "<p>notes.txt</p>", id="text-without-a-tag"),
        pytest.param(b"notes.txt", "<p>notes.txt</p>", id="bytes-without-a-tag"),
        pytest.param("<b>x</b>", "<b>x</b>", id="markup"),
    ],
)
def test_parse_html_puts_bare_text_in_a_paragraph(markup: str | bytes, expected: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "looks like a file name" warning
        soup = parse_html(markup)
    assert soup.body is not None and soup.body.decode_contents() == expected
