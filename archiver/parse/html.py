"""HTML → a BeautifulSoup tree, with HTML's implied end tags (lxml), built directly.

Every stage that reads HTML parses it here: the feed parser (summaries, titles),
the filters, full text and the Markdown converter.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, cast

from bs4 import BeautifulSoup, Tag
from bs4.builder._lxml import LXMLTreeBuilder
from bs4.element import Comment, NavigableString, PageElement
from lxml import etree

# HTML's void elements (WHATWG HTML, "Void elements"), and the obsolete ones its parser
# also ends where they start ("The 'in body' insertion mode"). libxml2 knows HTML 4's
# list only: to it an unclosed <embed>, <source>, <track> or <wbr> holds everything
# that follows, and dropping or replacing the element would take that text with it.
VOID_ELEMENTS = frozenset(
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr", "basefont", "bgsound", "frame", "image", "keygen", "param",
    }
)  # fmt: skip


def parse_html(markup: str | bytes) -> BeautifulSoup:
    """A tree of `markup`, with HTML's implied end tags (lxml).

    Markup without a tag is wrapped in a paragraph: BeautifulSoup warns that a short
    string like `notes.txt` looks like a file name, and a warning in a cron log is
    noise nobody can act on.
    """
    has_tag = b"<" in markup if isinstance(markup, bytes) else "<" in markup
    if not has_tag:
        markup = b"<p>" + markup + b"</p>" if isinstance(markup, bytes) else f"<p>{markup}</p>"
    return BeautifulSoup(markup, builder=tree_builder(), element_classes=ELEMENT_CLASSES)


_TREE_BUILDERS = threading.local()


def tree_builder() -> DirectTreeBuilder:
    # One per thread: a builder holds the soup it is building, and making one (and
    # its lxml parser) costs more than a short entry's whole tree.
    if not hasattr(_TREE_BUILDERS, "builder"):
        _TREE_BUILDERS.builder = DirectTreeBuilder()
    builder: DirectTreeBuilder = _TREE_BUILDERS.builder
    return builder


class _Unusual(Exception):
    """Markup that DirectTreeBuilder leaves to BeautifulSoup's own way."""


class DirectTreeBuilder(LXMLTreeBuilder):
    """BeautifulSoup's lxml tree builder, building the tree from lxml's events itself.

    BeautifulSoup turns each of lxml's parser events into a string or a tag
    through general machinery (a tag stack, a search for the tag each end tag
    closes, a check of string containers per string), which cost more than the
    conversion itself. The same events build the same tree here, link for link;
    what this does not handle (bytes, a doctype, a processing instruction) goes
    BeautifulSoup's way. A property test holds the two trees equal.

    Both ways end a void element where it starts (see VOID_ELEMENTS), and skip the
    end event libxml2 sends for it later.
    """

    _parser_events: _TreeEvents | None = None
    _ended_at_start: list[bool]  # per element libxml2 holds open: a void ended already?

    def feed(self, markup: str | bytes) -> None:
        if isinstance(markup, str):
            self._ended_at_start = []
            try:
                self._events().build(self.soup, markup)
                return
            except (_Unusual, etree.ParserError, UnicodeError, LookupError):
                self._parser_events = None  # a parser stopped midway is not reused
                assert self.soup is not None
                self.soup.reset()
        self.feed_beautifulsoups_way(markup)

    def feed_beautifulsoups_way(self, markup: str | bytes) -> None:
        """BeautifulSoup's own building of the tree from lxml's events: the markup the
        direct way leaves, and the tree the direct way's must equal."""
        self._ended_at_start = []
        super().feed(markup)

    def _events(self) -> _TreeEvents:
        if self._parser_events is None:
            self._parser_events = _TreeEvents()
        return self._parser_events

    # BeautifulSoup's way: its parser target is this builder.
    def start(self, tag: str | bytes, attrib: Any, nsmap: Any = None) -> None:
        super().start(tag, attrib, nsmap or {})
        void = tag in VOID_ELEMENTS
        self._ended_at_start.append(void)
        if void:
            super().end(tag)

    def end(self, tag: str | bytes) -> None:
        if not self._ended_at_start.pop():
            super().end(tag)


