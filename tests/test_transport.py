"""The client's transport: no TLS set-up for plain HTTP, and TLS verified as before once an
https:// request needs it."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import httpx
import pytest
import trustme

from archiver.fetch.client import make_client
from archiver.fetch.transport import TLSOnDemand, trusting_nothing

from .conftest import FeedServer, Reply


def get(client: httpx.AsyncClient, url: str) -> int:
    async def go() -> int:
        async with client:
            return (await client.get(url)).status_code

    return asyncio.run(go())


def test_plain_http_never_sets_up_tls(server: FeedServer) -> None:
    url = server.always("/feed", Reply(200, b"<rss/>"))
    transport = TLSOnDemand(verify=True, limits=httpx.Limits())
    assert get(httpx.AsyncClient(transport=transport), url) == 200
    assert not transport.tls_ready


def test_the_first_https_request_sets_up_tls_and_verifies(tls_server: FeedServer) -> None:
    url = tls_server.always("/feed", Reply(200, b"<rss/>"))
    transport = TLSOnDemand(verify=True, limits=httpx.Limits())
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        get(httpx.AsyncClient(transport=transport), url)
    assert transport.tls_ready


def test_verify_false_reaches_a_self_signed_server(tls_server: FeedServer) -> None:
    url = tls_server.always("/feed", Reply(200, b"<rss/>"))
    assert get(make_client(verify_tls=False), url) == 200


def test_the_environment_s_certificate_file_is_trusted(
    tls_server: FeedServer, ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SSL_CERT_FILE is how a user behind a company's TLS inspection trusts its CA: the
    # https:// pool made on demand honours it as httpx's own does.
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    url = tls_server.always("/feed", Reply(200, b"<rss/>"))
    assert get(make_client(), url) == 200


def test_the_plain_pool_fails_closed_should_it_ever_meet_tls() -> None:
    context = trusting_nothing()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 0


def test_the_client_sets_up_tls_on_demand_unless_given_a_transport() -> None:
    # httpx offers no public view of a client's transport.
    assert isinstance(make_client()._transport, TLSOnDemand)
    mock = httpx.MockTransport(lambda request: httpx.Response(200))
    assert make_client(mock)._transport is mock
