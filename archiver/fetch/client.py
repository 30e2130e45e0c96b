"""The Fetcher: conditional GET of feeds, and of the images and pages their content names,
within connection limits, size limits, deadlines and retries."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

import httpx

from archiver.about import HOMEPAGE, __version__
from archiver.clock import Clock, utcnow
from archiver.config.model import FeedConfig
from archiver.config.secrets import Redactor, redact_url, without_userinfo
from archiver.errors import FetchError
from archiver.fetch.body import read_body
from archiver.fetch.guard import private_address_problem
from archiver.fetch.messages import (
    FEED,
    IMAGE,
    PAGE,
    Target,
    not_of_type,
    redacted,
    status_error,
    too_many_redirects,
    transport_error,
)
from archiver.fetch.redirects import (
    MAX_REDIRECTS,
    credentials_for,
    moved_permanently,
    redirect_target,
)
from archiver.fetch.retry import MAX_RETRY_AFTER, Sleep, with_retries
from archiver.fetch.transport import TLSOnDemand
from archiver.models import FeedState, FetchResult, current_state
from archiver.urls import host_of

USER_AGENT = f"archiver/{__version__} (feed archiver; +{HOMEPAGE})"
ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)
IMAGE_MAX_BYTES = 15 * 1024 * 1024
IMAGE_ACCEPT = "image/avif,image/webp,image/png,image/jpeg,image/gif,image/svg+xml,image/*;q=0.8"
PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
PAGE_TYPES = ("text/html", "application/xhtml+xml")

T = TypeVar("T")


def make_client(
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    concurrency: int = 8,
    verify_tls: bool = True,
) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(
        transport=transport or TLSOnDemand(verify=verify_tls, limits=limits),
        # For the proxies of the environment (HTTPS_PROXY and the like), as httpx mounts them.
        verify=verify_tls,
        limits=limits,
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        headers={"User-Agent": USER_AGENT, "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"},
    )


def conditional_headers(feed: FeedConfig, state: FeedState | None) -> dict[str, str]:
    """The validators from the last fetch, unless the feed's URL has changed since."""
    state = current_state(state, feed.url)
    if state is None:
        return {}
    headers = {}
    if state.etag:
        headers["If-None-Match"] = state.etag
    if state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    return headers