class _TreeEvents:
    """lxml's parser target: a tree of BeautifulSoup elements, as BeautifulSoup's
    own handling of the same events makes it."""

    def __init__(self) -> None:
        # lxml inspects the target's methods when the parser is made: once, not per tree.
        self.parser = etree.HTMLParser(target=self, recover=True)

    def build(self, soup: BeautifulSoup | None, markup: str) -> None:
        assert soup is not None
        self.soup: BeautifulSoup | None = soup
        self.builder = builder = soup.builder
        self.tag_class = cast(type[Tag], soup.element_classes.get(Tag, Tag))
        self.attribute_dict = builder.attribute_dict_class
        self.preserving = builder.preserve_whitespace_tags
        self.containers = builder.string_containers
        self.open: list[Tag] = [soup]
        self.ended_at_start: list[bool] = []  # as DirectTreeBuilder._ended_at_start
        self.last: PageElement | None = None
        self.text: list[str] = []
        self.preserved = 0  # open tags that keep their whitespace (<pre>, <textarea>)
        self.container_tags: list[Tag] = []  # open tags whose strings have a class of their own
        try:
            self.parser.feed(markup)
            self.parser.close()
        finally:
            # Hold no tree between two builds: the last entry's would stay in memory.
            self.soup, self.last, self.open, self.container_tags = None, None, [], []

    # lxml's parser target protocol; from a str, lxml passes only str.
    def start(self, tag: str | bytes, attrib: Mapping[str | bytes, str | bytes]) -> None:
        assert isinstance(tag, str)
        if self.text:
            self._add_text()
        parent = self.open[-1]
        element = self.tag_class(
            self.soup, self.builder, tag, None, None, self.attribute_dict(attrib),
            parent, self.last,
        )  # fmt: skip
        parent.contents.append(element)
        self.last = element
        void = tag in VOID_ELEMENTS
        self.ended_at_start.append(void)
        if void:
            return
        self.open.append(element)
        if tag in self.preserving:
            self.preserved += 1
        if tag in self.containers:
            self.container_tags.append(element)

    def end(self, tag: str | bytes) -> None:
        if self.ended_at_start.pop():
            return
        if self.text:
            self._add_text()
        element = self.open.pop()
        if element.name in self.preserving:
            self.preserved -= 1
        if self.container_tags and self.container_tags[-1] is element:
            self.container_tags.pop()

    def data(self, data: str | bytes) -> None:
        assert isinstance(data, str)
        self.text.append(data)

    def comment(self, text: str | bytes) -> None:
        assert isinstance(text, str)
        if self.text:
            self._add_text()
        self.text.append(text)
        self._add_text(Comment)

    def doctype(self, *args: object) -> None:
        raise _Unusual

    def pi(self, *args: object) -> None:
        raise _Unusual

    def close(self) -> None:
        if self.text:
            self._add_text()

    def _add_text(self, kind: type[NavigableString] | None = None) -> None:
        # As BeautifulSoup.endData: whitespace alone becomes one space or newline.
        text = "".join(self.text)
        self.text = []
        if not self.preserved and not text.strip(BeautifulSoup.ASCII_SPACES):
            text = "\n" if "\n" in text else " "
        if kind is None:
            kind = NavigableString
            if self.container_tags:
                kind = self.containers.get(self.container_tags[-1].name, NavigableString)
        string = kind(text)
        parent = self.open[-1]
        string.setup(parent, self.last)
        parent.contents.append(string)
        self.last = string


class ParentWalkingTag(Tag):
    """A Tag whose `find_parent(name)` walks up the parents and nothing more.

    markdownify asks every tag it converts whether it sits in a <pre>; bs4 answers
    through its general search machinery, which builds a filter per question.
    """

    def find_parent(self, name: Any = None, attrs: Any = None, **kwargs: Any) -> Any:
        if not isinstance(name, str) or attrs or kwargs:
            return super().find_parent(name, attrs or {}, **kwargs)
        parent = self.parent
        while parent is not None and parent.name != name:
            parent = parent.parent
        return parent


# What parse_html's soups are made of; a tree built another way compares equal to
# theirs only if it is made of the same.
ELEMENT_CLASSES: dict[type[PageElement], type[Any]] = {Tag: ParentWalkingTag}
