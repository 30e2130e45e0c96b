"""When a failed request is worth another try, and how long to wait before it.

RFC 9110: 408, 429 and 5xx are worth another try, other 4xx are not. A
Retry-After the server sends is honoured up to a cap, past which waiting
in-process would stall the whole run.
"""

from __future__ import annotations

import email.utils
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import TypeVar

import tenacity

from archiver.errors import FetchError, RetryableFetchError

MAX_RETRY_AFTER = 30.0  # seconds we are willing to wait in-process for a server that asks
BACKOFF_INITIAL = 1.0
BACKOFF_MAX = 30.0
BACKOFF_JITTER = 1.0
RETRY_STATUSES = frozenset({408, 429})

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]

_backoff = tenacity.wait_exponential_jitter(
    initial=BACKOFF_INITIAL, max=BACKOFF_MAX, jitter=BACKOFF_JITTER
)


def worth_retrying_status(status: int) -> bool:
    return status in RETRY_STATUSES or status >= 500


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


async def with_retries(
    operation: Callable[[], Awaitable[T]],
    *,
    retries: int,
    sleep: Sleep,
    retry_after_cap: float = MAX_RETRY_AFTER,
) -> T:
    """`operation`, tried again up to `retries` times while it raises RetryableFetchError.

    A failure that was retried, or whose server asks for a longer wait than the cap, comes
    out as a plain FetchError whose message says so.
    """

    def worth_retrying(exc: BaseException) -> bool:
        if not isinstance(exc, RetryableFetchError):
            return False
        return exc.retry_after is None or exc.retry_after <= retry_after_cap

    retrying = tenacity.AsyncRetrying(
        stop=tenacity.stop_after_attempt(retries + 1),
        wait=_wait,
        retry=tenacity.retry_if_exception(worth_retrying),
        sleep=sleep,
        reraise=True,
    )
    try:
        async for attempt in retrying:
            with attempt:
                return await operation()
    except RetryableFetchError as exc:
        notes = []
        if exc.retry_after is not None and exc.retry_after > retry_after_cap:
            notes.append(
                f"the server asks us to wait {exc.retry_after:.0f} s, "
                f"longer than one run waits ({retry_after_cap:.0f} s)"
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


def _wait(retry_state: tenacity.RetryCallState) -> float:
    """The server's Retry-After when it sent one, else exponential backoff with jitter."""
    exc = retry_state.outcome.exception() if retry_state.outcome else None
    if isinstance(exc, RetryableFetchError) and exc.retry_after is not None:
        return exc.retry_after
    return _backoff(retry_state)
