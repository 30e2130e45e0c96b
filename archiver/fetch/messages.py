"""The one-line errors a fetch ends with, worded for what was being fetched."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import httpx

from archiver.config.secrets import Redactor
from archiver.errors import FetchError, RetryableFetchError
from archiver.fetch.redirects import MAX_REDIRECTS
from archiver.fetch.retry import parse_retry_after, worth_retrying_status
from archiver.urls import host_of


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


def status_error(response: httpx.Response, now: datetime, target: Target) -> FetchError:
    """The one-line error for an HTTP status of 400 or more."""
    status = response.status_code
    message = f"HTTP {status} {response.reason_phrase}".rstrip()
    if worth_retrying_status(status):
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
        return too_many_redirects()
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


def too_many_redirects() -> FetchError:
    return FetchError(f"too many redirects (more than {MAX_REDIRECTS})")


def too_large(limit: int, target: Target) -> FetchError:
    setting = f" ({target.size_setting})" if target.size_setting else ""
    return FetchError(f"too large: the {target.noun} is over the {limit:,} byte limit{setting}")


def not_of_type(media_type: str, target: Target) -> FetchError:
    """A linked address answered with something other than what the target is."""
    article = "an" if target.noun[0] in "aeiou" else "a"
    got = media_type or "no Content-Type"
    return FetchError(f"not {article} {target.noun}: {got}")


def redacted(exc: FetchError, redactor: Redactor) -> FetchError:
    """`exc` with every secret value in its message replaced by the marker: httpx's own
    messages quote the URL they were about."""
    message = redactor.text(str(exc))
    if message == str(exc):
        return exc
    return type(exc)(message, status=exc.status, retry_after=exc.retry_after)
