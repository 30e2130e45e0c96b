"""The archive's lock: one run at a time writes an archive.

flock is released by the kernel when the process dies, so a killed run never
leaves a lock behind that blocks the next one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from archiver.archive.disk import describe_os_error
from archiver.errors import LockHeldError, StoreError

LOCK_FILE = "lock"
LOCK_POLL_SECONDS = 0.2


@contextlib.contextmanager
def hold_lock(path: Path, archive: Path, wait: float = 0.0) -> Iterator[None]:
    """Hold the lock file `path` of the archive at `archive` for the duration, with this
    process's id in it; LockHeldError if another run keeps it for longer than `wait`
    seconds."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle: IO[str] = open(path, "a+")  # noqa: SIM115
    except OSError as exc:
        raise StoreError(describe_os_error(exc, path)) from exc
    try:
        deadline = time.monotonic() + wait
        while not _try_lock(handle):
            if time.monotonic() >= deadline:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                waited = f" after waiting {wait:g} s" if wait else ""
                raise LockHeldError(
                    f"another run holds the lock on {archive} ({holder}){waited}; "
                    "it is still archiving, try again when it ends (or use --wait)"
                )
            time.sleep(LOCK_POLL_SECONDS)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        yield
    finally:
        handle.close()


def _try_lock(handle: IO[str]) -> bool:
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
