"""HTTP: conditional GET, size caps, deadlines and retries.

Retries follow RFC 9110: 408, 429 and 5xx are worth another try, other 4xx
are not; a Retry-After the server sends is honoured up to a cap, past which
waiting in-process would stall the whole run.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import socket
import zlib
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TypeVar
from urllib.parse import urlsplit

import httpx
import tenacity

from archiver.about import HOMEPAGE, __version__
from archiver.config.load import Access, FeedConfig
from archiver.config.secrets import Redactor, redact_url, without_userinfo
from archiver.errors import FetchError, RetryableFetchError
from archiver.models import FeedState, FetchResult, utcnow
from archiver.urls import host_of

USER_AGENT = f"archiver/{__version__} (feed archiver; +{HOMEPAGE})"
ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)
DEFAULT_MAX_REDIRECTS = 5
MAX_RETRY_AFTER = 30.0  # seconds we are willing to wait in-process for a server that asks
BACKOFF_INITIAL = 1.0
BACKOFF_MAX = 30.0
BACKOFF_JITTER = 1.0
RETRY_STATUSES = frozenset({408, 429})
# Encodings we can inflate in bounded pieces; the only ones we ask for.
DECODABLE_ENCODINGS = ("gzip", "x-gzip", "deflate")
DECODE_PIECE = 64 * 1024
IMAGE_MAX_BYTES = 15 * 1024 * 1024
IMAGE_ACCEPT = "image/avif,image/webp,image/png,image/jpeg,image/gif,image/svg+xml,image/*;q=0.8"
PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
PAGE_TYPES = ("text/html", "application/xhtml+xml")
PERMANENT_REDIRECTS = frozenset({301, 308})


@dataclass(frozen=True)
class Target:
    """What is being fetched, as the messages about it name it."""

    noun: str
    # The address is the user's own (in the config, on the command line): theirs to correct.
    users_own: bool
    size_setting: str | None  # the config key that sets its size limit, if one does


FEED = Target("feed", users_own=True, size_setting="max_bytes")
IMAGE = Target("image", users_own=False, size_setting=None)
PAGE = Target("page", users_own=False, size_setting="max_bytes")
GIVEN_PAGE = Target("page", users_own=True, size_setting=None)  # `archiver add URL`

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], datetime]


def make_client(
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    concurrency: int = 8,
    verify_tls: bool = True,
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=transport,
        verify=verify_tls,
        follow_redirects=True,
        max_redirects=DEFAULT_MAX_REDIRECTS,
        headers={"User-Agent": USER_AGENT, "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"},
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
    )


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header; None for garbage or a date in the past."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    seconds = (when - now).total_seconds()
    return seconds if seconds > 0 else None


def conditional_headers(feed: FeedConfig, state: FeedState | None) -> dict[str, str]:
    """The validators from the last fetch, unless the feed's URL has changed since."""
    if state is None or state.url != feed.url:
        return {}
    headers = {}
    if state.etag:
        headers["If-None-Match"] = state.etag
    if state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    return headers


def status_error(response: httpx.Response, now: datetime, target: Target) -> FetchError:
    """The one-line error for an HTTP status of 400 or more."""
    status = response.status_code
    message = f"HTTP {status} {response.reason_phrase}".rstrip()
    if status in RETRY_STATUSES or status >= 500:
        retry_after = parse_retry_after(response.headers.get("retry-after"), now)
        return RetryableFetchError(message, status=status, retry_after=retry_after)
    if status == 404:
        check = "; check the URL" if target.users_own else ""
        message += f" (the {target.noun} is not at this address{check})"
    elif status == 410 and target is not FEED:
        message += f" (the {target.noun} is gone for good)"
    elif status in (401, 403):
        message += (
            " (the server refuses us: the site may block bots or need a login; "
            "a browser User-Agent or a cookie under this feed's headers: may help)"
        )
    elif status == 410:
        message += (
            " (the feed is gone for good; it will not be fetched again until its url changes)"
        )
    return FetchError(message, status=status)


def transport_error(exc: httpx.HTTPError, url: str, timeout: float) -> FetchError:
    """The one-line error for a request that got no response."""
    host = host_of(url)
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.TooManyRedirects):
        return FetchError(f"too many redirects (more than {DEFAULT_MAX_REDIRECTS})")
    if isinstance(exc, httpx.ConnectTimeout):
        return RetryableFetchError(f"timed out connecting to {host}")
    if isinstance(exc, httpx.TimeoutException):
        return RetryableFetchError(f"timed out waiting for {host} ({timeout:g} s without data)")
    if isinstance(exc, httpx.ConnectError):
        if "CERTIFICATE_VERIFY_FAILED" in detail:
            detail += " (if you trust this host's certificate, set verify_tls: false for this feed)"
        return RetryableFetchError(f"cannot connect to {host}: {detail}")
    if isinstance(exc, httpx.DecodingError):
        return FetchError(f"the compressed response from {host} is corrupt: {detail}")
    if isinstance(exc, httpx.TransportError) and not isinstance(exc, httpx.UnsupportedProtocol):
        return RetryableFetchError(f"connection to {host} failed: {detail}")
    return FetchError(f"request to {host} failed: {detail}")


