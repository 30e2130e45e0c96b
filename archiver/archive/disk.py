"""Atomic files: written under a temporary name, flushed to disk, renamed into place.

Every write of the archive goes through a `Disk`, the four file system calls it makes
(write a temporary file, fsync, replace, syncfs). The real one is the default; a
`FaultyDisk` fails one of them with an errno, so that what a full disk or a failing
device does to a run can be tested without touching the operating system:

    Archive(root, disk=FaultyDisk("replace", after=2, code=errno.ENOSPC))
    run_async(config, options, disk=FaultyDisk("write", code=errno.EIO))
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal, cast

TEMP_PREFIX = ".archiver-tmp-"

Operation = Literal["write", "fsync", "replace", "syncfs"]


def _load_syncfs() -> Callable[[int], int] | None:
    """Linux's syncfs(2), which Python's os module does not offer; None elsewhere.

    Since Linux 5.8 it reports write-back errors as fsync does; it flushes the
    whole file system, so its cost is one flush, not one per file.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        syncfs = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    syncfs.argtypes = [ctypes.c_int]
    syncfs.restype = ctypes.c_int
    return cast("Callable[[int], int]", syncfs)


_SYNCFS = _load_syncfs()


@functools.cache
def _file_mode() -> int:
    # mkstemp creates files readable by their owner only; archive files should
    # get the permissions any new file gets, so read the umask (once: reading
    # it means setting it).
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


class Disk:
    """The file system calls through which the archive writes: the real ones.

    `syncfs=False` flushes with an fsync per file even where Linux offers syncfs(2).
    Subclass it to watch or fail the calls (FaultyDisk does the latter).
    """

    def __init__(self, *, syncfs: bool = True) -> None:
        self.has_syncfs = syncfs and _SYNCFS is not None

    def write_temporary(self, path: Path, data: bytes) -> Path:
        """`data` in a new temporary file beside `path` (not yet flushed to disk)."""
        fd, tmp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(handle.fileno(), _file_mode())
                handle.write(data)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
        return tmp

    def fsync(self, path: Path) -> None:
        """fsync a file or a folder (a folder's fsync makes the names in it durable)."""
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def replace(self, source: Path, target: Path) -> None:
        os.replace(source, target)

    def syncfs(self, path: Path) -> None:
        """Flush the whole file system that holds `path` (only where `has_syncfs`)."""
        if _SYNCFS is None:
            raise OSError(errno.ENOSYS, os.strerror(errno.ENOSYS), str(path))
        fd = os.open(path, os.O_RDONLY)
        try:
            if _SYNCFS(fd) != 0:
                code = ctypes.get_errno()
                raise OSError(code, os.strerror(code), str(path))
        finally:
            os.close(fd)


class FaultyDisk(Disk):
    """A Disk whose `operation` fails with OSError(`code`) once `after` calls of it have
    succeeded, as a full disk (ENOSPC) or a failing device (EIO) makes it fail. Only the
    calls on paths `where` accepts count and fail (for a write or a replace, the path is
    the target's). Every other call is the real one."""

    def __init__(
        self,
        operation: Operation,
        *,
        after: int = 0,
        code: int = errno.ENOSPC,
        where: Callable[[Path], bool] | None = None,
        syncfs: bool = True,
    ) -> None:
        super().__init__(syncfs=syncfs)
        self.operation = operation
        self.after = after
        self.code = code
        self.where = where
        self.calls = 0  # of `operation`, on the paths `where` accepts

    def _call(self, operation: Operation, path: Path) -> None:
        if operation != self.operation or (self.where is not None and not self.where(path)):
            return
        self.calls += 1
        if self.calls > self.after:
            raise OSError(self.code, os.strerror(self.code), str(path))

    def write_temporary(self, path: Path, data: bytes) -> Path:
        self._call("write", path)
        return super().write_temporary(path, data)

    def fsync(self, path: Path) -> None:
        self._call("fsync", path)
        super().fsync(path)

    def replace(self, source: Path, target: Path) -> None:
        self._call("replace", target)
        super().replace(source, target)

    def syncfs(self, path: Path) -> None:
        self._call("syncfs", path)
        super().syncfs(path)


REAL_DISK = Disk()


def write_atomic(
    path: Path, data: bytes, *, sync_folder: bool = True, disk: Disk = REAL_DISK
) -> None:
    """Write `data` to `path` so that readers see the old file or the new one, never a part.

    A temporary file in the same folder is written, flushed to disk and renamed
    over the target; the folder is synced so the rename survives a power cut
    (or, with sync_folder=False, left for the caller to sync once for many files).
    On any error the temporary file is removed and the target left as it was.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = disk.write_temporary(path, data)
    try:
        disk.fsync(tmp)
        disk.replace(tmp, path)
        if sync_folder:
            disk.fsync(path.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def write_if_changed(path: Path, data: bytes, *, disk: Disk = REAL_DISK) -> bool:
    """Write atomically unless the file already holds exactly `data`; True when written."""
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    write_atomic(path, data, disk=disk)
    return True


def flush_to_disk(paths: Sequence[Path], disk: Disk = REAL_DISK) -> None:
    """Make the files or folders durable (a folder: the names in it): with one syncfs per
    file system where the disk has it, else with an fsync each."""
    if not disk.has_syncfs or len(paths) < 2:  # for one, its own fsync is the smaller flush
        for path in paths:
            disk.fsync(path)
        return
    devices: dict[int, Path] = {}
    for path in paths:
        devices.setdefault(path.stat().st_dev, path)
    for path in devices.values():
        disk.syncfs(path)


def describe_os_error(exc: OSError, path: Path) -> str:
    """What a person reads when a write fails, with what to do about it where we know."""
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    hint = {
        errno.ENOSPC: "free some space and run again; nothing half-written was kept",
        errno.EDQUOT: "free some space and run again; nothing half-written was kept",
        errno.EROFS: "the archive is on a read-only file system",
        errno.EACCES: "check the archive folder's permissions",
        errno.EPERM: "check the archive folder's permissions",
    }.get(exc.errno or 0)
    return f"cannot write {path}: {reason}" + (f" ({hint})" if hint else "")
