"""Each key of feeds.yaml and its validator: a YAML node in, its value out, or a ConfigError
that says what was expected."""

from __future__ import annotations

import difflib
import re
import string
from collections.abc import Callable
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from archiver.config import secrets
from archiver.config.model import (
    DEFAULT_PATH_PATTERN,
    FILTER_FIELDS,
    FLAVORS,
    IMAGES_MODES,
    ON_UPDATE_MODES,
    PATH_PLACEHOLDERS,
    UNNAMED_PATTERN_FIELDS,
    Flavor,
    Fulltext,
)
from archiver.config.yamltext import YamlFile, kind, unknown_key
from archiver.urls import is_web_url

# Each validator turns a node into a value or raises through doc.error.
Validator = Callable[[YamlFile, yaml.Node, str], Any]


def _text(doc: YamlFile, node: yaml.Node, key: str) -> str:
    value = doc.value(node)
    if not isinstance(value, str) or not value.strip():
        raise doc.error(node, key, f"expected non-empty text, got {kind(node)}")
    return value.strip()


def _web_url(doc: YamlFile, node: yaml.Node, key: str) -> str:
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


def _text_list(doc: YamlFile, node: yaml.Node, key: str) -> tuple[str, ...]:
    if isinstance(node, yaml.ScalarNode) and isinstance(doc.value(node), str):
        return (_text(doc, node, key),)
    if not isinstance(node, yaml.SequenceNode):
        raise doc.error(node, key, f"expected a list of text, got {kind(node)}")
    items = []
    for item in node.value:
        value = doc.value(item)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)  # a category named 2024 is still a category
        if not isinstance(value, str) or not value.strip():
            raise doc.error(item, key, f"expected a list of text, got {kind(item)} in it")
        items.append(value.strip())
    return tuple(dict.fromkeys(items))


def _number(minimum: float, *, integer: bool = False) -> Validator:
    def validate(doc: YamlFile, node: yaml.Node, key: str) -> float | int:
        value = doc.value(node)
        expected = "a whole number" if integer else "a number"
        wrong_type = isinstance(value, bool) or not isinstance(value, (int, float))
        if wrong_type or (integer and not isinstance(value, int)) or value < minimum:
            raise doc.error(
                node, key, f"expected {expected} of at least {minimum:g}, got {kind(node)}"
            )
        return int(value) if integer else float(value)

    return validate


def _boolean(doc: YamlFile, node: yaml.Node, key: str) -> bool:
    value = doc.value(node)
    if not isinstance(value, bool):
        raise doc.error(node, key, f"expected true or false, got {kind(node)}")
    return value


# RFC 9110 token characters: what a header name may be made of.
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def _headers(doc: YamlFile, node: yaml.Node, key: str) -> tuple[tuple[str, str], ...]:
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
    def validate(doc: YamlFile, node: yaml.Node, key: str) -> str:
        value = _text(doc, node, key)
        if value not in choices:
            raise doc.error(node, key, f"expected one of {', '.join(choices)}, got {value!r}")
        return value

    return validate


def _patterns(doc: YamlFile, node: yaml.Node, key: str) -> tuple[tuple[str, str], ...]:
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
            f"mapping of field ({', '.join(FILTER_FIELDS)}) to one, got {kind(node)}",
        )
    patterns = []
    for field, field_node, value_node, where in given:
        if field not in FILTER_FIELDS:
            raise unknown_key(doc, field_node, where, list(FILTER_FIELDS))
        pattern = _text(doc, value_node, where)
        try:
            re.compile(pattern)
        except re.error as exc:
            raise doc.error(value_node, where, f"not a valid regular expression: {exc}") from None
        patterns.append((field, pattern))
    return tuple(patterns)


def _fulltext(doc: YamlFile, node: yaml.Node, key: str) -> Fulltext:
    value = doc.value(node)
    if isinstance(value, bool) or value == "auto":
        return cast("Fulltext", value)
    raise doc.error(node, key, f"expected true, false or auto, got {kind(node)}")


def _flavor(doc: YamlFile, node: yaml.Node, key: str) -> Flavor:
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


def _extra(doc: YamlFile, node: yaml.Node, key: str) -> tuple[tuple[str, Any], ...]:
    pairs = []
    for name, (_, value_node) in doc.mapping(node, key).items():
        value = doc.value(value_node)
        if not _is_plain(value):
            raise doc.error(
                value_node, f"{key}.{name}", "expected text, a number, true/false or a list of them"
            )
        pairs.append((name, value))
    return tuple(pairs)


def _timezone(doc: YamlFile, node: yaml.Node, key: str) -> str:
    value = _text(doc, node, key)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise doc.error(
            node, key, f"expected an IANA time zone such as UTC or Asia/Shanghai, got {value!r}"
        ) from None
    return value


def _path_pattern(doc: YamlFile, node: yaml.Node, key: str) -> str:
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
    # The archived ids are read from the file names, so the id must end the name.
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
    "images": _choice(*IMAGES_MODES),
    "fulltext": _fulltext,
    "on_update": _choice(*ON_UPDATE_MODES),
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
# The keys whose field (of FeedConfig, or of Config) is named otherwise: `path:` is a
# file-name pattern, `index:` says whether the archive's pages are built.
FIELD_OF_KEY = {"path": "path_pattern", "index": "pages"}