class BoundedDecoder:
    """Undoes a Content-Encoding in pieces of at most DECODE_PIECE bytes.

    httpx inflates each network read whole, and 64 KB of gzip can inflate to
    64 MB: a compression bomb would be in memory before any cap could stop it.
    Here every piece is handed over as soon as it exists, so the caller's
    cap stops the inflation itself.
    """

    def __init__(self, content_encoding: str) -> None:
        encoding = content_encoding.strip().lower()
        if encoding not in ("", "identity", *DECODABLE_ENCODINGS):
            raise FetchError(f"the server sent a Content-Encoding we did not ask for: {encoding}")
        self._encoding = encoding
        self._inflater = self._new_inflater()
        self._first = True

    def _new_inflater(self) -> zlib._Decompress | None:
        if self._encoding in ("gzip", "x-gzip"):
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        if self._encoding == "deflate":
            return zlib.decompressobj()
        return None

    def decode(self, data: bytes) -> Iterator[bytes]:
        if self._inflater is None:
            yield data
            return
        if self._first and self._encoding == "deflate":
            # "deflate" should be zlib-wrapped; some servers send it raw.
            self._first = False
            try:
                zlib.decompressobj().decompress(data[:2])
            except zlib.error:
                self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            while data:
                yield self._inflater.decompress(data, DECODE_PIECE)
                data = self._inflater.unconsumed_tail
                if self._inflater.eof and self._inflater.unused_data:
                    data = self._inflater.unused_data  # the next gzip member
                    self._inflater = self._new_inflater()
                    assert self._inflater is not None
        except zlib.error as exc:
            raise FetchError(f"the compressed response is corrupt: {exc}") from None


