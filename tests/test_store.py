from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
from datetime import datetime, timezone
from pathlib import Path

import pytest

from archiver.archive.disk import TEMP_PREFIX, Disk, FaultyDisk, Operation, write_atomic
from archiver.archive.store import Archive, id_from_name
from archiver.errors import LockHeldError, StoreError
from archiver.models import FeedState

from .conftest import FIXED_NOW, REPO_ROOT

ID = "61b020c61b8d24fa"


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_write_entries_creates_folders_and_content(tmp_path: Path) -> None:
    archive = Archive(tmp_path)
    archive.write_entries([(f"2021/06/20/a-{ID}.md", "---\ntitle: a\n---\n")])
    assert (tmp_path / f"2021/06/20/a-{ID}.md").read_text() == "---\ntitle: a\n---\n"
    assert files_under(tmp_path) == {f"2021/06/20/a-{ID}.md"}


def test_written_files_get_ordinary_permissions(tmp_path: Path) -> None:
    path = tmp_path / "x.md"
    write_atomic(path, b"x")
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_failed_write_leaves_no_file_and_says_why(tmp_path: Path, code: int) -> None:
    archive = Archive(tmp_path, disk=FaultyDisk("replace", code=code))
    with pytest.raises(StoreError) as caught:
        archive.write_entries([(f"2021/a-{ID}.md", "text")])
    assert os.strerror(code) in str(caught.value)
    assert files_under(tmp_path) == set()


def test_failed_fsync_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(b"old")
    with pytest.raises(OSError, match="Input/output error"):
        write_atomic(path, b"new", disk=FaultyDisk("fsync", code=errno.EIO))
    assert path.read_bytes() == b"old"
    assert files_under(tmp_path) == {"state.json"}


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


def test_id_from_name() -> None:
    assert id_from_name(f"cafe-{ID}.md") == ID
    assert id_from_name(f"{ID}.md") == ID
    assert id_from_name("short-abc.md") is None
    assert id_from_name(f"x-{ID}.md.tmp") is None


def test_state_round_trip_and_no_rewrite_when_unchanged(tmp_path: Path) -> None:
    archive = Archive(tmp_path)
    states = {
        "b": FeedState(url="https://e.org/b", etag='"v1"', last_modified="Mon, 21 Jun 2021"),
        "a": FeedState(
            url="https://e.org/a",
            failing_since=datetime(2026, 11, 24, tzinfo=timezone.utc),
            last_error="HTTP 500",
        ),
    }
    assert archive.save_state(states) is True
    assert archive.load_state(FIXED_NOW) == (states, None)
    before = archive.state_path.stat().st_mtime_ns
    assert archive.save_state(dict(states)) is False
    assert archive.state_path.stat().st_mtime_ns == before
    document = json.loads(archive.state_path.read_text())
    assert list(document["feeds"]) == ["a", "b"]  # sorted, so diffs stay small
    assert "lock" in (tmp_path / ".archiver/.gitignore").read_text()


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"", b'{"version": 99, "feeds": {}}', b'{"version": 1, "feeds": {"a": 3}}'],
    ids=["garbage", "empty", "future-version", "wrong-shape"],
)
def test_damaged_state_is_set_aside_with_a_warning(tmp_path: Path, content: bytes) -> None:
    archive = Archive(tmp_path)
    archive.state_dir.mkdir()
    archive.state_path.write_bytes(content)
    states, warning = archive.load_state(FIXED_NOW)
    assert states == {}
    assert warning is not None and "damaged" in warning
    assert not archive.state_path.exists()
    assert (archive.state_dir / "state.json.corrupt-20261125T120000Z").read_bytes() == content


def test_lock_is_exclusive_within_a_process(tmp_path: Path) -> None:
    archive = Archive(tmp_path)
    with (
        archive.lock(),
        pytest.raises(LockHeldError, match="another run holds the lock"),
        Archive(tmp_path).lock(),
    ):
        pass
    with archive.lock():  # released on exit
        pass


def test_lock_held_by_another_process_and_freed_when_it_dies(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys, pathlib
        from archiver.archive.store import Archive
        with Archive(pathlib.Path({str(tmp_path)!r})).lock():
            print("locked", flush=True)
            sys.stdin.read()
        """
    )
    with subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    ) as holder:
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == "locked"
            with pytest.raises(LockHeldError, match=f"pid {holder.pid}"), Archive(tmp_path).lock():
                pass
        finally:
            holder.kill()  # like SIGKILL from a cron timeout: no cleanup code runs
            holder.wait()
    with Archive(tmp_path).lock():
        pass


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


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="syncfs(2) is Linux's")
def test_linux_flushes_with_syncfs() -> None:
    assert Disk().has_syncfs