class Fetcher:
    """Fetches feeds within global and per-host connection limits."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        concurrency: int,
        per_host: int,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = utcnow,
        retry_after_cap: float = MAX_RETRY_AFTER,
        insecure_client: httpx.AsyncClient | None = None,
        secrets: Iterable[str] = (),
    ) -> None:
        self._client = client
        # Every secret of the run: one feed's body may hold another's token.
        self._secrets = tuple(secrets)
        self._redactors: dict[tuple[str, ...], Redactor] = {}
        # Only for feeds whose config says verify_tls: false; without it, they verify too.
        self._insecure_client = insecure_client or client
        self._sleep = sleep
        self._clock = clock
        self._retry_after_cap = retry_after_cap
        self._slots = asyncio.Semaphore(concurrency)
        self._host_slots: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(per_host)
        )

    async def fetch(self, feed: FeedConfig, state: FeedState | None) -> FetchResult:
        """The feed's response (200 or 304), or FetchError with a one-line reason.

        What it returns and raises holds none of the feed's secrets: its URL and body
        have them replaced by the marker, and so have its messages.
        """
        access = feed.request
        if access.unset:
            raise FetchError(f"the environment variable {access.unset[0]} is not set")
        # The host's slot first: a feed queued behind its host must not hold a
        # global slot that a feed from another host could be using.
        async with self._host_slots[host_of(access.url)], self._slots:
            return await self._within_deadline(
                feed, lambda: self._fetch_once(feed, state), " (deadline)"
            )

    async def _within_deadline(
        self, feed: FeedConfig, operation: Callable[[], Awaitable[T]], setting: str = ""
    ) -> T:
        """`operation`, retried as the feed says, within its deadline; what it raises
        with the feed's secrets replaced."""
        retried = with_retries(
            operation,
            retries=feed.retries,
            sleep=self._sleep,
            retry_after_cap=self._retry_after_cap,
        )
        try:
            return await asyncio.wait_for(retried, feed.deadline)
        except asyncio.TimeoutError:
            raise FetchError(f"gave up after the {feed.deadline:g} s deadline{setting}") from None
        except FetchError as exc:
            raise redacted(exc, self.redactor(feed)) from None

    def _client_for(self, feed: FeedConfig) -> httpx.AsyncClient:
        return self._client if feed.verify_tls else self._insecure_client

    async def _fetch_once(self, feed: FeedConfig, state: FeedState | None) -> FetchResult:
        access = feed.request
        client = self._client_for(feed)
        try:
            url = httpx.URL(access.url)
        except httpx.InvalidURL as exc:
            raise FetchError(f"the url cannot be requested: {exc}") from None
        statuses: list[int] = []  # of the redirects on the way
        for _ in range(MAX_REDIRECTS + 1):
            headers, auth = credentials_for(access, url)
            headers |= conditional_headers(feed, state)
            try:
                async with client.stream(
                    "GET",
                    url,
                    headers=headers,
                    auth=auth,
                    timeout=feed.timeout,
                    follow_redirects=False,
                ) as response:
                    if response.has_redirect_location:
                        statuses.append(response.status_code)
                        url = redirect_target(response)
                        continue
                    if response.status_code == 304:
                        # Read to its end (a 304 has no body): a response left unread
                        # closes its connection, and the next feed on the host would
                        # open (and, over TLS, negotiate) another.
                        await response.aread()
                        return self._result(feed, response, b"", state, statuses)
                    if response.status_code >= 400:
                        raise status_error(response, self._clock(), FEED)
                    body = await read_body(response, feed.max_bytes, FEED)
                    return self._result(feed, response, body, state, statuses)
            except httpx.HTTPError as exc:
                raise transport_error(exc, str(url), feed.timeout) from exc
            except (httpx.InvalidURL, UnicodeError) as exc:
                # Not httpx.HTTPError: a host IDNA refuses, a header that is not ASCII.
                raise FetchError(f"the request cannot be sent: {exc}") from None
        raise too_many_redirects()

    # --- addresses from feed content: images and article pages ---------------------

    async def fetch_image(self, url: str, feed: FeedConfig) -> tuple[bytes, str]:
        """An image's bytes and media type, within the feed's limits and retries.

        No Referer is sent, the only request hotlink-protected hosts (the seed's
        among them) answer.
        """
        body, media_type, _ = await self.fetch_linked(
            url,
            feed,
            target=IMAGE,
            accept=IMAGE_ACCEPT,
            media_types=("image/",),
            limit=IMAGE_MAX_BYTES,
        )
        return body, media_type

    async def fetch_page(self, url: str, feed: FeedConfig) -> tuple[bytes, str]:
        """An entry's web page (HTML) and the address it was finally served from, the
        feed's secrets replaced by the marker in both."""
        body, _, final_url = await self.fetch_linked(
            url, feed, target=PAGE, accept=PAGE_ACCEPT, media_types=PAGE_TYPES, limit=feed.max_bytes
        )
        redactor = self.redactor(feed)
        return redactor.data(body), redact_url(redactor.text(final_url), feed.secret_params)

    async def fetch_linked(
        self,
        url: str,
        feed: FeedConfig,
        *,
        target: Target,
        accept: str,
        media_types: tuple[str, ...],
        limit: int,
    ) -> tuple[bytes, str, str]:
        """(body, media type, final URL) of an address that feed content names.

        Anyone can write a feed: unless the feed allows it, an address that is (or
        resolves to) loopback, private, link-local or multicast is refused, at
        every redirect. The feed's slots, deadline and retries apply.
        """
        async with self._host_slots[host_of(url)], self._slots:
            return await self._within_deadline(
                feed,
                lambda: self._linked_once(
                    url, feed, target=target, accept=accept, media_types=media_types, limit=limit
                ),
            )

    async def _linked_once(
        self,
        url: str,
        feed: FeedConfig,
        *,
        target: Target,
        accept: str,
        media_types: tuple[str, ...],
        limit: int,
    ) -> tuple[bytes, str, str]:
        client = self._client_for(feed)
        for _ in range(MAX_REDIRECTS + 1):
            if not feed.allow_private:
                problem = await private_address_problem(url, target)
                if problem:
                    raise FetchError(problem)
            headers, auth = credentials_for(feed.request, httpx.URL(url))
            try:
                async with client.stream(
                    "GET",
                    url,
                    headers=headers | {"Accept": accept},
                    auth=auth,
                    timeout=feed.timeout,
                    follow_redirects=False,
                ) as response:
                    if response.has_redirect_location:
                        url = str(redirect_target(response))
                        continue
                    if response.status_code >= 400:
                        raise status_error(response, self._clock(), target)
                    media_type = response.headers.get("content-type", "").split(";")[0]
                    media_type = media_type.strip().lower()
                    if not media_type.startswith(media_types):
                        raise not_of_type(media_type, target)
                    return await read_body(response, limit, target), media_type, url
            except httpx.HTTPError as exc:
                raise transport_error(exc, url, feed.timeout) from exc
        raise too_many_redirects()

    def redactor(self, feed: FeedConfig) -> Redactor:
        """What replaces the run's and the feed's secrets in what comes back."""
        key = feed.request.secrets
        if key not in self._redactors:
            self._redactors[key] = Redactor((*self._secrets, *key))
        return self._redactors[key]

    def _result(
        self,
        feed: FeedConfig,
        response: httpx.Response,
        body: bytes,
        state: FeedState | None,
        redirects: list[int],
    ) -> FetchResult:
        redactor = self.redactor(feed)
        url = shown_address(feed, response.url, redactor)
        body = redactor.data(body)
        etag = response.headers.get("etag")
        modified = response.headers.get("last-modified")
        if response.status_code == 304 and state is not None:
            # A 304 need not repeat the validators; the ones we sent still hold.
            etag = etag or state.etag
            modified = modified or state.last_modified
        return FetchResult(
            status=response.status_code,
            url=url,
            headers=dict(response.headers),
            body=body,
            etag=etag,
            last_modified=modified,
            permanent_redirect=url if moved_permanently(redirects) else None,
        )


def shown_address(feed: FeedConfig, url: httpx.URL, redactor: Redactor) -> str:
    """The address a feed was served from, as the archive may show it: the base of its
    relative links and of its entries' ids, so the same for any value of its secrets."""
    access = feed.request
    if access.private and url == httpx.URL(access.url):
        # Known to be the feed's own address: its shown form, placeholders and
        # credential parameters as markers, even for a value too short to search for.
        return without_userinfo(feed.url)
    return redact_url(redactor.text(str(url)), feed.secret_params)
