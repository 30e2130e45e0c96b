"""Load and validate feeds.yaml into the frozen dataclasses of config.model: its keys
checked one by one (config.keys), the defaults applied to every feed, and the ${NAME}
placeholders filled in from the environment (config.secrets)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import yaml

from archiver.config import secrets
from archiver.config.keys import FEED_KEYS, FEED_ONLY_KEYS, FIELD_OF_KEY, RUN_KEYS, TOP_KEYS
from archiver.config.model import DEFAULT_CONFIG_PATH, Access, Config, FeedConfig
from archiver.config.yamltext import YamlFile, is_nothing, kind, unknown_key
from archiver.errors import ConfigError


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
    doc = YamlFile(Path(path), text)
    root = doc.root()
    if root is None:
        raise ConfigError(doc.path, None, None, "the file is empty; it needs a 'feeds:' list")
    top = doc.mapping(root, "")
    for key, (key_node, _) in top.items():
        if key not in TOP_KEYS:
            raise unknown_key(doc, key_node, key, list(TOP_KEYS))

    defaults, origins, run_settings = _read_defaults(doc, top.get("defaults"))
    if "feeds" not in top:
        raise doc.error(root, "feeds", "missing; list the feeds to archive under 'feeds:'")
    feeds_node = top["feeds"][1]
    if is_nothing(feeds_node):
        feeds_node = yaml.SequenceNode("tag:yaml.org,2002:seq", [])  # every feed removed
    if not isinstance(feeds_node, yaml.SequenceNode):
        raise doc.error(feeds_node, "feeds", f"expected a list of feeds, got {kind(feeds_node)}")

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
    return Config(source=doc.path, feeds=tuple(feeds), unset_by_feed=tuple(unset), **run_settings)


# Where each key's value was written: its node and its dotted key, for an error about it.
Origins = dict[str, tuple[yaml.Node, str]]


def _origins(doc: YamlFile, key: str, node: yaml.Node, dotted: str) -> Origins:
    """Where `key` was written, and each header of `headers:` (a variable one may need)."""
    origins = {key: (node, dotted)}
    if key == "headers":
        for name, (_, value_node) in doc.mapping(node, dotted).items():
            origins[f"headers.{name}"] = (value_node, f"{dotted}.{name}")
    return origins


def _read_defaults(
    doc: YamlFile, entry: tuple[yaml.Node, yaml.Node] | None
) -> tuple[dict[str, Any], Origins, dict[str, Any]]:
    if entry is None or is_nothing(entry[1]):
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
            run_settings[FIELD_OF_KEY.get(key, key)] = RUN_KEYS[key](doc, value_node, dotted)
        elif key in FEED_ONLY_KEYS:
            raise doc.error(key_node, dotted, "belongs to each feed, not to defaults")
        else:
            raise unknown_key(doc, key_node, dotted, [*FEED_KEYS, *RUN_KEYS])
    return defaults, origins, run_settings


def _read_feed(
    doc: YamlFile,
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
            raise unknown_key(doc, key_node, dotted, [*FEED_ONLY_KEYS, *FEED_KEYS])
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
    values = {FIELD_OF_KEY.get(key, key): value for key, value in values.items()}
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
