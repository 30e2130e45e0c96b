"""Plain-text helpers: the terminal width of text, and padding by it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archiver.text import pad, plural, width


@pytest.mark.parametrize(
    ("text", "columns"),
    [
        pytest.param("feed", 4, id="ascii"),
        pytest.param("虎嗅网-首页资讯", 15, id="cjk-takes-two-each"),
        pytest.param("ｆｕｌｌ", 8, id="fullwidth-latin"),
        pytest.param("e\u0301te\u0301", 3, id="combining-marks-take-none"),
        pytest.param("", 0, id="empty"),
    ],
)
def test_width_counts_terminal_columns(text: str, columns: int) -> None:
    assert width(text) == columns


@given(st.text(max_size=20), st.integers(min_value=0, max_value=40), st.booleans())
def test_pad_fills_to_the_columns_asked_and_keeps_the_text(
    text: str, columns: int, right: bool
) -> None:
    padded = pad(text, columns, right=right)
    assert width(padded) == max(columns, width(text))
    assert padded.strip(" ") == text.strip(" ")
    assert padded.endswith(text) if right else padded.startswith(text)


def test_rows_of_wide_names_line_up() -> None:
    rows = [("虎嗅网", "ok"), ("bbc-news", "ok")]
    columns = max(width(name) for name, _ in rows)
    lines = [pad(name, columns) + "  " + status for name, status in rows]
    # "ok" starts in the same terminal column on both lines.
    assert {width(line[: line.index("ok")]) for line in lines} == {columns + 2}


def test_plural() -> None:
    assert [plural(n, "entry", "entries") for n in (0, 1, 2)] == [
        "0 entries",
        "1 entry",
        "2 entries",
    ]
