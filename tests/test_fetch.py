"""The Fetcher through httpx.MockTransport and a loopback server, and its pure parts
(retry waits, redirects, decoding, messages) from tables."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from email.utils import format_datetime

import httpx
import pytest

from archiver.config.model import FeedConfig
from archiver.errors import FetchError, RetryableFetchError
from archiver.fetch.body import DECODE_PIECE, BoundedDecoder
from archiver.fetch.client import USER_AGENT, Fetcher, make_client
from archiver.fetch.messages import FEED as FEED_TARGET
from archiver.fetch.messages import GIVEN_PAGE, IMAGE, PAGE, Target, status_error
from archiver.fetch.redirects import moved_permanently, same_origin
from archiver.fetch.retry import parse_retry_after
from archiver.models import FeedState, FetchResult

from .conftest import FIXED_NOW, FeedServer, streamed

URL = "https://feeds.example.org/feed.xml"
FEED = FeedConfig(name="f", url=URL, retries=2)
RSS = b"<rss version='2.0'><channel><title>t</title></channel></rss>"


class Recorder:
    """A MockTransport handler fed from a script of responses; it keeps the requests."""

    def __init__(self, *replies: httpx.Response | Exception | Callable[[], httpx.Response]):
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, Exception):
            raise reply
        return reply() if callable(reply) else reply


def fetch(
    handler: Callable[[httpx.Request], httpx.Response],
    feed: FeedConfig = FEED,
    state: FeedState | None = None,
    sleeps: list[float] | None = None,
) -> FetchResult:
    async def record_sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)

    async def go() -> FetchResult:
        async with make_client(httpx.MockTransport(handler)) as client:
            fetcher = Fetcher(
                client, concurrency=4, per_host=2, sleep=record_sleep, clock=lambda: FIXED_NOW
            )
            return await fetcher.fetch(feed, state)

    return asyncio.run(go())


def test_sends_a_user_agent_naming_the_project_and_accepts_compression() -> None:
    recorder = Recorder(streamed(200, content=RSS))
    result = fetch(recorder)
    request = recorder.requests[0]
    assert request.headers["user-agent"] == USER_AGENT
    assert USER_AGENT.startswith("archiver/")
    assert "gzip" in request.headers["accept-encoding"]
    assert "application/rss+xml" in request.headers["accept"]
    assert result.status == 200 and result.body == RSS


def test_compressed_body_is_decoded() -> None:
    recorder = Recorder(
        streamed(200, content=gzip.compress(RSS), headers={"Content-Encoding": "gzip"})
    )
    assert fetch(recorder).body == RSS


def test_validators_are_kept_and_sent_back() -> None:
    first = fetch(
        Recorder(streamed(200, content=RSS, headers={"ETag": '"v1"', "Last-Modified": "X"}))
    )
    assert (first.etag, first.last_modified) == ('"v1"', "X")
    recorder = Recorder(httpx.Response(304))
    state = FeedState(url=URL, etag='"v1"', last_modified="X")
    second = fetch(recorder, state=state)
    assert recorder.requests[0].headers["if-none-match"] == '"v1"'
    assert recorder.requests[0].headers["if-modified-since"] == "X"
    assert second.not_modified
    assert (second.etag, second.last_modified) == ('"v1"', "X")


def test_validators_of_another_url_are_not_sent() -> None:
    recorder = Recorder(streamed(200, content=RSS))
    fetch(recorder, state=FeedState(url="https://old.example/feed", etag='"v1"'))
    assert "if-none-match" not in recorder.requests[0].headers


def test_server_error_then_success_is_retried_with_backoff() -> None:
    recorder = Recorder(httpx.Response(500), httpx.Response(502), streamed(200, content=RSS))
    sleeps: list[float] = []
    result = fetch(recorder, sleeps=sleeps)
    assert result.status == 200
    assert len(recorder.requests) == 3
    assert len(sleeps) == 2
    assert 1 <= sleeps[0] <= 2 and 2 <= sleeps[1] <= 3  # exponential, with up to 1 s of jitter


@pytest.mark.parametrize("status", [408, 429, 500, 503, 504])
def test_retryable_statuses_give_up_after_the_retries(status: int) -> None:
    recorder = Recorder(httpx.Response(status))
    with pytest.raises(FetchError, match=rf"HTTP {status}.*tried 3 times"):
        fetch(recorder)
    assert len(recorder.requests) == 3


@pytest.mark.parametrize(
    ("status", "hint"), [(404, "check the URL"), (403, "block bots"), (410, "")]
)
def test_other_client_errors_are_not_retried(status: int, hint: str) -> None:
    recorder = Recorder(httpx.Response(status))
    with pytest.raises(FetchError, match=f"HTTP {status}") as caught:
        fetch(recorder)
    assert hint in str(caught.value)
    assert caught.value.status == status
    assert len(recorder.requests) == 1


def test_retry_after_seconds_is_honoured() -> None:
    recorder = Recorder(
        httpx.Response(429, headers={"Retry-After": "7"}), streamed(200, content=RSS)
    )
    sleeps: list[float] = []
    fetch(recorder, sleeps=sleeps)
    assert sleeps == [7.0]


def test_retry_after_date_is_honoured() -> None:
    when = format_datetime(FIXED_NOW + timedelta(seconds=12), usegmt=True)
    recorder = Recorder(
        httpx.Response(503, headers={"Retry-After": when}), streamed(200, content=RSS)
    )
    sleeps: list[float] = []
    fetch(recorder, sleeps=sleeps)
    assert sleeps == [12.0]


def test_retry_after_beyond_the_cap_is_not_waited_for() -> None:
    recorder = Recorder(httpx.Response(429, headers={"Retry-After": "3600"}))
    sleeps: list[float] = []
    with pytest.raises(FetchError, match="asks us to wait 3600 s"):
        fetch(recorder, sleeps=sleeps)
    assert sleeps == []
    assert len(recorder.requests) == 1


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        ("0", 0.0),
        (format_datetime(FIXED_NOW + timedelta(minutes=2), usegmt=True), 120.0),
        (format_datetime(FIXED_NOW - timedelta(minutes=2), usegmt=True), None),
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, FIXED_NOW) == seconds


def test_connect_errors_are_retried_then_reported_in_one_line() -> None:
    recorder = Recorder(httpx.ConnectError("[Errno -2] Name or service not known"))
    with pytest.raises(FetchError) as caught:
        fetch(recorder)
    message = str(caught.value)
    assert message.startswith("cannot connect to feeds.example.org")
    assert "tried 3 times" in message and "\n" not in message
    assert len(recorder.requests) == 3


def test_body_over_the_cap_is_refused_from_content_length() -> None:
    feed = FeedConfig(name="f", url=URL, max_bytes=1024)
    body = b"x" * 2048
    with pytest.raises(FetchError, match="too large"):
        fetch(Recorder(streamed(200, content=body)), feed=feed)


def test_body_over_the_cap_is_stopped_while_streaming() -> None:
    feed = FeedConfig(name="f", url=URL, max_bytes=1024)
    chunks_sent: list[int] = []

    def endless() -> httpx.Response:
        async def stream() -> AsyncIterator[bytes]:
            for _ in range(10_000):  # 640 MB if it were all read
                chunks_sent.append(1)
                yield b"x" * 65536

        return httpx.Response(200, content=stream())

    with pytest.raises(FetchError, match="too large"):
        fetch(Recorder(endless), feed=feed)
    assert len(chunks_sent) < 5


def test_compression_bomb_is_stopped_at_the_cap() -> None:
    feed = FeedConfig(name="f", url=URL, max_bytes=1_000_000)
    bomb = gzip.compress(b"\0" * 50_000_000)  # ~50 KB that inflates to 50 MB
    response = streamed(200, content=bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchError, match="too large"):
        fetch(Recorder(response), feed=feed)


def test_redirect_loop_stops_at_the_limit() -> None:
    recorder = Recorder(httpx.Response(302, headers={"Location": URL}))
    with pytest.raises(FetchError, match="too many redirects"):
        fetch(recorder)
    assert len(recorder.requests) == 6


def test_a_redirect_to_a_host_no_request_can_name_fails_the_feed_only() -> None:
    recorder = Recorder(httpx.Response(302, headers={"Location": "http://xn--a.com/feed"}))
    with pytest.raises(FetchError, match="the request cannot be sent"):
        fetch(recorder)


def test_permanent_redirect_is_followed_and_reported() -> None:
    new = "https://new.example.org/feed.xml"

    def handler(request: httpx.Request) -> httpx.Response:
        if str(request.url) == URL:
            return httpx.Response(301, headers={"Location": new})
        return streamed(200, content=RSS)

    result = fetch(handler)
    assert result.url == new
    assert result.permanent_redirect == new


def test_temporary_redirect_is_not_reported_as_a_move() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if str(request.url) == URL:
            return httpx.Response(302, headers={"Location": "https://cdn.example.org/f"})
        return streamed(200, content=RSS)

    assert fetch(handler).permanent_redirect is None


def test_deadline_ends_a_feed_that_never_finishes() -> None:
    feed = FeedConfig(name="f", url=URL, deadline=0.2)

    async def stalled(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(200)

    async def go() -> None:
        async with make_client(httpx.MockTransport(stalled)) as client:
            await Fetcher(client, concurrency=1, per_host=1).fetch(feed, None)

    with pytest.raises(FetchError, match=r"gave up after the 0.2 s deadline"):
        asyncio.run(go())


@pytest.mark.parametrize(
    ("hosts", "concurrency", "per_host", "expected_peak"),
    [
        pytest.param(["a.example"], 8, 2, 2, id="per-host-limit"),
        pytest.param([f"h{i}.example" for i in range(6)], 3, 2, 3, id="global-limit"),
    ],
)
def test_connection_limits(
    hosts: list[str], concurrency: int, per_host: int, expected_peak: int
) -> None:
    in_flight = 0
    peak = 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.02)
        in_flight -= 1
        return streamed(200, content=RSS)

    feeds = [FeedConfig(name=f"f{i}", url=f"https://{hosts[i % len(hosts)]}/{i}") for i in range(6)]

    async def go() -> None:
        async with make_client(httpx.MockTransport(slow)) as client:
            fetcher = Fetcher(client, concurrency=concurrency, per_host=per_host)
            await asyncio.gather(*(fetcher.fetch(feed, None) for feed in feeds))

    asyncio.run(go())
    assert peak == expected_peak


@pytest.mark.parametrize(
    ("what", "message"),
    [
        ("feed", "too large: the feed is over the 1,024 byte limit (max_bytes)"),
        ("page", "too large: the page is over the 1,024 byte limit (max_bytes)"),
        ("image", "too large: the image is over the 15,728,640 byte limit"),
    ],
)
def test_too_large_names_what_was_fetched(what: str, message: str) -> None:
    feed = FeedConfig(name="f", url=URL, max_bytes=1024, retries=0)
    kinds = {"feed": "application/rss+xml", "page": "text/html", "image": "image/png"}
    big = streamed(200, b"x", {"Content-Length": "99999999", "Content-Type": kinds[what]})

    async def go() -> None:
        async with make_client(httpx.MockTransport(lambda request: big)) as client:
            fetcher = Fetcher(client, concurrency=1, per_host=1)
            linked = "http://93.184.216.34/linked"  # a public address: not refused
            if what == "feed":
                await fetcher.fetch(feed, None)
            elif what == "page":
                await fetcher.fetch_page(linked, feed)
            else:
                await fetcher.fetch_image(linked, feed)

    with pytest.raises(FetchError) as caught:
        asyncio.run(go())
    assert str(caught.value) == message


def test_a_304_leaves_its_connection_open_for_the_next_request(server: FeedServer) -> None:
    url = server.feed("/feed.xml", RSS, etag='"v1"')
    feed = FeedConfig(name="f", url=url)

    async def go() -> list[bool]:
        async with make_client() as client:
            fetcher = Fetcher(client, concurrency=1, per_host=1)
            state = FeedState(url=url, etag='"v1"')
            return [(await fetcher.fetch(feed, state)).not_modified for _ in range(3)]

    assert asyncio.run(go()) == [True, True, True]
    assert len({request.client_port for request in server.hits("/feed.xml")}) == 1


@pytest.mark.parametrize(
    ("feed", "other", "same"),
    [
        ("https://ex.org/feed", "https://ex.org/other", True),
        ("https://ex.org/feed", "https://ex.org:443/other", True),
        ("http://ex.org/feed", "https://ex.org/feed", True),
        ("https://ex.org/feed", "http://ex.org/feed", False),
        ("https://ex.org/feed", "https://cdn.ex.org/feed", False),
        ("https://ex.org/feed", "https://ex.org:8443/feed", False),
        ("http://ex.org:8080/feed", "https://ex.org/feed", False),
    ],
    ids=["same", "default-port", "upgrade-to-https", "downgrade", "subdomain", "other-port",
         "upgrade-from-other-port"],
)  # fmt: skip
def test_where_credentials_may_go(feed: str, other: str, same: bool) -> None:
    assert same_origin(httpx.URL(feed), httpx.URL(other)) is same


@pytest.mark.parametrize(
    ("statuses", "moved"),
    [([], False), ([301], True), ([301, 308], True), ([301, 302], False), ([307], False)],
    ids=["none", "301", "301-308", "one-temporary", "307"],
)
def test_a_feed_has_moved_only_if_every_redirect_is_permanent(
    statuses: list[int], moved: bool
) -> None:
    assert moved_permanently(statuses) is moved


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


BODY = b"<rss>" + b"x" * (3 * DECODE_PIECE) + b"</rss>"


@pytest.mark.parametrize(
    ("encoding", "encoded"),
    [
        ("", BODY),
        ("identity", BODY),
        ("gzip", gzip.compress(BODY)),
        ("x-gzip", gzip.compress(BODY)),
        ("gzip", gzip.compress(BODY[:100]) + gzip.compress(BODY[100:])),
        ("deflate", zlib.compress(BODY)),
        ("deflate", _raw_deflate(BODY)),
    ],
    ids=["none", "identity", "gzip", "x-gzip", "gzip-two-members", "deflate", "raw-deflate"],
)
def test_bounded_decoder_hands_over_small_pieces(encoding: str, encoded: bytes) -> None:
    decoder = BoundedDecoder(encoding)
    pieces = [piece for i in range(0, len(encoded), 1000) for piece in
              decoder.decode(encoded[i : i + 1000])]  # fmt: skip
    assert b"".join(pieces) == BODY
    if encoding not in ("", "identity"):
        assert max(map(len, pieces)) <= DECODE_PIECE


@pytest.mark.parametrize(
    ("encoding", "encoded", "message"),
    [
        ("br", b"x", "the server sent a Content-Encoding we did not ask for: br"),
        ("gzip", b"not gzip at all", "the compressed response is corrupt"),
    ],
    ids=["not-asked-for", "corrupt"],
)
def test_bounded_decoder_refuses(encoding: str, encoded: bytes, message: str) -> None:
    with pytest.raises(FetchError, match=message):
        list(BoundedDecoder(encoding).decode(encoded))


@pytest.mark.parametrize(
    ("status", "target", "message"),
    [
        (404, FEED_TARGET, "HTTP 404 Not Found (the feed is not at this address; check the URL)"),
        (404, IMAGE, "HTTP 404 Not Found (the image is not at this address)"),
        (404, GIVEN_PAGE, "HTTP 404 Not Found (the page is not at this address; check the URL)"),
        (410, PAGE, "HTTP 410 Gone (the page is gone for good)"),
        (410, FEED_TARGET, "HTTP 410 Gone (the feed is gone for good; it will not be fetched "
                           "again until its url changes)"),
        (403, FEED_TARGET, "HTTP 403 Forbidden (the server refuses us: the site may block bots "
                           "or need a login; a browser User-Agent or a cookie under this "
                           "feed's headers: may help)"),
        (400, FEED_TARGET, "HTTP 400 Bad Request"),
    ],
    ids=["404-feed", "404-image", "404-given-page", "410-page", "410-feed", "403", "400"],
)  # fmt: skip
def test_status_messages_name_what_was_fetched(status: int, target: Target, message: str) -> None:
    response = httpx.Response(status, request=httpx.Request("GET", URL))
    error = status_error(response, FIXED_NOW, target)
    assert not isinstance(error, RetryableFetchError)
    assert (str(error), error.status) == (message, status)
