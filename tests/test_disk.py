"""Atomic files, and the Disk they are written through."""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from archiver.archive.disk import Disk, FaultyDisk, Operation, write_atomic


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_written_files_get_ordinary_permissions(tmp_path: Path) -> None:
    path = tmp_path / "x.md"
    write_atomic(path, b"x")
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_failed_fsync_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(b"old")
    with pytest.raises(OSError, match="Input/output error"):
        write_atomic(path, b"new", disk=FaultyDisk("fsync", code=errno.EIO))
    assert path.read_bytes() == b"old"
    assert files_under(tmp_path) == {"state.json"}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="syncfs(2) is Linux's")
def test_linux_flushes_with_syncfs() -> None:
    assert Disk().has_syncfs


@pytest.mark.parametrize(
    ("operation", "after", "where", "failing"),
    [
        ("write", 0, None, ["a", "b", "c"]),
        ("write", 2, None, ["c"]),
        ("write", 1, lambda path: path.name != "b", ["c"]),
        ("replace", 0, lambda path: path.name == "b", ["b"]),
        ("fsync", 0, None, ["a", "b", "c"]),
    ],
    ids=["every-write", "after-two", "only-where", "one-target", "fsync"],
)
def test_a_faulty_disk_fails_the_calls_it_is_told_to(
    tmp_path: Path,
    operation: Operation,
    after: int,
    where: Callable[[Path], bool] | None,
    failing: list[str],
) -> None:
    disk = FaultyDisk(operation, after=after, code=errno.EIO, where=where)
    failed = []
    for name in ("a", "b", "c"):
        try:
            write_atomic(tmp_path / name, name.encode(), sync_folder=False, disk=disk)
        except OSError as exc:
            failed.append((name, exc.errno))
    assert failed == [(name, errno.EIO) for name in failing]
    assert files_under(tmp_path) == {"a", "b", "c"} - set(failing)
