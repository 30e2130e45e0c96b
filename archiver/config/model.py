"""What feeds.yaml says, as frozen dataclasses: the feeds, their settings and modes, the run's
settings, and what the defaults are."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

from archiver.errors import ConfigError

DEFAULT_CONFIG_PATH = Path("feeds.yaml")
DEFAULT_OUTPUT_DIR = Path("output")
DEFAULT_PATH_PATTERN = "{year}/{month}/{day}/{slug}-{id}.md"
DEFAULT_TIMEZONE = "UTC"
DEFAULT_TIMEOUT = 20.0  # seconds, for connecting and for each read
DEFAULT_DEADLINE = 60.0  # seconds for a whole feed, retries included
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_RETRIES = 2
DEFAULT_CONCURRENCY = 8
DEFAULT_PER_HOST = 2
DEFAULT_WAYBACK_URL = "https://web.archive.org"
DEFAULT_BACKFILL_DELAY = 1.0  # seconds between two pages of one host in `archiver backfill`
DEFAULT_MAX_PAGES = 50  # pages per feed and source in one `archiver backfill`

PATH_PLACEHOLDERS = frozenset({"year", "month", "day", "slug", "id", "feed"})

# The front matter's keys and formats, by the site generator the archive is for.
Flavor = Literal["default", "hugo", "jekyll", "hexo", "obsidian"]
FLAVORS: tuple[Flavor, ...] = get_args(Flavor)
# "download" keeps each image inside the archive; "link" leaves the remote URL.
ImagesMode = Literal["link", "download"]
IMAGES_MODES: tuple[ImagesMode, ...] = get_args(ImagesMode)
# What an archived entry that comes back changed does: nothing, overwrite its file, or
# write the new version beside it.
OnUpdate = Literal["keep", "overwrite", "revisions"]
ON_UPDATE_MODES: tuple[OnUpdate, ...] = get_args(OnUpdate)
# Whether each new entry's web page is fetched for its article: never, always, or for
# entries whose feed gives a teaser only.
Fulltext = Literal[False, True, "auto"]

# Entry fields a filter searches, and what a bare pattern (a list item, not
# `field: pattern`) is searched in.
FILTER_FIELDS = ("title", "content", "author", "categories")
UNNAMED_PATTERN_FIELDS = ("title", "content")


@dataclass(frozen=True)
class Access:
    """What fetching a feed takes, secrets and all. Only the fetcher reads it; its repr
    shows none of it."""

    url: str  # the address to request, with its variables filled in and no user or password
    headers: tuple[tuple[str, str], ...] = ()  # sent wherever the feed's requests go
    # Sent to the feed's own origin only: not to another host a redirect, an image or an
    # article page leads to.
    credential_headers: tuple[tuple[str, str], ...] = ()
    auth: tuple[str, str] | None = None  # HTTP basic auth, from the URL's user and password
    secrets: tuple[str, ...] = ()  # every secret value, for the Redactor
    unset: tuple[str, ...] = ()  # variables the environment lacked: not to be fetched

    def __repr__(self) -> str:
        return f"Access(<{len(self.secrets)} secrets hidden>)"

    @property
    def private(self) -> bool:
        return bool(self.secrets or self.credential_headers or self.auth)


@dataclass(frozen=True)
class FeedConfig:
    name: str
    # What identifies and shows the feed (front matter, state, shard, report, logs): the
    # configured URL with every secret in it replaced by secrets.MARKER. The real address
    # is in `access`, which only the fetcher reads.
    url: str
    categories: tuple[str, ...] = ()
    timezone: str = DEFAULT_TIMEZONE
    # Where an entry's file goes in the archive (feeds.yaml's `path:`), from its date,
    # slug, id and feed name.
    path_pattern: str = DEFAULT_PATH_PATTERN
    timeout: float = DEFAULT_TIMEOUT
    deadline: float = DEFAULT_DEADLINE
    max_bytes: int = DEFAULT_MAX_BYTES
    retries: int = DEFAULT_RETRIES
    # False only for a self-signed host the user trusts; never turned off silently.
    verify_tls: bool = True
    flavor: Flavor = "default"
    # Fixed keys added to every entry's front matter (the seed's `comments: false`).
    extra: tuple[tuple[str, Any], ...] = ()
    images: ImagesMode = "link"
    # Image addresses on loopback or private networks are refused unless this is true.
    allow_private: bool = False
    fulltext: Fulltext = False
    # Regular expressions by entry field (title, content, author, categories; a bare
    # pattern searches title and content): with include, only entries matching one are
    # kept; an entry matching any exclude is dropped.
    include: tuple[tuple[str, str], ...] = ()
    exclude: tuple[tuple[str, str], ...] = ()
    on_update: OnUpdate = "keep"
    # More query parameters whose values are credentials (secrets.CREDENTIAL_PARAMS).
    secret_params: tuple[str, ...] = ()
    # The url as feeds.yaml writes it, ${NAME} placeholders kept and any credential
    # written out replaced by the marker (export-opml); None: `url`.
    configured_url: str | None = None
    # The headers as feeds.yaml writes them, a credential header's value replaced by the
    # marker: for showing. What is sent is in `access`.
    headers: tuple[tuple[str, str], ...] = ()
    # The request URL, headers (a browser User-Agent, a cookie) and credentials; None: `url`
    # as it is, no headers.
    access: Access | None = dataclasses.field(default=None, repr=False)
    # `archiver backfill` follows a history link to another host only when this is true.
    backfill_offsite: bool = False

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def request(self) -> Access:
        return self.access or Access(self.url)

    def public(self) -> FeedConfig:
        """The feed without its access, for what has no need of it (the worker processes)."""
        return replace(self, access=None)


@dataclass(frozen=True)
class Config:
    source: Path  # the file the config was read from
    feeds: tuple[FeedConfig, ...]
    concurrency: int = DEFAULT_CONCURRENCY
    per_host: int = DEFAULT_PER_HOST
    pages: bool = True  # README.md and monthly index.md pages in the archive
    workers: int = 0  # processes that parse and convert; 0: one per core
    wayback_url: str = DEFAULT_WAYBACK_URL  # the Wayback Machine `backfill --wayback` asks
    backfill_delay: float = DEFAULT_BACKFILL_DELAY
    # An environment variable a feed names but the environment lacks, by feed name, each
    # as the error `archiver run` stops with (and `archiver check` notes).
    unset_by_feed: tuple[tuple[str, ConfigError], ...] = ()

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value of every feed."""
        return tuple(s for feed in self.feeds for s in feed.request.secrets)

    @property
    def unset(self) -> tuple[ConfigError, ...]:
        return tuple(problem for _, problem in self.unset_by_feed)

    def unset_for(self, feeds: Iterable[FeedConfig]) -> tuple[ConfigError, ...]:
        """The unset variables of these feeds: a run of others needs none of them."""
        names = {feed.name for feed in feeds}
        return tuple(problem for name, problem in self.unset_by_feed if name in names)