async def private_address_problem(url: str, target: Target) -> str | None:
    """Why `url` must not be fetched on a feed's say-so, or None: it names (or its host
    resolves to) a loopback, private, link-local, multicast or otherwise non-public address."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, parts.port or 443, type=socket.SOCK_STREAM
            )
        except OSError as exc:
            return f"cannot resolve {host}: {exc}"
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    for address in addresses:
        if not address.is_global or address.is_multicast:
            what = f"{host} is" if host == str(address) else f"{host} is {address},"
            return (
                f"refused: {what} a private or local address "
                f"(allow_private: true lets this feed's {target.noun}s through)"
            )
    return None


def _too_large(limit: int, target: Target) -> FetchError:
    setting = f" ({target.size_setting})" if target.size_setting else ""
    return FetchError(f"too large: the {target.noun} is over the {limit:,} byte limit{setting}")


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
        try:
            return await asyncio.wait_for(self._with_retries(feed, operation), feed.deadline)
        except asyncio.TimeoutError:
            raise FetchError(f"gave up after the {feed.deadline:g} s deadline{setting}") from None
        except FetchError as exc:
            raise _redacted(exc, self.redactor(feed)) from None

    async def _with_retries(self, feed: FeedConfig, operation: Callable[[], Awaitable[T]]) -> T:
        retrying = tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(feed.retries + 1),
            wait=self._wait,
            retry=tenacity.retry_if_exception(self._worth_retrying),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await operation()
        except RetryableFetchError as exc:
            notes = []
            if exc.retry_after is not None and exc.retry_after > self._retry_after_cap:
                notes.append(
                    f"the server asks us to wait {exc.retry_after:.0f} s, "
                    f"longer than one run waits ({self._retry_after_cap:.0f} s)"
                )
            attempts = retrying.statistics.get("attempt_number", 1)
            if attempts > 1:
                notes.append(f"tried {attempts} times")
            if not notes:
                raise
            raise FetchError(
                f"{exc} ({'; '.join(notes)})", status=exc.status, retry_after=exc.retry_after
            ) from exc
        raise AssertionError("unreachable: tenacity either returns or reraises")

    def _worth_retrying(self, exc: BaseException) -> bool:
        if not isinstance(exc, RetryableFetchError):
            return False
        return exc.retry_after is None or exc.retry_after <= self._retry_after_cap

    _backoff = tenacity.wait_exponential_jitter(
        initial=BACKOFF_INITIAL, max=BACKOFF_MAX, jitter=BACKOFF_JITTER
    )

    def _wait(self, retry_state: tenacity.RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, RetryableFetchError) and exc.retry_after is not None:
            return exc.retry_after
        return self._backoff(retry_state)

    async def _fetch_once(self, feed: FeedConfig, state: FeedState | None) -> FetchResult:
        access = feed.request
        client = self._client if feed.verify_tls else self._insecure_client
        try:
            url = httpx.URL(access.url)
        except httpx.InvalidURL as exc:
            raise FetchError(f"the url cannot be requested: {exc}") from None
        statuses: list[int] = []  # of the redirects on the way
        # Redirects are followed here, not by httpx, which would take every header but
        # Authorization (a cookie, an API key) along to whatever host they lead to.
        for _ in range(DEFAULT_MAX_REDIRECTS + 1):
            headers, auth = _credentials_for(access, url)
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
                        url = _redirect_target(response)
                        continue
                    if response.status_code == 304:
                        # Read to its end (a 304 has no body): a response left unread
                        # closes its connection, and the next feed on the host would
                        # open (and, over TLS, negotiate) another.
                        await response.aread()
                        return self._result(feed, response, b"", state, statuses)
                    if response.status_code >= 400:
                        raise status_error(response, self._clock(), FEED)
                    body = await self._read_body(response, feed.max_bytes, FEED)
                    return self._result(feed, response, body, state, statuses)
            except httpx.HTTPError as exc:
                raise transport_error(exc, str(url), feed.timeout) from exc
            except (httpx.InvalidURL, UnicodeError) as exc:
                # Not httpx.HTTPError: a host IDNA refuses, a header that is not ASCII.
                raise FetchError(f"the request cannot be sent: {exc}") from None
        raise FetchError(f"too many redirects (more than {DEFAULT_MAX_REDIRECTS})")

    @staticmethod
    async def _read_body(response: httpx.Response, limit: int, target: Target) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _too_large(limit, target)
        decoder = BoundedDecoder(response.headers.get("content-encoding", ""))
        body = bytearray()
        async for raw in response.aiter_raw():
            for piece in decoder.decode(raw):
                body += piece
                if len(body) > limit:
                    raise _too_large(limit, target)
        return bytes(body)

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
        client = self._client if feed.verify_tls else self._insecure_client
        for _ in range(DEFAULT_MAX_REDIRECTS + 1):
            if not feed.allow_private:
                problem = await private_address_problem(url, target)
                if problem:
                    raise FetchError(problem)
            headers, auth = _credentials_for(feed.request, httpx.URL(url))
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
                        url = str(_redirect_target(response))
                        continue
                    if response.status_code >= 400:
                        raise status_error(response, self._clock(), target)
                    media_type = response.headers.get("content-type", "").split(";")[0]
                    media_type = media_type.strip().lower()
                    if not media_type.startswith(media_types):
                        article = "an" if target.noun[0] in "aeiou" else "a"
                        got = media_type or "no Content-Type"
                        raise FetchError(f"not {article} {target.noun}: {got}")
                    return await self._read_body(response, limit, target), media_type, url
            except httpx.HTTPError as exc:
                raise transport_error(exc, url, feed.timeout) from exc
        raise FetchError(f"too many redirects (more than {DEFAULT_MAX_REDIRECTS})")

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
        moved = bool(redirects) and all(status in PERMANENT_REDIRECTS for status in redirects)
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
            permanent_redirect=url if moved else None,
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


def _redirect_target(response: httpx.Response) -> httpx.URL:
    try:
        return response.url.join(response.headers["location"])
    except httpx.InvalidURL as exc:
        raise FetchError(f"redirected to an address that is not a URL: {exc}") from None


def _same_origin(url: httpx.URL, other: httpx.URL) -> bool:
    """As browsers (and httpx, for Authorization) judge it, where credentials may go: the
    same scheme, host and port, or the same host moving from http to https."""
    ports = {"http": 80, "https": 443}
    port, other_port = url.port or ports.get(url.scheme), other.port or ports.get(other.scheme)
    if url.host != other.host:
        return False
    upgrade = url.scheme == "http" and other.scheme == "https" and other_port == 443
    return (url.scheme == other.scheme and port == other_port) or (upgrade and port == 80)


def _credentials_for(
    access: Access, url: httpx.URL
) -> tuple[dict[str, str], tuple[str, str] | None]:
    """The headers and basic auth to send to `url`: the credentials only to the feed's own
    origin, never to another host a redirect, an image or an article page leads to."""
    headers = dict(access.headers)
    if not _same_origin(httpx.URL(access.url), url):
        return headers, None
    return headers | dict(access.credential_headers), access.auth


def _redacted(exc: FetchError, redactor: Redactor) -> FetchError:
    """`exc` with every secret value in its message replaced by the marker: httpx's own
    messages quote the URL they were about."""
    message = redactor.text(str(exc))
    if message == str(exc):
        return exc
    return type(exc)(message, status=exc.status, retry_after=exc.retry_after)
