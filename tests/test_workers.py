"""Workers: where feeds are parsed and entries converted, and when processes start and stop."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any, TypeVar

import pytest

from archiver.config.load import parse_config
from archiver.config.model import Access, FeedConfig
from archiver.models import Document, Entry, FetchResult, ParsedFeed
from archiver.pipeline.workers import BATCH_SIZE, Workers, convert_batch, shared_pool

from .conftest import an_entry

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
FEED = parse_config("feeds:\n  - name: f\n    url: https://example.org/feed.xml\n").feeds[0]
HEADER = ParsedFeed("t", None, None, ())
RSS = b"<rss version='2.0'><channel><title>t</title><item><title>a</title></item></channel></rss>"

_T = TypeVar("_T")


def entry(entry_id: str, content: Any = "<p>text</p>") -> Entry:
    return an_entry(
        id=entry_id, title=entry_id, link=f"https://example.org/{entry_id}", content=content
    )


class CountingPool(ThreadPoolExecutor):
    """A pool of threads in place of processes, counting the tasks it is given."""

    def __init__(self) -> None:
        super().__init__(2)
        self.tasks: list[str] = []

    def submit(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> Future[_T]:
        self.tasks.append(fn.__name__)
        return super().submit(fn, *args, **kwargs)


def test_an_entry_that_breaks_conversion_costs_only_itself() -> None:
    broken = entry("broken", content=None)  # as a library that raises on an entry would
    results = convert_batch([entry("a"), broken, entry("b")], FEED, HEADER, NOW)
    assert [r.id if isinstance(r, Document) else r for r in results] == [
        "a",
        "entry https://example.org/broken skipped: "
        "TypeError(\"argument of type 'NoneType' is not iterable\")",
        "b",
    ]


def test_one_worker_is_a_thread_of_this_process_and_starts_no_pool() -> None:
    started: list[int] = []

    def start(count: int) -> Executor:
        started.append(count)
        raise AssertionError("one worker needs no pool")

    workers = Workers(1, start_pool=start)
    parsed = asyncio.run(workers.parse(FetchResult(200, "https://example.org/feed.xml", {}, RSS)))
    assert [e.title for e in parsed.entries] == ["a"]
    assert started == []


def test_the_pool_starts_with_the_first_task_and_entries_go_in_batches() -> None:
    pools: list[CountingPool] = []

    def start(count: int) -> Executor:
        assert count == 2
        pools.append(CountingPool())
        return pools[-1]

    workers = Workers(2, start_pool=start)
    assert pools == [], "started before there was work"
    entries = [entry(f"e{i}") for i in range(BATCH_SIZE + 1)]
    results = asyncio.run(workers.convert(entries, FEED, HEADER, NOW))
    assert [r.id for r in results if isinstance(r, Document)] == [e.id for e in entries]
    asyncio.run(workers.convert(entries[:1], FEED, HEADER, NOW))
    (pool,) = pools
    assert pool.tasks == ["convert_batch"] * 3
    workers.release()
    with pytest.raises(RuntimeError):  # released: it takes no more work
        pool.submit(print)


def test_the_feed_s_secrets_stay_in_the_main_process() -> None:
    access = Access(FEED.url, credential_headers=(("Authorization", "Bearer s3cret"),))
    secret = dataclasses.replace(FEED, access=access)
    seen: list[Any] = []

    class Watching(ThreadPoolExecutor):
        def submit(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> Future[_T]:
            seen.extend(args)
            return super().submit(fn, *args, **kwargs)

    workers = Workers(2, start_pool=lambda count: Watching(1))
    asyncio.run(workers.convert([entry("a")], secret, HEADER, NOW))
    (sent,) = [arg for arg in seen if isinstance(arg, FeedConfig)]
    assert sent.access is None and sent.name == "f"
    workers.release()


def test_a_released_shared_pool_is_stopped_and_the_next_starts_anew() -> None:
    workers = Workers(2)
    asyncio.run(workers.convert([entry("a")], FEED, HEADER, NOW))
    pool = shared_pool(2)  # the one the workers started
    assert shared_pool(2) is pool, "the pool of a size is shared"
    workers.release()
    with pytest.raises(RuntimeError):
        pool.submit(print)
    again = Workers(2)
    asyncio.run(again.convert([entry("b")], FEED, HEADER, NOW))
    assert shared_pool(2) is not pool
