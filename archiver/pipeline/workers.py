"""Parsing and conversion, the CPU-bound stages, spread over every core.

Worker processes do the work and hand back plain data (ParsedFeed, Document);
the main process keeps the network, the archived ids and every write, so
no two processes ever touch the same file. With one worker (or one core) the
same functions run in a thread of the main process instead.

The pool outlives a run: `archiver run` makes one, and a program that runs
the pipeline many times (the test suite) pays for starting it once.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from datetime import datetime
from typing import Any, Protocol, TypeVar

from archiver.config.model import FeedConfig
from archiver.convert.fulltext import extract_article
from archiver.models import Document, Entry, FetchResult, ParsedFeed
from archiver.pipeline.memory import return_large_blocks

# Entries converted per task: big enough that pickling is small beside the work,
# small enough that one long feed still spreads over every core.
BATCH_SIZE = 16

T = TypeVar("T")

_pools: dict[int, ProcessPoolExecutor] = {}

# Ctrl-C reaches every process of the terminal's group, and a SIGTERM sent to the group
# (systemd stopping a service, a CI runner cancelling a job) reaches them too: the main
# process stops the run and then its workers. A worker stopped first breaks the pool under
# the tasks the main process is winding down, and before Python 3.12 (CPython gh-107219)
# concurrent.futures then prints a traceback.
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def shared_pool(workers: int) -> ProcessPoolExecutor:
    """The pool of this many worker processes, started now if no other Workers has it."""
    if workers not in _pools:
        # spawn, not fork: forking a process that runs an event loop and threads
        # can copy a held lock into the child.
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker)
        with _stop_signals_ignored():
            # The pool starts a process per task while none is idle: these start them
            # all now, and a process started while the stop signals are ignored keeps
            # ignoring them from its first instruction, before the initializer, during
            # its imports.
            for _ in range(workers):
                pool.submit(_started)
        _pools[workers] = pool
        atexit.register(pool.shutdown, cancel_futures=True)
    return _pools[workers]


@contextlib.contextmanager
def _stop_signals_ignored() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may change how signals are handled
        return
    previous = {number: signal.signal(number, signal.SIG_IGN) for number in _STOP_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _started() -> None:
    """A task that does nothing: submitting it makes the pool start a worker."""


def _release_pool(pool: Executor) -> None:
    """Stop the pool now rather than at exit; the next Workers of its size start another."""
    for size, shared in list(_pools.items()):
        if shared is pool:
            del _pools[size]
    pool.shutdown(cancel_futures=True)


def _start_worker() -> None:
    # Started by shared_pool they ignore the stop signals already; this covers any
    # started later.
    for number in _STOP_SIGNALS:
        signal.signal(number, signal.SIG_IGN)
    _exit_with_parent()
    return_large_blocks()
    # The parser and the converter load now, while the main process downloads, rather
    # than in the first task.
    import archiver.convert.document  # noqa: PLC0415
    import archiver.parse.feed  # noqa: PLC0415, F401


def _exit_with_parent() -> None:
    """End this worker when the process that started it ends.

    A main process killed outright (SIGKILL, the OOM killer) cannot stop its
    workers, and they would wait for work forever, one pair more per killed
    cron run.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)  # at once: there is no one left to hand results to

    threading.Thread(target=watch, name="archiver-parent-watch", daemon=True).start()


def convert_batch(
    entries: Sequence[Entry], feed: FeedConfig, parsed: ParsedFeed, first_seen: datetime
) -> list[Document | str]:
    """Each entry's Document, or why it could not be converted."""
    # Imported here, and in parse_fetched: the main process imports this module too, and
    # a run in which no feed has anything new never loads the parser or the converter.
    from archiver.convert.document import build_document  # noqa: PLC0415

    results: list[Document | str] = []
    for entry in entries:
        try:
            results.append(build_document(entry, feed=feed, parsed=parsed, first_seen=first_seen))
        except Exception as exc:  # one entry that breaks a library must not cost the rest
            results.append(f"entry {entry.link or entry.guid or entry.id} skipped: {exc!r}")
    return results


def parse_fetched(fetched: FetchResult) -> ParsedFeed:
    from archiver.parse.feed import parse_feed  # noqa: PLC0415

    return parse_feed(
        fetched.body, url=fetched.url, headers=fetched.headers, id_url=fetched.feed_url
    )


class WorkerPool(Protocol):
    """Where a run parses and converts: `Workers`, or a stand-in a test passes to run_async."""

    @property
    def count(self) -> int: ...

    def release(self) -> None: ...

    async def parse(self, fetched: FetchResult) -> ParsedFeed: ...

    async def extract_article(self, page: bytes, url: str) -> str | None: ...

    async def convert(
        self, entries: Sequence[Entry], feed: FeedConfig, parsed: ParsedFeed, first_seen: datetime
    ) -> list[Document | str]: ...


class Workers:
    """`count` worker processes, shared by every Workers of that size and started by the
    first feed that needs them (through `start_pool`); with one, a thread of this process."""

    def __init__(self, workers: int, start_pool: Callable[[int], Executor] = shared_pool) -> None:
        self.count = workers
        self._pool: Executor | None = None
        self._start_pool = start_pool
        self._may_start_pool = workers > 1  # one worker: a thread of this process

    def release(self) -> None:
        """Stop the worker processes: a command done with them gives their memory back
        before it builds the pages, which is when a
        large archive's run needs the most in the main process."""
        if self._pool is not None:
            _release_pool(self._pool)
            self._pool = None
        self._may_start_pool = False

    def _executor(self) -> Executor | None:
        # Started by the first feed that needs one: an hourly run whose feeds all
        # answer 304 or are unchanged never pays for starting them.
        if self._pool is None and self._may_start_pool:
            self._pool = self._start_pool(self.count)
        return self._pool

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        pool = self._executor()
        if pool is None:
            # In a thread, so the event loop keeps the other downloads moving.
            return await asyncio.to_thread(function, *args)
        return await asyncio.get_running_loop().run_in_executor(pool, function, *args)

    async def parse(self, fetched: FetchResult) -> ParsedFeed:
        return await self._call(parse_fetched, fetched)

    async def extract_article(self, page: bytes, url: str) -> str | None:
        return await self._call(extract_article, page, url)

    async def convert(
        self, entries: Sequence[Entry], feed: FeedConfig, parsed: ParsedFeed, first_seen: datetime
    ) -> list[Document | str]:
        # The entries travel in the batches; the feed's own entries need not go along, nor
        # its secrets.
        header = ParsedFeed(parsed.title, parsed.home_url, parsed.image, ())
        batches = [entries[i : i + BATCH_SIZE] for i in range(0, len(entries), BATCH_SIZE)]
        results = await asyncio.gather(
            *(
                self._call(convert_batch, batch, feed.public(), header, first_seen)
                for batch in batches
            )
        )
        return [document for batch in results for document in batch]
