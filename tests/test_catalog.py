from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from archiver.archive.catalog import (
    Catalog,
    Written,
    _decode,
    _decode_written,
    _encode,
    _id_of,
    entry_from_record,
)
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
    assert _decode(line) == entry  # the pages' reading ignores it


def line(n: int, title: str, folder: str = "2024") -> CatalogEntry:
    return CatalogEntry(f"{n:016x}", f"{folder}/e-{n:016x}.md", title, "f", "2024-01-01")


def test_of_an_entrys_lines_the_last_wins(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path)
    first, second, gone = line(1, "first"), line(2, "second"), line(3, "gone")
    catalog.append([first, second, gone], {first.id: Written("aaaa", "v1")})
    catalog.append([line(1, "first, again")], {first.id: Written("bbbb", "v2")})
    catalog.append([line(2, "moved", folder="2023")])  # a line for a file no longer there
    catalog.append([line(1, "first, third time")])  # says nothing of what was written
    third, fourth = line(4, "third"), line(5, "fourth")
    catalog.append([third, fourth])
    with open(catalog.path, "a", encoding="utf-8") as handle:  # lines written otherwise
        handle.write(
            json.dumps(
                asdict(replace(third, title="third, by hand")), indent=None, separators=(",", ":")
            )
            + "\n"
        )
        handle.write(json.dumps(asdict(replace(fourth, title="fourth, by hand"))) + "\n")
    on_disk = {e.id: e.path for e in (first, second, third, fourth)}
    before = catalog.path.read_bytes()
    assert list(catalog.current(tmp_path, on_disk)) == [
        line(1, "first, third time"),
        second,
        line(4, "third, by hand"),
        line(5, "fourth, by hand"),
    ]
    assert catalog.path.read_bytes() == before
    assert catalog.written({first.id: first.path, second.id: second.path}) == {
        first.id: (line(1, "first, third time"), None),
        second.id: (second, None),
    }
    assert catalog.written({first.id: first.path, gone.id: "elsewhere.md"}) == {
        first.id: (line(1, "first, third time"), None)
    }


@given(ENTRIES, st.none() | WRITTEN)
def test_the_id_is_found_on_a_line_without_decoding_it(
    entry: CatalogEntry, written: Written | None
) -> None:
    found = _id_of(_encode(entry, written))
    escaped = json.dumps(entry.id, ensure_ascii=False)[1:-1] != entry.id
    assert found == (None if escaped else entry.id)


@given(st.text())
def test_an_id_found_on_any_line_is_the_id_it_decodes_to(line: str) -> None:
    entry = _decode(line)
    found = _id_of(line)
    assert found is None or entry is None or found == entry.id
