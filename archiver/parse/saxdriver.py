"""The SAX driver feedparser reads XML with: expat, handing over each text whole.

expat reports text in pieces, a new one at every entity and every line: an entry
whose HTML is escaped (`&lt;p&gt;`) arrives as hundreds of pieces, and feedparser
handles every piece in Python. Buffered, expat joins them first; feedparser joins
pieces anyway, so what it makes of a feed is the same (BENCHMARKS.md has the figures).

`xml.sax.make_parser` takes drivers by module name; feedparser asks for the ones
in `feedparser.api.PREFERRED_XML_PARSERS`, and `use()` puts this one first.
"""

from __future__ import annotations

from typing import Any
from xml.sax import expatreader

import feedparser.api

BUFFER_SIZE = 1 << 16  # characters; longer texts still come in pieces of this size


class BufferedExpatParser(expatreader.ExpatParser):
    _parser: Any  # the pyexpat parser, which ExpatParser.reset() creates

    def reset(self) -> None:
        super().reset()
        self._parser.buffer_text = True
        self._parser.buffer_size = BUFFER_SIZE


def create_parser(*args: Any, **kwargs: Any) -> BufferedExpatParser:
    """What xml.sax.make_parser calls on a driver module."""
    return BufferedExpatParser(*args, **kwargs)


def use() -> None:
    """Make feedparser read XML with this driver (idempotent)."""
    if feedparser.api.PREFERRED_XML_PARSERS[:1] != [__name__]:
        feedparser.api.PREFERRED_XML_PARSERS.insert(0, __name__)
