"""Managing the list of feeds: OPML in and out, adding, removing and moving feeds.

feeds.yaml is a file people write, with comments that explain it: it is edited
with ruamel.yaml's round trip, which keeps comments, order and layout, never
re-dumped with PyYAML.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin
from xml.etree import ElementTree
from xml.sax.saxutils import quoteattr

import httpx
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.util import load_yaml_guess_indent

from archiver.about import __version__
from archiver.archive.disk import write_atomic
from archiver.archive.store import Archive
from archiver.clock import utcnow
from archiver.config.load import load_config, parse_config
from archiver.config.model import DEFAULT_TIMEOUT, Config
from archiver.config.secrets import (
    MARKER,
    Redactor,
    credential_hint,
    redact_url,
    shown_url,
    url_credentials,
)
from archiver.convert.paths import slugify
from archiver.errors import ConfigError, FeedError, FetchError
from archiver.fetch.client import make_client
from archiver.fetch.messages import GIVEN_PAGE, status_error, transport_error
from archiver.models import current_state
from archiver.parse.feed import advertised_feeds, parse_feed
from archiver.urls import is_web_url, normalise_url


@dataclass(frozen=True)
class NewFeed:
    name: str
    url: str
    categories: tuple[str, ...] = ()


# --- OPML -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OpmlFeeds:
    feeds: list[NewFeed]
    unusable: list[str]  # why each outline with an address that is no web URL was left out


def read_opml(data: bytes, source: str) -> OpmlFeeds:
    """The feeds of an OPML file; the folders an outline sits in become its categories."""
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise ConfigError(source, None, None, f"not a readable OPML file: {exc}") from None
    body = root.find("body")
    if root.tag != "opml" or body is None:
        raise ConfigError(source, None, None, "not an OPML file: no <opml><body>")
    feeds: list[NewFeed] = []
    unusable: list[str] = []

    def walk(outline: ElementTree.Element, folders: tuple[str, ...]) -> None:
        label = (outline.get("title") or outline.get("text") or "").strip()
        url = (outline.get("xmlUrl") or "").strip()
        if url and is_web_url(url):
            feeds.append(NewFeed(label or url, url, folders))
        elif url:
            unusable.append(f"{label or url!r}: {url} is not an http:// or https:// URL")
        for child in outline.findall("outline"):
            walk(child, (*folders, label) if label and not url else folders)

    for outline in body.findall("outline"):
        walk(outline, ())
    return OpmlFeeds(feeds, unusable)


def write_opml(config: Config) -> str:
    """OPML 2.0 of the config's feeds, nested in folders by their categories; each URL as
    feeds.yaml writes it, its ${NAME} placeholders kept, never their values."""
    tree: dict[str, Any] = {}
    for feed in config.feeds:
        node = tree
        for category in feed.categories:
            node = node.setdefault(category, {})
        node.setdefault("", []).append(feed)

    def render(node: dict[str, Any], depth: int) -> Iterable[str]:
        pad = "  " * depth
        for feed in node.get("", []):
            url = feed.configured_url or feed.url
            yield (
                f'{pad}<outline type="rss" text={quoteattr(feed.name)} '
                f"title={quoteattr(feed.name)} xmlUrl={quoteattr(url)}/>"
            )
        for folder, child in node.items():
            if folder:
                yield f"{pad}<outline text={quoteattr(folder)} title={quoteattr(folder)}>"
                yield from render(child, depth + 1)
                yield f"{pad}</outline>"

    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        "  <head>",
        f"    <title>Feeds archived by archiver {__version__}</title>",
        "  </head>",
        "  <body>",
        *render(tree, 2),
        "  </body>",
        "</opml>",
    ]
    return "\n".join(lines) + "\n"


# --- editing feeds.yaml -----------------------------------------------------------------


class FeedList:
    """feeds.yaml opened for editing; `save` writes it back with its comments."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.config = load_config(path)  # validates first: never edit a broken file
        text = path.read_text(encoding="utf-8")
        self._yaml = YAML()
        self._yaml.preserve_quotes = True
        _, indent, offset = load_yaml_guess_indent(text)
        if indent is None or offset is None:  # no list written yet: the README's layout
            indent, offset = 4, 2
        self._yaml.indent(mapping=2, sequence=indent, offset=offset)
        self._yaml.width = 4096
        self.document = self._yaml.load(text)

    @property
    def feeds(self) -> CommentedSeq:
        feeds = self.document["feeds"]
        if feeds is None:  # `feeds:` with nothing after it
            feeds = self.document["feeds"] = CommentedSeq()
        assert isinstance(feeds, CommentedSeq)
        return feeds

    def has_url(self, url: str) -> bool:
        # By shown URL: the same feed whether its token is written out or in a variable.
        wanted = normalise_url(shown_url(url))
        return any(normalise_url(f.url) == wanted for f in self.config.feeds)

    def unique_name(self, label: str) -> str:
        taken = {f.name for f in self.config.feeds} | {str(f["name"]) for f in self.feeds}
        base = slugify(label)
        name, number = base, 2
        while name in taken:
            name, number = f"{base}-{number}", number + 1
        return name

    def add(self, feed: NewFeed) -> str | None:
        """Append the feed under a unique name; None when its URL is already there."""
        if self.has_url(feed.url) or any(
            normalise_url(shown_url(str(f["url"]))) == normalise_url(shown_url(feed.url))
            for f in self.feeds
        ):
            return None
        entry = CommentedMap()
        entry["name"] = self.unique_name(feed.name)
        entry["url"] = feed.url
        if feed.categories:
            categories = CommentedSeq(feed.categories)
            categories.fa.set_flow_style()
            entry["categories"] = categories
        self.feeds.append(entry)
        return str(entry["name"])

    def remove(self, name: str) -> bool:
        for index, feed in enumerate(self.feeds):
            if feed.get("name") == name:
                del self.feeds[index]
                return True
        return False

    def set_url(self, name: str, url: str) -> bool:
        for feed in self.feeds:
            if feed.get("name") == name:
                feed["url"] = url
                return True
        return False

    def save(self) -> None:
        buffer = io.StringIO()
        self._yaml.dump(self.document, buffer)
        # Checked before it is written: an edit that would not load leaves the file as it was.
        parse_config(buffer.getvalue(), self.path)
        write_atomic(self.path, buffer.getvalue().encode("utf-8"))


