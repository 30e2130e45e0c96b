from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from archiver.catalog import _decode, _encode, entry_from_record
from archiver.models import CatalogEntry


def decoded_by_json_loads(line: str) -> CatalogEntry | None:
    """What a catalog line reads as by json.loads, the reference for _decode."""
    try:
        return entry_from_record(json.loads(line))
    except (ValueError, KeyError, TypeError):
        return None


ENTRIES = st.builds(CatalogEntry, st.text(), st.text(), st.text(), st.text(), st.text())


@given(
    ENTRIES,
    st.sampled_from(["", " ", "\t", "\n", "x", "}", "{}", ' {"a": 1}', "\u00a0"]),
    st.sampled_from(["", " ", "\n", "\r\n"]),
    st.integers(min_value=0, max_value=400),
)
def test_a_line_reads_as_json_loads_reads_it(
    entry: CatalogEntry, after: str, before: str, cut: int
) -> None:
    line = _encode(entry)
    assert _decode(line) == entry
    for variant in (before + line.rstrip("\n") + after, line[:cut]):
        assert _decode(variant) == decoded_by_json_loads(variant)


@given(st.text())
def test_any_text_reads_as_json_loads_reads_it(line: str) -> None:
    assert _decode(line) == decoded_by_json_loads(line)
