from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from archiver.catalog import Catalog, Written, _decode, _decode_written, _encode, entry_from_record
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


WRITTEN = st.builds(Written, st.none() | st.text(), st.text())


@given(ENTRIES, st.none() | WRITTEN)
def test_what_archiver_wrote_reads_back_from_the_line(
    entry: CatalogEntry, written: Written | None
) -> None:
    line = _encode(entry, written)
    assert _decode_written(line) == (entry, written)
    assert _decode(line) == entry  # the index pages' reading ignores it


def line(n: int, title: str, folder: str = "2024") -> CatalogEntry:
    return CatalogEntry(f"{n:016x}", f"{folder}/e-{n:016x}.md", title, "f", "2024-01-01")


def test_of_an_entrys_lines_the_last_wins(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path)
    first, second, gone = line(1, "first"), line(2, "second"), line(3, "gone")
    catalog.append([first, second, gone], {first.id: Written("aaaa", "v1")})
    catalog.append([line(1, "first, again")], {first.id: Written("bbbb", "v2")})
    catalog.append([line(2, "moved", folder="2023")])  # a line for a file no longer there
    catalog.append([line(1, "first, third time")])  # says nothing of what was written
    on_disk = {first.id: first.path, second.id: second.path}
    before = catalog.path.read_bytes()
    assert list(catalog.current(tmp_path, on_disk)) == [line(1, "first, third time"), second]
    assert catalog.path.read_bytes() == before
    assert catalog.written(on_disk) == {
        first.id: (line(1, "first, third time"), None),
        second.id: (second, None),
    }
    assert catalog.written({first.id: first.path, gone.id: "elsewhere.md"}) == {
        first.id: (line(1, "first, third time"), None)
    }
