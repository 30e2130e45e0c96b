"""Redirects, followed by the fetcher itself rather than by httpx: httpx would take every
header but Authorization (a cookie, an API key) along to whatever host a redirect leads to.
Credentials go only to the feed's own origin."""

from __future__ import annotations

import httpx

from archiver.config.model import Access
from archiver.errors import FetchError

MAX_REDIRECTS = 5
PERMANENT_REDIRECTS = frozenset({301, 308})


def redirect_target(response: httpx.Response) -> httpx.URL:
    try:
        return response.url.join(response.headers["location"])
    except httpx.InvalidURL as exc:
        raise FetchError(f"redirected to an address that is not a URL: {exc}") from None


def moved_permanently(statuses: list[int]) -> bool:
    """Whether a chain of redirects says the feed has moved: every step is permanent."""
    return bool(statuses) and all(status in PERMANENT_REDIRECTS for status in statuses)


def same_origin(url: httpx.URL, other: httpx.URL) -> bool:
    """As browsers (and httpx, for Authorization) judge it, where credentials may go: the
    same scheme, host and port, or the same host moving from http to https."""
    ports = {"http": 80, "https": 443}
    port, other_port = url.port or ports.get(url.scheme), other.port or ports.get(other.scheme)
    if url.host != other.host:
        return False
    upgrade = url.scheme == "http" and other.scheme == "https" and other_port == 443
    return (url.scheme == other.scheme and port == other_port) or (upgrade and port == 80)


def credentials_for(
    access: Access, url: httpx.URL
) -> tuple[dict[str, str], tuple[str, str] | None]:
    """The headers and basic auth to send to `url`: the credentials only to the feed's own
    origin, never to another host a redirect, an image or an article page leads to."""
    headers = dict(access.headers)
    if not same_origin(httpx.URL(access.url), url):
        return headers, None
    return headers | dict(access.credential_headers), access.auth
