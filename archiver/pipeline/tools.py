"""What every feed of a run shares: the network, the worker processes, the images."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import httpx

from archiver.archive.store import Archive
from archiver.clock import Clock
from archiver.config.model import Config, FeedConfig
from archiver.convert.fulltext import wants_full_text, with_article
from archiver.convert.images import ImageKeeper
from archiver.errors import FeedError
from archiver.fetch.client import Fetcher, make_client
from archiver.fetch.retry import Sleep
from archiver.models import Entry
from archiver.pipeline.workers import WorkerPool, Workers, default_workers


@dataclass(frozen=True)
class Tools:
    fetcher: Fetcher
    workers: WorkerPool
    images: ImageKeeper
    slots: asyncio.Semaphore  # bounds how many parsed feeds wait in memory at once
    # Bounds the feeds between the start of their fetch and their end: fetching runs
    # ahead of conversion only as far as keeps the workers fed, so a run of thousands
    # of feeds never holds thousands of downloaded bodies.
    admission: asyncio.Semaphore


@contextlib.asynccontextmanager
async def open_tools(
    config: Config,
    archive: Archive,
    feeds: Sequence[FeedConfig],
    *,
    transport: httpx.AsyncBaseTransport | None,
    sleep: Sleep,
    clock: Clock,
    workers: WorkerPool | None = None,
) -> AsyncIterator[Tools]:
    """The network clients, the fetcher, the worker processes (`workers`, or as many as
    the config says) and the image keeper."""
    async with contextlib.AsyncExitStack() as clients:
        client = await clients.enter_async_context(
            make_client(transport, concurrency=config.concurrency)
        )
        insecure = None
        if any(not feed.verify_tls for feed in feeds):
            insecure = await clients.enter_async_context(
                make_client(transport, concurrency=config.concurrency, verify_tls=False)
            )
        fetcher = Fetcher(
            client,
            concurrency=config.concurrency,
            per_host=config.per_host,
            sleep=sleep,
            clock=clock,
            insecure_client=insecure,
            secrets=config.secrets,
        )
        workers = workers or Workers(config.workers or default_workers())
        slots = 2 * workers.count
        yield Tools(
            fetcher,
            workers,
            ImageKeeper(fetcher, archive),
            slots=asyncio.Semaphore(slots),
            # As many fetched feeds waiting as there are slots: with fewer, a run of
            # small or broken feeds left the workers idle while it was downloaded.
            admission=asyncio.Semaphore(config.concurrency + 2 * slots),
        )


async def with_full_text(
    entries: Sequence[Entry], feed: FeedConfig, tools: Tools, warnings: list[str]
) -> list[Entry]:
    """The entries, each with its page's article where the feed asks for it; an entry
    whose page cannot be had or read keeps the feed's text, with a warning."""

    async def one(entry: Entry) -> Entry:
        if entry.link is None or not wants_full_text(entry, feed.fulltext):
            return entry
        try:
            page, final_url = await tools.fetcher.fetch_page(entry.link, feed)
        except FeedError as exc:
            warnings.append(f"entry {entry.link}: the feed's text is kept, no page: {exc}")
            return entry
        article = await tools.workers.extract_article(page, final_url)
        if article is None:
            warnings.append(f"entry {entry.link}: the feed's text is kept, no article found")
            return entry
        return with_article(entry, article, final_url)

    return list(await asyncio.gather(*(one(entry) for entry in entries)))
