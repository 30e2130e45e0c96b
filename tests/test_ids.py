from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archiver.archive.ids import IdSet, id_from_name
from archiver.archive.store import Archive
from archiver.pipeline.steps import Run

ID = "61b020c61b8d24fa"
IDS = st.integers(min_value=0, max_value=2**64 - 1).map(lambda n: f"{n:016x}")


@given(st.lists(IDS), st.lists(IDS), st.lists(IDS))
def test_an_id_set_holds_what_a_set_of_strings_holds(
    archived: list[str], added: list[str], others: list[str]
) -> None:
    ids = IdSet(archived)
    for entry_id in added:
        ids.add(entry_id)
    expected = {*archived, *added}
    for entry_id in [*archived, *added, *others]:
        assert (entry_id in ids) == (entry_id in expected)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (f"cafe-{ID}.md", ID),
        (f"{ID}.md", ID),
        ("short-abc.md", None),
        (f"x-{ID}.md.tmp", None),
        (f"x-{ID.upper()}.md", None),
    ],
    ids=["after-a-slug", "alone", "too-short", "not-markdown", "upper-case"],
)
def test_id_from_name(name: str, expected: str | None) -> None:
    assert id_from_name(name) == expected


def test_an_archive_s_ids_are_those_its_file_names_give(tmp_path: Path) -> None:
    archive = Archive(tmp_path)
    archive.write_entries(
        [("2024/01/01/a-0123456789abcdef.md", "a"), ("b-fedcba9876543210.md", "b")]
    )
    ids = archive.archived_ids()
    assert "0123456789abcdef" in ids and "fedcba9876543210" in ids
    assert "0123456789abcdee" not in ids
    assert set(archive.scan_ids()) == {"0123456789abcdef", "fedcba9876543210"}


def test_a_run_finds_an_archived_entry_s_path_where_it_is(tmp_path: Path) -> None:
    archive = Archive(tmp_path)
    archive.write_entries([("2024/01/01/a-0123456789abcdef.md", "a")])

    async def paths() -> None:
        ids_scan = asyncio.get_running_loop().create_future()
        ids_scan.set_result(archive.archived_ids())
        with ThreadPoolExecutor(1) as writer:
            run = Run(
                archive,
                ids_scan,
                {},
                {},
                dry_run=False,
                started=datetime(2024, 1, 2, tzinfo=timezone.utc),
                writer=writer,
            )
            # Written in this run: known before it is on disk, without a walk.
            run.archived_ids.add("fedcba9876543210")
            run.written_paths["fedcba9876543210"] = "2024/01/02/b-fedcba9876543210.md"
            assert run.path_of("fedcba9876543210") == "2024/01/02/b-fedcba9876543210.md"
            assert run.archived_paths is None
            assert run.path_of("0123456789abcdef") == "2024/01/01/a-0123456789abcdef.md"

    asyncio.run(paths())
