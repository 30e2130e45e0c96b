"""Load and validate feeds.yaml into frozen dataclasses.

The YAML is read as a node tree rather than plain data so that every error can
name the file, the line and the key, and so that duplicate keys (which PyYAML
would silently let the last one win) are reported instead of ignored.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from archiver.config import secrets
from archiver.errors import ConfigError
from archiver.urls import is_web_url

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
    path: str = DEFAULT_PATH_PATTERN
    timeout: float = DEFAULT_TIMEOUT
    deadline: float = DEFAULT_DEADLINE
    max_bytes: int = DEFAULT_MAX_BYTES
    retries: int = DEFAULT_RETRIES
    # False only for a self-signed host the user trusts; never turned off silently.
    verify_tls: bool = True
    # The front matter's keys and formats: default, hugo, jekyll, hexo or obsidian.
    flavor: str = "default"
    # Fixed keys added to every entry's front matter (the seed's `comments: false`).
    extra: tuple[tuple[str, Any], ...] = ()
    # "download" keeps each image inside the archive; "link" leaves the remote URL.
    images: str = "link"
    # Image addresses on loopback or private networks are refused unless this is true.
    allow_private: bool = False
    # Fetch each new entry's page for its article: true, false, or "auto" for teasers.
    fulltext: bool | str = False
    # Regular expressions by entry field (title, content, author, categories; a bare
    # pattern searches title and content): with include, only entries matching one are
    # kept; an entry matching any exclude is dropped.
    include: tuple[tuple[str, str], ...] = ()
    exclude: tuple[tuple[str, str], ...] = ()
    # When an archived entry comes back changed: keep, overwrite, or revisions beside it.
    on_update: str = "keep"
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
    path: Path
    feeds: tuple[FeedConfig, ...]
    concurrency: int = DEFAULT_CONCURRENCY
    per_host: int = DEFAULT_PER_HOST
    index: bool = True  # README.md and monthly index.md pages in the archive
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


# What the parser's words most often mean in a hand-written feeds.yaml.
_YAML_HINTS = (
    ("found character '\\t'", "a tab indents this line; YAML is indented with spaces"),
    (
        "expected <block end>",
        "the indentation is off: the keys of one feed line up, and each feed starts "
        "with '- ' under feeds:",
    ),
)


class _Document:
    """One YAML file being validated: turns nodes into values, or into ConfigErrors."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self._loader = yaml.SafeLoader(text)

    def root(self) -> yaml.Node | None:
        try:
            return self._loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else None
            problem = " ".join(filter(None, [exc.context, exc.problem]))
            hint = next((h for found, h in _YAML_HINTS if found in problem), None)
            message = f"{hint} ({problem})" if hint else problem
            raise ConfigError(self.path, line, None, f"not valid YAML: {message}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(self.path, None, None, f"not valid YAML: {exc}") from None

    def error(self, node: yaml.Node, key: str | None, message: str) -> ConfigError:
        return ConfigError(self.path, node.start_mark.line + 1, key, message)

    def value(self, node: yaml.Node) -> Any:
        return self._loader.construct_object(node, deep=True)

    def mapping(self, node: yaml.Node, key: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """The mapping's entries by key, each with its key node and value node."""
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, key, f"expected a mapping of keys to values, got {_kind(node)}")
        entries: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            name = self.value(key_node)
            if not isinstance(name, str):
                raise self.error(key_node, key, f"keys must be text, got {name!r}")
            if name in entries:
                first = entries[name][0].start_mark.line + 1
                raise self.error(key_node, _join(key, name), f"given twice (first on line {first})")
            entries[name] = (key_node, value_node)
        return entries


_SCALAR_KINDS = {
    "tag:yaml.org,2002:int": "the whole number ",
    "tag:yaml.org,2002:float": "the number ",
    "tag:yaml.org,2002:bool": "",  # true or false says what it is
    "tag:yaml.org,2002:timestamp": "the date ",
}


def _kind(node: yaml.Node) -> str:
    """What a node holds, as an error message names it: its type, then its value."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list" if node.value else "an empty list"
    if _is_nothing(node):
        return "nothing"
    if node.tag in _SCALAR_KINDS:
        return f"{_SCALAR_KINDS[node.tag]}{node.value}"
    return f"the text {node.value!r}"


def _is_nothing(node: yaml.Node) -> bool:
    """A key given no value (`feeds:` alone), which reads as empty."""
    if not isinstance(node, yaml.ScalarNode):
        return False
    return node.tag == "tag:yaml.org,2002:null" or node.value == ""


def _join(parent: str | None, key: str) -> str:
    return f"{parent}.{key}" if parent else key


# Each validator turns a node into a value or raises through doc.error.
Validator = Callable[[_Document, yaml.Node, str], Any]


def _text(doc: _Document, node: yaml.Node, key: str) -> str:
    value = doc.value(node)
    if not isinstance(value, str) or not value.strip():
        raise doc.error(node, key, f"expected non-empty text, got {_kind(node)}")
    return value.strip()


def _web_url(doc: _Document, node: yaml.Node, key: str) -> str:
    """The URL as written, ${NAME} placeholders and all (secrets.py)."""
    value = _text(doc, node, key)
    problem = secrets.placeholder_problem(value)
    if problem:
        raise doc.error(node, key, problem)
    if not is_web_url(value):
        raise doc.error(node, key, f"expected an http:// or https:// URL, got {value!r}")
    netloc = value.split("//", 1)[1].split("/", 1)[0].split("?", 1)[0]
    if secrets.variables(value.split("//", 1)[0] + netloc.rpartition("@")[2]):
        raise doc.error(
            node,
            key,
            "a ${NAME} may stand for the user, the password, the path or the query, "
            "not for the scheme or the host",
        )
    return value


def _text_list(doc: _Document, node: yaml.Node, key: str) -> tuple[str, ...]:
    if isinstance(node, yaml.ScalarNode) and isinstance(doc.value(node), str):
        return (_text(doc, node, key),)
    if not isinstance(node, yaml.SequenceNode):
        raise doc.error(node, key, f"expected a list of text, got {_kind(node)}")
    items = []
    for item in node.value:
        value = doc.value(item)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)  # a category named 2024 is still a category
        if not isinstance(value, str) or not value.strip():
            raise doc.error(item, key, f"expected a list of text, got {_kind(item)} in it")
        items.append(value.strip())
    return tuple(dict.fromkeys(items))


def _number(minimum: float, *, integer: bool = False) -> Validator:
    def validate(doc: _Document, node: yaml.Node, key: str) -> float | int:
        value = doc.value(node)
        kind = "a whole number" if integer else "a number"
        wrong_type = isinstance(value, bool) or not isinstance(value, (int, float))
        if wrong_type or (integer and not isinstance(value, int)) or value < minimum:
            raise doc.error(
                node, key, f"expected {kind} of at least {minimum:g}, got {_kind(node)}"
            )
        return int(value) if integer else float(value)

    return validate


def _boolean(doc: _Document, node: yaml.Node, key: str) -> bool:
    value = doc.value(node)
    if not isinstance(value, bool):
        raise doc.error(node, key, f"expected true or false, got {_kind(node)}")
    return value


# RFC 9110 token characters: what a header name may be made of.
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def _headers(doc: _Document, node: yaml.Node, key: str) -> tuple[tuple[str, str], ...]:
    headers = []
    for name, (name_node, value_node) in doc.mapping(node, key).items():
        value = doc.value(value_node)
        if not _HEADER_NAME.match(name):
            raise doc.error(name_node, f"{key}.{name}", "expected an HTTP header name")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or "\n" in value or "\r" in value:
            raise doc.error(value_node, f"{key}.{name}", "expected one line of text")
        problem = secrets.placeholder_problem(value)
        if problem:
            raise doc.error(value_node, f"{key}.{name}", problem)
        headers.append((name, value))
    return tuple(headers)


def _choice(*choices: str) -> Validator:
    def validate(doc: _Document, node: yaml.Node, key: str) -> str:
        value = _text(doc, node, key)
        if value not in choices:
            raise doc.error(node, key, f"expected one of {', '.join(choices)}, got {value!r}")
        return value

    return validate


FILTER_FIELDS = ("title", "content", "author", "categories")


# What a bare pattern (a list item, not `field: pattern`) is searched in.
UNNAMED_PATTERN_FIELDS = ("title", "content")


def _patterns(doc: _Document, node: yaml.Node, key: str) -> tuple[tuple[str, str], ...]:
    """(entry field, regular expression) pairs, each checked to compile: from a mapping of
    field to pattern, or from a list of patterns (or one), each searched in the title and
    the content."""
    if isinstance(node, yaml.MappingNode):
        given = [
            (field, field_node, value_node, f"{key}.{field}")
            for field, (field_node, value_node) in doc.mapping(node, key).items()
        ]
    elif isinstance(node, yaml.SequenceNode) or (
        isinstance(node, yaml.ScalarNode) and isinstance(doc.value(node), str)
    ):
        items = node.value if isinstance(node, yaml.SequenceNode) else [node]
        given = [
            (field, item, item, f"{key}[{index}]")
            for index, item in enumerate(items)
            for field in UNNAMED_PATTERN_FIELDS
        ]
    else:
        raise doc.error(
            node,
            key,
            "expected a list of regular expressions (searched in title and content) or a "
            f"mapping of field ({', '.join(FILTER_FIELDS)}) to one, got {_kind(node)}",
        )
    patterns = []
    for field, field_node, value_node, where in given:
        if field not in FILTER_FIELDS:
            raise _unknown_key(doc, field_node, where, list(FILTER_FIELDS))
        pattern = _text(doc, value_node, where)
        try:
            re.compile(pattern)
        except re.error as exc:
            raise doc.error(value_node, where, f"not a valid regular expression: {exc}") from None
        patterns.append((field, pattern))
    return tuple(patterns)


def _fulltext(doc: _Document, node: yaml.Node, key: str) -> bool | str:
    value = doc.value(node)
    if isinstance(value, bool) or value == "auto":
        return value  # type: ignore[no-any-return]
    raise doc.error(node, key, f"expected true, false or auto, got {_kind(node)}")


FLAVORS = ("default", "hugo", "jekyll", "hexo", "obsidian")


def _flavor(doc: _Document, node: yaml.Node, key: str) -> str:
    value = _text(doc, node, key)
    if value not in FLAVORS:
        close = difflib.get_close_matches(value, FLAVORS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise doc.error(node, key, f"expected one of {', '.join(FLAVORS)}, got {value!r}{hint}")
    return value


def _is_plain(value: Any) -> bool:
    if isinstance(value, list):
        return all(_is_plain(v) for v in value)
    return value is None or isinstance(value, (str, int, float, bool))


def _extra(doc: _Document, node: yaml.Node, key: str) -> tuple[tuple[str, Any], ...]:
    pairs = []
    for name, (_, value_node) in doc.mapping(node, key).items():
        value = doc.value(value_node)
        if not _is_plain(value):
            raise doc.error(
                value_node, f"{key}.{name}", "expected text, a number, true/false or a list of them"
            )
        pairs.append((name, value))
    return tuple(pairs)


def _timezone(doc: _Document, node: yaml.Node, key: str) -> str:
    value = _text(doc, node, key)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise doc.error(
            node, key, f"expected an IANA time zone such as UTC or Asia/Shanghai, got {value!r}"
        ) from None
    return value


def _path_pattern(doc: _Document, node: yaml.Node, key: str) -> str:
    value = _text(doc, node, key)
    problem = path_pattern_problem(value)
    if problem:
        raise doc.error(node, key, problem)
    return value


def path_pattern_problem(pattern: str) -> str | None:
    """Why `pattern` cannot serve as a path pattern, or None when it can."""
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None]
    except ValueError as exc:
        return f"expected a pattern such as {DEFAULT_PATH_PATTERN!r}: {exc}"
    unknown = sorted(set(fields) - PATH_PLACEHOLDERS)
    if unknown:
        return f"unknown placeholder {{{unknown[0]}}}; known: " + ", ".join(
            f"{{{p}}}" for p in sorted(PATH_PLACEHOLDERS)
        )
    parts = pattern.split("/")
    if pattern.startswith("/") or any(p in ("", ".", "..") for p in parts):
        return "expected a relative path with no empty, '.' or '..' parts"
    # The id index is rebuilt from file names, so the id must end the name.
    if not parts[-1].endswith("{id}.md") or any("{id}" in p for p in parts[:-1]):
        return "the file name must end in '{id}.md' (the archive finds its entries by it)"
    return None


FEED_KEYS: dict[str, Validator] = {
    "categories": _text_list,
    "timezone": _timezone,
    "path": _path_pattern,
    "timeout": _number(0.1),
    "deadline": _number(1),
    "max_bytes": _number(1024, integer=True),
    "retries": _number(0, integer=True),
    "headers": _headers,
    "verify_tls": _boolean,
    "flavor": _flavor,
    "extra": _extra,
    "images": _choice("link", "download"),
    "fulltext": _fulltext,
    "on_update": _choice("keep", "overwrite", "revisions"),
    "include": _patterns,
    "exclude": _patterns,
    "allow_private": _boolean,
    "secret_params": _text_list,
    "backfill_offsite": _boolean,
}
# Keys about the run as a whole: meaningful in `defaults:` only.
RUN_KEYS: dict[str, Validator] = {
    "concurrency": _number(1, integer=True),
    "per_host": _number(1, integer=True),
    "index": _boolean,
    "workers": _number(0, integer=True),
    "wayback_url": _web_url,
    "backfill_delay": _number(0),
}
FEED_ONLY_KEYS: dict[str, Validator] = {"name": _text, "url": _web_url}
TOP_KEYS = ("feeds", "defaults")


def _unknown_key(doc: _Document, node: yaml.Node, key: str, known: list[str]) -> ConfigError:
    close = difflib.get_close_matches(key.rsplit(".", maxsplit=1)[-1], known, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else "known keys: " + ", ".join(sorted(known))
    return doc.error(node, key, f"unknown key; {hint}")


def load_config(path: Path | str, env: Mapping[str, str] | None = None) -> Config:
    """The config at `path`, its ${NAME} placeholders filled in from `env` (none: every
    variable unset, listed in Config.unset, which only `archiver run` cannot do without)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            path, None, None, "no such file (`archiver init` writes a commented one to start from)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, None, None, f"cannot read: {exc}") from None
    return parse_config(text, path, env)


def parse_config(
    text: str, path: Path | str = DEFAULT_CONFIG_PATH, env: Mapping[str, str] | None = None
) -> Config:
    doc = _Document(Path(path), text)
    root = doc.root()
    if root is None:
        raise ConfigError(doc.path, None, None, "the file is empty; it needs a 'feeds:' list")
    top = doc.mapping(root, "")
    for key, (key_node, _) in top.items():
        if key not in TOP_KEYS:
            raise _unknown_key(doc, key_node, key, list(TOP_KEYS))

    defaults, origins, run_settings = _read_defaults(doc, top.get("defaults"))
    if "feeds" not in top:
        raise doc.error(root, "feeds", "missing; list the feeds to archive under 'feeds:'")
    feeds_node = top["feeds"][1]
    if _is_nothing(feeds_node):
        feeds_node = yaml.SequenceNode("tag:yaml.org,2002:seq", [])  # every feed removed
    if not isinstance(feeds_node, yaml.SequenceNode):
        raise doc.error(feeds_node, "feeds", f"expected a list of feeds, got {_kind(feeds_node)}")

    feeds: list[FeedConfig] = []
    unset: list[tuple[str, ConfigError]] = []
    first_line: dict[str, int] = {}
    for index, feed_node in enumerate(feeds_node.value):
        feed = _read_feed(
            doc,
            feed_node,
            f"feeds[{index}]",
            defaults=defaults,
            default_origins=origins,
            env=env or {},
            unset=unset,
        )
        if feed.name in first_line:
            raise doc.error(
                feed_node,
                f"feeds[{index}].name",
                f"{feed.name!r} is used twice (first on line {first_line[feed.name]}); "
                "names identify feeds in the archive's state, so they must be unique",
            )
        first_line[feed.name] = feed_node.start_mark.line + 1
        feeds.append(feed)
    return Config(path=doc.path, feeds=tuple(feeds), unset_by_feed=tuple(unset), **run_settings)


# Where each key's value was written: its node and its dotted key, for an error about it.
Origins = dict[str, tuple[yaml.Node, str]]


def _origins(doc: _Document, key: str, node: yaml.Node, dotted: str) -> Origins:
    """Where `key` was written, and each header of `headers:` (a variable one may need)."""
    origins = {key: (node, dotted)}
    if key == "headers":
        for name, (_, value_node) in doc.mapping(node, dotted).items():
            origins[f"headers.{name}"] = (value_node, f"{dotted}.{name}")
    return origins


def _read_defaults(
    doc: _Document, entry: tuple[yaml.Node, yaml.Node] | None
) -> tuple[dict[str, Any], Origins, dict[str, Any]]:
    if entry is None or _is_nothing(entry[1]):
        return {}, {}, {}
    defaults: dict[str, Any] = {}
    origins: Origins = {}
    run_settings: dict[str, Any] = {}
    for key, (key_node, value_node) in doc.mapping(entry[1], "defaults").items():
        dotted = f"defaults.{key}"
        if key in FEED_KEYS:
            defaults[key] = FEED_KEYS[key](doc, value_node, dotted)
            origins |= _origins(doc, key, value_node, dotted)
        elif key in RUN_KEYS:
            run_settings[key] = RUN_KEYS[key](doc, value_node, dotted)
        elif key in FEED_ONLY_KEYS:
            raise doc.error(key_node, dotted, "belongs to each feed, not to defaults")
        else:
            raise _unknown_key(doc, key_node, dotted, [*FEED_KEYS, *RUN_KEYS])
    return defaults, origins, run_settings


def _read_feed(
    doc: _Document,
    node: yaml.Node,
    where: str,
    *,
    defaults: Mapping[str, Any],
    default_origins: Origins,
    env: Mapping[str, str],
    unset: list[tuple[str, ConfigError]],
) -> FeedConfig:
    values: dict[str, Any] = dict(defaults)
    origins = dict(default_origins)
    entries = doc.mapping(node, where)
    for key, (key_node, value_node) in entries.items():
        dotted = f"{where}.{key}"
        if key in FEED_ONLY_KEYS:
            values[key] = FEED_ONLY_KEYS[key](doc, value_node, dotted)
        elif key in FEED_KEYS:
            values[key] = FEED_KEYS[key](doc, value_node, dotted)
        elif key in RUN_KEYS:
            raise doc.error(key_node, dotted, "applies to the whole run; set it under 'defaults:'")
        else:
            raise _unknown_key(doc, key_node, dotted, [*FEED_ONLY_KEYS, *FEED_KEYS])
        origins |= _origins(doc, key, value_node, dotted)
    for required in FEED_ONLY_KEYS:
        if required not in entries:
            raise doc.error(node, f"{where}.{required}", "missing; every feed needs one")
    if not re.search(r"\w", values["name"]):
        raise doc.error(node, f"{where}.name", "expected a name with at least one letter or digit")

    template = values.pop("url")
    headers = values.get("headers", ())
    secret_params = values.get("secret_params", ())
    texts = [("url", template)] + [(f"headers.{name}", value) for name, value in headers]
    for key, text in texts:
        origin_node, dotted = origins[key]
        for name in secrets.variables(text):
            if name not in env:
                why = f"needs the environment variable {name}, which is not set"
            elif reason := secrets.unsendable(env[name], in_header=key != "url"):
                why = f"cannot be fetched: the environment variable {name} {reason}"
            else:
                continue
            problem = doc.error(origin_node, dotted, f"feed {values['name']!r} {why}")
            unset.append((values["name"], problem))
    url = secrets.shown_url(template, secret_params)
    configured = secrets.configured_url(template, secret_params)
    access = _access(template, headers, secret_params, env)
    return FeedConfig(
        url=url,
        # None where they say no more than the url: a public feed is as it always was.
        configured_url=None if configured == url else configured,
        access=None if access == Access(url) else access,
        **values
        | {
            "headers": tuple(
                (name, secrets.MARKER if secrets.is_credential_header(name, value) else value)
                for name, value in headers
            )
        },
    )


def _access(
    template: str,
    headers: tuple[tuple[str, str], ...],
    secret_params: tuple[str, ...],
    env: Mapping[str, str],
) -> Access:
    """How to fetch the feed: its URL and headers filled in from `env`, the user and
    password of the URL turned into basic auth, and every secret value among them."""
    found: list[str] = []
    missing: list[str] = []

    def value_of(name: str) -> str:
        if name not in env:
            missing.append(name)
            return secrets.MARKER
        found.append(env[name])
        return env[name]

    parts = urlsplit(template)
    userinfo, at, host = parts.netloc.rpartition("@")
    auth = None
    if at:
        # Basic auth, not a URL with a user in it: httpx would keep that URL, password and
        # all, as the response's address.
        user, _, password = userinfo.partition(":")
        auth = (
            secrets.expand(unquote(user), value_of),
            secrets.expand(unquote(password), value_of),
        )
        found.extend(auth)
        template = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    url = secrets.expand(template, value_of)
    found.extend(secrets.url_credentials(url, secret_params))
    plain, credential = [], []
    for name, value_template in headers:
        value = secrets.expand(value_template, value_of)
        if secrets.is_credential_header(name, value_template):
            credential.append((name, value))
            found.extend(secrets.header_secrets(value))
        else:
            plain.append((name, value))
    return Access(
        url=url,
        headers=tuple(plain),
        credential_headers=tuple(credential),
        auth=auth,
        secrets=tuple(dict.fromkeys(f for f in found if f and f != secrets.MARKER)),
        unset=tuple(dict.fromkeys(missing)),
    )
