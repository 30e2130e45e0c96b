from __future__ import annotations

import posixpath

from hypothesis import given
from hypothesis import strategies as st

from archiver.index import _relative

SEGMENTS = st.sampled_from(["2024", "01", "20", "blog", "a b-0123456789abcdef.md", ".", ".."])


@given(st.lists(SEGMENTS, min_size=1, max_size=5), st.sampled_from(["", "2024/01", "2023/12"]))
def test_links_from_a_page_are_what_posixpath_makes(segments: list[str], folder: str) -> None:
    # Entries below the page's folder take a shortcut; the rest (a path pattern
    # without dates, `..` in a hand-made catalog) must come out the same.
    target = "/".join(segments)
    assert _relative(target, folder) == posixpath.relpath(target, folder or ".")
