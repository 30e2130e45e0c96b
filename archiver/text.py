"""Plain-text helpers shared by the parsers, the converter and the messages."""

from __future__ import annotations

import re
import unicodedata

_WHITESPACE = re.compile(r"\s+")


def _is_unwanted(char: str) -> bool:
    # Cc: NUL, escape and other controls; Cs: lone surrogates from broken
    # decoders, which cannot be written as UTF-8. Format characters (Cf) stay:
    # they join emoji and mark right-to-left runs.
    return unicodedata.category(char) in ("Cc", "Cs") or char in "\ufffe\uffff"


def clean_line(text: str | None) -> str | None:
    """`text` on one line, without control characters; None when nothing is left."""
    if text is None:
        return None
    text = _WHITESPACE.sub(" ", text)
    if not text.isprintable():
        text = "".join(c for c in text if not _is_unwanted(c))
    text = text.strip()
    return text or None


def excerpt(text: str, max_chars: int) -> str:
    """The start of `text`, cut at a word boundary where there is one, with an ellipsis."""
    text = _WHITESPACE.sub(" ", text).strip()
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    space = cut.rfind(" ")
    if space > max_chars // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:") + "…"


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """`count` and the noun that goes with it: 1 feed, 2 feeds, 0 feeds."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def width(text: str) -> int:
    """The columns `text` takes on a terminal: two for a wide (CJK) character, none for
    a combining mark."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


def pad(text: str, columns: int, *, right: bool = False) -> str:
    """`text` filled with spaces to `columns` on a terminal (at its left, `right`)."""
    fill = " " * max(0, columns - width(text))
    return fill + text if right else text + fill
