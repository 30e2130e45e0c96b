"""The Archive: entries written whole or not at all, the ids scan, damaged entries."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from archiver.archive.disk import TEMP_PREFIX, Disk, FaultyDisk, Operation
from archiver.archive.store import Archive
from archiver.errors import StoreError

ID = "61b020c61b8d24fa"


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_write_entries_creates_folders_and_content(tmp_path: Path) -> None:
    archive = Archive(tmp_path)
    archive.write_entries([(f"2021/06/20/a-{ID}.md", "---\ntitle: a\n---\n")])
    assert (tmp_path / f"2021/06/20/a-{ID}.md").read_text() == "---\ntitle: a\n---\n"
    assert files_under(tmp_path) == {f"2021/06/20/a-{ID}.md"}


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_failed_write_leaves_no_file_and_says_why(tmp_path: Path, code: int) -> None:
    archive = Archive(tmp_path, disk=FaultyDisk("replace", code=code))
    with pytest.raises(StoreError) as caught:
        archive.write_entries([(f"2021/a-{ID}.md", "text")])
    assert os.strerror(code) in str(caught.value)
    assert files_under(tmp_path) == set()


def test_refuses_to_write_outside_the_archive(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="outside the archive"):
        Archive(tmp_path / "out").write_entries([(f"../escape-{ID}.md", "x")])


def test_scan_ids_reads_file_names_and_skips_hidden_folders(tmp_path: Path) -> None:
    (tmp_path / "2021/06/20").mkdir(parents=True)
    (tmp_path / f"2021/06/20/title-{ID}.md").write_text("x")
    (tmp_path / "2021/06/20/notes.md").write_text("no id")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git/abcdefabcdefabcd.md").write_text("not an entry")
    (tmp_path / "README.md").write_text("readme")
    assert Archive(tmp_path).scan_ids() == {ID: f"2021/06/20/title-{ID}.md"}


def test_leftover_temporary_files_are_removed_by_the_step_that_owns_their_folder(
    tmp_path: Path,
) -> None:
    (tmp_path / "2021").mkdir()
    (tmp_path / ".archiver").mkdir()
    entry, state = tmp_path / "2021" / f"{TEMP_PREFIX}abc", tmp_path / f".archiver/{TEMP_PREFIX}x"
    for leftover in (entry, state):
        leftover.write_text("half")
    assert Archive(tmp_path).scan_ids(remove_temporary=False) == {}
    assert entry.exists() and state.exists()
    Archive(tmp_path).scan_ids()
    assert not entry.exists()
    # The scan runs beside the run's first state save, whose temporary file this may be.
    assert state.exists()
    Archive(tmp_path).remove_leftovers()
    assert not state.exists()


def test_damaged_entries_are_found_and_left_alone(tmp_path: Path) -> None:
    other = "0123456789abcdef"
    good = tmp_path / f"good-{ID}.md"
    good.write_text(f"---\ntitle: fine\nid: {ID}\n---\n\nbody\n")
    wrong_id = tmp_path / f"renamed-{other}.md"
    wrong_id.write_text(f"---\ntitle: fine\nid: {ID}\n---\n")
    no_header = tmp_path / "sub" / f"plain-{'f' * 16}.md"
    no_header.parent.mkdir()
    no_header.write_text("just notes\n")
    found = dict(Archive(tmp_path).damaged_entries())
    assert set(found) == {f"renamed-{other}.md", f"sub/plain-{'f' * 16}.md"}
    assert "does not match the file name's" in found[f"renamed-{other}.md"]
    assert "no front matter" in found[f"sub/plain-{'f' * 16}.md"]
    assert no_header.read_text() == "just notes\n"


class RecordingDisk(Disk):
    """The real disk, its calls written down (a syncfs with what it finds on disk)."""

    def __init__(self, root: Path, targets: list[str], *, syncfs: bool = True) -> None:
        super().__init__(syncfs=syncfs)
        self.root, self.targets = root, targets
        self.events: list[str] = []

    def fsync(self, path: Path) -> None:
        self.events.append("fsync")
        super().fsync(path)

    def replace(self, source: Path, target: Path) -> None:
        self.events.append("replace")
        super().replace(source, target)

    def syncfs(self, path: Path) -> None:
        temporary = len(list(self.root.rglob(f"{TEMP_PREFIX}*")))
        in_place = sum((self.root / t).exists() for t in self.targets)
        self.events.append(f"syncfs with {temporary} temporary, {in_place} in place")


@pytest.mark.skipif(not Disk().has_syncfs, reason="syncfs(2) is Linux's")
def test_write_entries_flushes_once_then_renames(tmp_path: Path) -> None:
    targets = [f"2021/06/{day:02d}/a-{ID[:-2]}{day:02d}.md" for day in range(1, 6)]
    disk = RecordingDisk(tmp_path, targets)
    Archive(tmp_path, disk=disk).write_entries([(t, f"entry {t}") for t in targets])
    events = disk.events
    # One flush for the five files, the renames, one flush for the five folders.
    assert events == [
        "syncfs with 5 temporary, 0 in place",
        *["replace"] * 5,
        "syncfs with 0 temporary, 5 in place",
    ]
    assert files_under(tmp_path) == set(targets)
    assert (tmp_path / targets[2]).read_text() == f"entry {targets[2]}"


def test_without_syncfs_every_file_is_fsynced(tmp_path: Path) -> None:
    disk = RecordingDisk(tmp_path, [], syncfs=False)
    Archive(tmp_path, disk=disk).write_entries([(f"x/{n}-{ID}.md", "text") for n in "abc"])
    assert disk.events == ["fsync"] * 3 + ["replace"] * 3 + ["fsync"]  # then the one folder
    assert files_under(tmp_path) == {f"x/{n}-{ID}.md" for n in "abc"}


@pytest.mark.parametrize("operation", ["syncfs", "fsync"])
def test_a_failed_flush_puts_nothing_in_place(tmp_path: Path, operation: Operation) -> None:
    # Without syncfs(2), each file's own fsync is the flush.
    disk = FaultyDisk(operation, code=errno.EIO, syncfs=operation == "syncfs")
    if operation == "syncfs" and not disk.has_syncfs:
        pytest.skip("syncfs(2) is Linux's")
    archive = Archive(tmp_path, disk=disk)
    with pytest.raises(StoreError, match="Input/output error"):
        archive.write_entries([(f"x/{n}-{ID}.md", "text") for n in "abc"])
    assert files_under(tmp_path) == set()


def test_a_path_outside_the_archive_in_a_batch_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(StoreError, match="outside the archive"):
        Archive(out).write_entries([(f"a-{ID}.md", "fine"), (f"../escape-{ID}.md", "x")])
    assert files_under(tmp_path) == set()
