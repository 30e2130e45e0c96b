"""The archive's lock: one run at a time, freed when its holder dies."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from archiver.archive.store import Archive
from archiver.errors import LockHeldError

from .conftest import REPO_ROOT


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
