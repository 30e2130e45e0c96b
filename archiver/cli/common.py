"""What the commands share: exit statuses, what every command is handed, how a long
command is stopped, and the --report file."""

from __future__ import annotations

import contextlib
import json
import shlex
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeVar

from archiver.archive.disk import REAL_DISK, Disk
from archiver.config.model import DEFAULT_CONFIG_PATH, Config, FeedConfig
from archiver.config.secrets import Redactor
from archiver.errors import LockHeldError, StoreError
from archiver.report.console import error

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from archiver.archive.shard import Shard

T = TypeVar("T")

EXIT_OK = 0
EXIT_FEED_FAILED = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3
# Stopped by a signal, as a shell reports it: 128 + the signal's number.
EXIT_INTERRUPTED = 128 + signal.SIGINT
EXIT_TERMINATED = 128 + signal.SIGTERM


@dataclass(frozen=True)
class Invocation:
    """What a command is handed besides its arguments."""

    stdout: TextIO
    stderr: TextIO
    env: Mapping[str, str]
    stdin: TextIO  # where `add` asks which feed, when it is a terminal
    # Whether `run` and `backfill` stop their worker processes once the feeds are done,
    # before the pages are built (see Workers.release): the `archiver` command does, being
    # about to exit; a program that runs commands in-process keeps one pool for them all.
    release_workers: bool = False
    disk: Disk = REAL_DISK  # what a run writes the archive through (a FaultyDisk in a test)


def no_feeds_yet(config_path: Path) -> str:
    add = "archiver add URL"
    if config_path != DEFAULT_CONFIG_PATH:
        add += f" --config {shlex.quote(str(config_path))}"
    return f"no feeds yet; add one with `{add}`"


def no_archive_at(output: Path, stderr: TextIO) -> bool:
    """True, once said, when `output` is no folder: a mistyped --output is not an empty
    archive (and `index` would make one there)."""
    if output.is_dir():
        return False
    error(stderr, f"{output}: no archive there (no such folder)")
    return True


def selected(
    config: Config, names: tuple[str, ...], shard: Shard | None, stderr: TextIO
) -> tuple[FeedConfig, ...] | None:
    """The feeds a run or a backfill takes; None, once said why, when it cannot start:
    an unknown name, or a variable one of them needs is not set."""
    from archiver.pipeline.decide import select_feeds

    try:
        feeds = select_feeds(config, names, shard)
    except KeyError as exc:
        known = ", ".join(f.name for f in config.feeds) or "none"
        error(stderr, f"no feed named {exc.args[0]!r} in {config.source} (known: {known})")
        return None
    unset = config.unset_for(feeds)
    for problem in unset:
        error(stderr, str(problem))
    return None if unset else tuple(feeds)


def until_stopped(work: Awaitable[T], stderr: TextIO, stopped: str) -> T | int:
    """What `work` returns, or the exit status of what stopped it, once said (with
    `stopped`: what is kept of the work)."""
    import asyncio

    try:
        return asyncio.run(_stoppable(work))
    except LockHeldError as exc:
        error(stderr, str(exc))
        return EXIT_LOCKED
    except StoreError as exc:
        error(stderr, str(exc))
        return EXIT_FEED_FAILED
    except KeyboardInterrupt:
        error(stderr, f"interrupted: {stopped}")
        return EXIT_INTERRUPTED
    except asyncio.CancelledError:  # SIGTERM, by _stoppable
        error(stderr, f"terminated (SIGTERM): {stopped}")
        return EXIT_TERMINATED


async def _stoppable(run: Awaitable[T]) -> T:
    """`run`, which SIGTERM (cron's `timeout`, a cancelled CI job, systemd) stops the way
    asyncio stops it on Ctrl-C: at its next await, so the feeds already archived keep
    their state, the writes under way finish, and the lock is released."""
    import asyncio

    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    handled = False
    # No signal handlers outside the main thread, nor on Windows: SIGTERM then kills.
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
        handled = True
    try:
        return await run
    finally:
        if handled:
            loop.remove_signal_handler(signal.SIGTERM)


def write_report(path: Path, record: object, redactor: Redactor, stderr: TextIO) -> bool:
    """The --report file, every secret of the run replaced; False, once said, if it could
    not be written."""
    from archiver.archive.disk import write_atomic

    document = redactor.text(json.dumps(record, ensure_ascii=False, indent=2) + "\n")
    try:
        write_atomic(path, document.encode("utf-8"))
    except OSError as exc:
        error(stderr, f"cannot write the report {path}: {exc.strerror}")
        return False
    return True
