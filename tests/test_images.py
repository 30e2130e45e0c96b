"""Images kept with the archive: stored once by content, linked relatively, and never
fetched from a private address on a feed's say-so."""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path

import httpx
import pytest
import yaml

from archiver.archive.ids import id_from_name
from archiver.cli.main import main
from archiver.config.model import FeedConfig
from archiver.errors import FetchError
from archiver.fetch.client import Fetcher, make_client
from archiver.fetch.guard import private_address_problem
from archiver.fetch.messages import IMAGE, PAGE

from .conftest import FeedServer, Reply, Request, streamed, write_config

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 200  # enough bytes to be no placeholder


def rss(*items: tuple[str, str]) -> bytes:
    body = "".join(
        f"<item><title>{title}</title><link>https://example.org/{title}</link>"
        f"<pubDate>Mon, 01 Jan 2024 10:00:00 GMT</pubDate>"
        f"<description><![CDATA[{html}]]></description></item>"
        for title, html in items
    )
    return f"<rss version='2.0'><channel><title>t</title>{body}</channel></rss>".encode()


def archive(server: FeedServer, tmp_path: Path, body: bytes, settings: str) -> tuple[Path, str]:
    url = server.feed("/feed", body)
    config = write_config(
        tmp_path / "feeds.yaml",
        f"feeds:\n  - name: f\n    url: {url}\n    images: download\n{settings}",
    )
    out, err = io.StringIO(), io.StringIO()
    assert (
        main(
            ["run", "--config", str(config), "--output", str(tmp_path / "out")],
            stdout=out,
            stderr=err,
        )
        == 0
    )
    return tmp_path / "out", err.getvalue()


def entries(out: Path) -> dict[str, str]:
    return {p.stem.split("-")[0]: p.read_text() for p in out.rglob("*.md") if id_from_name(p.name)}


def test_images_are_stored_once_and_linked_relatively(server: FeedServer, tmp_path: Path) -> None:
    def image(request: Request) -> Reply:
        assert "referer" not in request.headers  # hotlink-protected hosts answer only then
        assert "image/" in request.headers["accept"]
        return Reply(200, PNG, {"Content-Type": "image/png"})

    picture = server.route("/pic.png", image)
    body = rss(("first", f"<p>one</p><img src='{picture}'>"), ("second", f"<img src='{picture}'>"))
    out, stderr = archive(server, tmp_path, body, "    allow_private: true\n")
    assert stderr == ""
    assets = list((out / "assets").rglob("*.png"))
    assert len(assets) == 1 and assets[0].read_bytes() == PNG
    assert len(server.hits("/pic.png")) == 1
    for name, text in entries(out).items():
        matter = yaml.safe_load(text[4:].split("\n---\n")[0])
        links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
        assert links, name
        for link in [*links, matter["image"]]:
            assert not link.startswith("http")
            entry_folder = next(p for p in out.rglob(f"{name}-*.md")).parent
            assert (entry_folder / link).resolve() == assets[0].resolve()


def test_private_addresses_are_refused_by_default(server: FeedServer, tmp_path: Path) -> None:
    picture = server.always("/pic.png", Reply(200, PNG, {"Content-Type": "image/png"}))
    out, stderr = archive(server, tmp_path, rss(("first", f"<img src='{picture}'>")), "")
    assert server.hits("/pic.png") == []
    assert stderr.splitlines() == [
        f"archiver: feed 'f': warning: image {picture} kept remote: refused: 127.0.0.1 is a "
        "private or local address (allow_private: true lets this feed's images through)"
    ]
    (text,) = entries(out).values()
    assert f"]({picture})" in text  # the entry is written, with the remote address
    assert not (out / "assets").exists()


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(200, b"<html>no</html>", {"Content-Type": "text/html"}), "not an image: text/html"),
        (Reply(404), "HTTP 404 Not Found (the image is not at this address)"),
        (Reply(410), "HTTP 410 Gone (the image is gone for good)"),
    ],
    ids=["not-an-image", "missing", "gone"],
)
def test_a_failed_image_keeps_its_remote_address(
    server: FeedServer, tmp_path: Path, reply: Reply, reason: str
) -> None:
    picture = server.always("/pic.png", reply)
    out, stderr = archive(
        server,
        tmp_path,
        rss(("first", f"<img src='{picture}'>")),
        "    allow_private: true\n    retries: 0\n",
    )
    assert stderr.splitlines() == [
        f"archiver: feed 'f': warning: image {picture} kept remote: {reason}"
    ]
    (text,) = entries(out).values()
    assert f"]({picture})" in text


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("http://127.0.0.1/a.png", True),
        ("http://10.1.2.3/a.png", True),
        ("http://192.168.0.9/a.png", True),
        ("http://169.254.169.254/latest/meta-data", True),
        ("http://224.0.0.1/a.png", True),
        ("http://[::1]/a.png", True),
        ("http://0.0.0.0/a.png", True),
        ("http://93.184.216.34/a.png", False),
    ],
)
def test_private_address_problem(url: str, refused: bool) -> None:
    assert (asyncio.run(private_address_problem(url, IMAGE)) is not None) is refused


def test_a_private_host_name_is_named_with_its_address() -> None:
    problem = asyncio.run(private_address_problem("http://localhost/a.png", PAGE))
    assert problem in (
        "refused: localhost is 127.0.0.1, a private or local address "
        "(allow_private: true lets this feed's pages through)",
        "refused: localhost is ::1, a private or local address "
        "(allow_private: true lets this feed's pages through)",
    )


def test_a_redirect_to_a_private_address_is_refused() -> None:
    hops = []

    def handler(request: httpx.Request) -> httpx.Response:
        hops.append(str(request.url))
        return streamed(302, headers={"Location": "http://127.0.0.1/secret.png"})

    async def go() -> None:
        async with make_client(httpx.MockTransport(handler)) as client:
            feed = FeedConfig(name="f", url="https://example.org/f", retries=0)
            await Fetcher(client, concurrency=1, per_host=1).fetch_image(
                "http://93.184.216.34/pic.png", feed
            )

    with pytest.raises(FetchError, match=r"refused: 127\.0\.0\.1"):
        asyncio.run(go())
    assert hops == ["http://93.184.216.34/pic.png"]
