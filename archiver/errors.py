"""The exception tree.

    ArchiverError                 anything archiver raises on purpose
     ├── ConfigError              feeds.yaml is wrong: carries file, line and key
     ├── LockHeldError            another run holds the archive's lock
     ├── StoreError               the archive cannot be written (disk full, read-only)
     └── FeedError                one feed failed; the run goes on with the others
          ├── FetchError          while getting the feed over HTTP
          │    └── RetryableFetchError   a failure worth another try (5xx, 408, 429, network)
          └── ParseError          the body is not a feed we can read

Per-feed errors end up as values in `FeedOutcome`; only ConfigError, LockHeldError
and StoreError stop a run.
"""

from __future__ import annotations

from pathlib import Path


class ArchiverError(Exception):
    """Base of every error archiver raises on purpose."""


class ConfigError(ArchiverError):
    def __init__(self, path: Path | str, line: int | None, key: str | None, message: str) -> None:
        self.path = Path(path)
        self.line = line
        self.key = key
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = str(self.path) if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class LockHeldError(ArchiverError):
    pass


class StoreError(ArchiverError):
    pass


class FeedError(ArchiverError):
    """A failure of one feed, described in one line a person can act on."""


class FetchError(FeedError):
    """`retry_after`: seconds the server asked us to wait before the next try, if it did."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        self.status = status
        self.retry_after = retry_after
        super().__init__(message)


class RetryableFetchError(FetchError):
    pass


class ParseError(FeedError):
    pass
