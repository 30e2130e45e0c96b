"""The connections under the client: plain HTTP set up without TLS, TLS on first use.

httpx builds its TLS context, with the whole CA bundle parsed, when a client is made. A run
whose feeds are all plain HTTP (a local mirror, a loopback test) never needs it, and an
hourly run that gets nothing but 304s spends a noticeable part of its CPU there; so the
https:// side is made by the first request that needs it.
"""

from __future__ import annotations

import ssl

import httpx


class TLSOnDemand(httpx.AsyncBaseTransport):
    """http:// through a pool that never does TLS; https:// (and anything else, which httpcore
    refuses as it would) through a pool made by its first request."""

    def __init__(self, *, verify: bool, limits: httpx.Limits) -> None:
        self._verify = verify
        self._limits = limits
        # Only http:// requests reach this pool, so it never negotiates TLS; should one ever
        # try, a context with no trusted certificate fails closed.
        self._plain = httpx.AsyncHTTPTransport(verify=trusting_nothing(), limits=limits)
        self._tls: httpx.AsyncHTTPTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme == "http":
            return await self._plain.handle_async_request(request)
        if self._tls is None:
            self._tls = httpx.AsyncHTTPTransport(verify=self._verify, limits=self._limits)
        return await self._tls.handle_async_request(request)

    async def aclose(self) -> None:
        await self._plain.aclose()
        if self._tls is not None:
            await self._tls.aclose()

    @property
    def tls_ready(self) -> bool:
        """Whether the https:// pool (and its TLS context) has been made."""
        return self._tls is not None


def trusting_nothing() -> ssl.SSLContext:
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies, and trusts no certificate
