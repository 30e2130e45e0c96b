"""Shared fixtures: a real HTTP server on 127.0.0.1, paths to the shared corpus, a fixed clock."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from archiver.models import Entry

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
FEEDS_DIR = SHARED / "feeds"
SEED_DIR = SHARED / "seed"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

FIXED_NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


def shared_path(*parts: str) -> Path:
    """A file of ../shared/, or a skip that says why the test cannot run."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared feed corpus sits beside the repo checkout")
    return path


@dataclass(frozen=True)
class Reply:
    """What the server answers. With `chunks`, the body is streamed piece by piece,
    `delay` seconds apart, with no Content-Length, and the connection closed after."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    chunks: Callable[[], Iterator[bytes]] | None = None
    delay: float = 0.0


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    client_port: int = 0  # one per connection the client opened


Handler = Callable[[Request], Reply]


class FeedServer:
    """A loopback HTTP server whose routes the test sets; it records every request."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Handler] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._scheme = "https" if tls else "http"
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                request = Request(self.path, headers, self.client_address[1])
                with server._lock:
                    server.requests.append(request)
                handler = server.routes.get(self.path.split("?")[0])
                reply = handler(request) if handler else Reply(404, b"not found")
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.chunks is None:
                    if "Content-Length" not in reply.headers:
                        self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                    return
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                try:
                    for chunk in reply.chunks():
                        if server._stopping.is_set():
                            return
                        self.wfile.write(chunk)
                        self.wfile.flush()
                        if reply.delay:
                            server._stopping.wait(reply.delay)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up, as it should

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep test output clean

        class _Server(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                pass  # clients that hang up early (a killed run, a deadline) are expected

        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        if tls:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base(self) -> str:
        return f"{self._scheme}://127.0.0.1:{self._httpd.server_port}"

    def url(self, path: str) -> str:
        return self.base + path

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FeedServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def route(self, path: str, handler: Handler) -> str:
        self.routes[path] = handler
        return self.url(path)

    def feed(
        self,
        path: str,
        body: bytes,
        *,
        content_type: str = "application/rss+xml; charset=utf-8",
        etag: str | None = None,
        last_modified: datetime | None = None,
    ) -> str:
        """Serve `body` at `path`, answering 304 to a request that sends matching validators."""
        headers = {"Content-Type": content_type}
        if etag:
            headers["ETag"] = etag
        if last_modified:
            headers["Last-Modified"] = formatdate(last_modified.timestamp(), usegmt=True)

        def handler(request: Request) -> Reply:
            if etag and request.headers.get("if-none-match") == etag:
                return Reply(304, b"", {"ETag": etag})
            if (
                not etag
                and last_modified
                and (request.headers.get("if-modified-since") == headers["Last-Modified"])
            ):
                return Reply(304)
            return Reply(200, body, headers)

        return self.route(path, handler)

    def always(self, path: str, reply: Reply) -> str:
        """Serve the same `reply` at `path` for every request."""
        return self.route(path, lambda request: reply)

    def sequence(self, path: str, replies: Sequence[Reply]) -> str:
        """Serve `replies` in order, the last one for every request after."""
        remaining = list(replies)

        def handler(request: Request) -> Reply:
            return remaining.pop(0) if len(remaining) > 1 else remaining[0]

        return self.route(path, handler)

    def hits(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path.split("?")[0] == path]


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as feed_server:
        yield feed_server


@pytest.fixture
def ca() -> trustme.CA:
    """A certificate authority of the test's own, which no client trusts unless told."""
    return trustme.CA()


@pytest.fixture
def tls_server(ca: trustme.CA) -> Iterator[FeedServer]:
    """A FeedServer on https://127.0.0.1, its certificate issued by `ca`."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with FeedServer(tls=context) as feed_server:
        yield feed_server


_BLANK_ENTRY = Entry(
    id="0123456789abcdef",
    title=None,
    link=None,
    guid=None,
    author=None,
    published=None,
    updated=None,
    tags=(),
    content="",
    content_type="text/html",
    content_base=None,
)


def an_entry(**fields: Any) -> Entry:
    """An Entry holding what the test gives and nothing else: each other field empty."""
    return replace(_BLANK_ENTRY, **fields)


def streamed(
    status: int = 200, content: bytes = b"", headers: dict[str, str] | None = None
) -> httpx.Response:
    """A MockTransport response whose body arrives as a stream, as over a socket.

    httpx.Response(content=...) reads its body at once, and the fetcher reads
    the raw stream (to inflate it in bounded pieces), which must not be read yet.
    """
    return httpx.Response(status, headers=headers, stream=httpx.ByteStream(content))


def write_config(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