@dataclass(frozen=True)
class OpmlImport:
    added: list[str]  # the names given to the feeds added
    present: int  # feeds already in the config
    unusable: list[str]  # why each outline that could not be added was not
    # (name, how to move it into the environment) of each feed added whose URL carries a
    # credential, which feeds.yaml would publish.
    credentials: list[tuple[str, str]] = field(default_factory=list)


def import_opml(config_path: Path, opml: bytes, source: str) -> OpmlImport:
    """Add the OPML's feeds to the config."""
    feeds = FeedList(config_path)
    read = read_opml(opml, source)
    added, present = [], 0
    credentials: list[tuple[str, str]] = []
    for feed in read.feeds:
        name = feeds.add(feed)
        if name is None:
            present += 1
        else:
            added.append(name)
            hint = credential_hint(feed.url)
            if hint:
                credentials.append((name, hint))
    if added:
        feeds.save()
    return OpmlImport(added, present, read.unusable, credentials)


def add_feed(config_path: Path, feed: NewFeed) -> str | None:
    feeds = FeedList(config_path)
    name = feeds.add(feed)
    if name is not None:
        feeds.save()
    return name


def remove_feed(config_path: Path, name: str) -> bool:
    feeds = FeedList(config_path)
    removed = feeds.remove(name)
    if removed:
        feeds.save()
    return removed


def apply_redirects(config_path: Path, moves: Sequence[tuple[str, str]]) -> list[str]:
    """Point each (name, new URL) at its new address; the names changed."""
    feeds = FeedList(config_path)
    changed = [name for name, url in moves if feeds.set_url(name, url)]
    if changed:
        feeds.save()
    return changed


@dataclass(frozen=True)
class Redirects:
    applied: list[tuple[str, str]]  # (name, new URL) of each feed whose url was updated
    # (name, new URL) of each feed that moved to a URL with a secret in it, which
    # feeds.yaml would publish: for the user to move by hand.
    by_hand: list[tuple[str, str]]


def apply_permanent_redirects(config: Config, output: Path) -> Redirects:
    """Point each feed that moved permanently, as the archive's state at `output` says,
    at its new address in the config."""
    states, _ = Archive(output).load_state(utcnow(), set_aside=False)
    moves = [
        (feed.name, state.permanent_redirect)
        for feed in config.feeds
        if (state := current_state(states.get(feed.name), feed.url)) and state.permanent_redirect
    ]
    by_hand = [(name, url) for name, url in moves if MARKER in url]
    moves = [(name, url) for name, url in moves if MARKER not in url]
    changed = set(apply_redirects(config.source, moves))
    return Redirects([(name, url) for name, url in moves if name in changed], by_hand)


# --- finding a site's feeds -------------------------------------------------------------

# Where sites that do not say keep their feed, most common first.
COMMON_FEED_PATHS = (
    "/feed",
    "/rss",
    "/feed.xml",
    "/rss.xml",
    "/atom.xml",
    "/index.xml",
    "/feed.json",
    "/feeds/posts/default",
)


@dataclass(frozen=True)
class FoundFeed:
    url: str
    title: str | None


async def _get(client: httpx.AsyncClient, url: str) -> tuple[bytes, str, str]:
    """(body, Content-Type, final URL), or FetchError with the one line a run would give."""
    try:
        response = await client.get(url, timeout=DEFAULT_TIMEOUT)
    except httpx.HTTPError as exc:
        raise transport_error(exc, url, DEFAULT_TIMEOUT) from None
    if response.status_code >= 400:
        raise status_error(response, utcnow(), GIVEN_PAGE)
    return response.content, response.headers.get("content-type", ""), str(response.url)


async def _as_feed(client: httpx.AsyncClient, url: str) -> FoundFeed | None:
    try:
        body, content_type, final = await _get(client, url)
        parsed = parse_feed(body, url=final, headers={"content-type": content_type})
    except FeedError:
        return None
    return FoundFeed(final, parsed.title)


async def find_feeds(
    url: str, transport: httpx.AsyncBaseTransport | None = None
) -> list[FoundFeed]:
    """The feeds at `url`: itself if it is one, else those the page advertises with
    <link rel="alternate">, else those found at the usual paths."""
    async with make_client(transport) as client:
        try:
            body, content_type, final = await _get(client, url)
        except FetchError as exc:
            # The URL given may carry a credential: never repeated as it is.
            message = f"cannot fetch {redact_url(url)}: {exc}"
            raise FetchError(Redactor(url_credentials(url)).text(message)) from None
        try:
            parsed = parse_feed(body, url=final, headers={"content-type": content_type})
            return [FoundFeed(final, parsed.title)]
        except FeedError:
            pass
        candidates = advertised_feeds(body, final) or [urljoin(final, p) for p in COMMON_FEED_PATHS]
        found = await asyncio.gather(*(_as_feed(client, c) for c in dict.fromkeys(candidates)))
        return [feed for feed in found if feed is not None]
