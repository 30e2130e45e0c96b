"""Entry → YAML front matter, and an archived file's front matter read back; pure.

yaml.safe_dump chooses the quoting, so no title, however hostile (`---`,
`: `, quotes, `yes`, newlines, emoji), can break out of its value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from archiver.config.model import FeedConfig
from archiver.models import Entry

# Long enough that PyYAML never folds a title or URL over several lines.
_NO_WRAP = 1 << 20
# libyaml's emitter writes the same YAML as PyYAML's own, several times faster, except
# for a string holding a character beyond the Basic Multilingual Plane (libyaml writes
# emoji and rare CJK as \U0001F600, which no person wants to read), U+0085 or a carriage
# return, or a key that is long or odd (libyaml quotes those differently). There,
# PyYAML's own emitter writes the front matter, so one entry always gives one file.
_FAST_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # not a SafeDumper subclass
_WRITTEN_OTHERWISE_BY_LIBYAML = re.compile("[\r\x85\U00010000-\U0010ffff]")
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")
_OPENING = "---\n"
_CLOSING = "\n---\n"


def iso_date(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).isoformat()


def merge_categories(configured: Sequence[str], tags: Sequence[str]) -> list[str]:
    """The feed's categories, then the entry's tags, each once (ignoring case)."""
    merged: dict[str, str] = {}
    for name in (*configured, *tags):
        merged.setdefault(name.casefold(), name)
    return list(merged.values())


def _present(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """The pairs whose value is there: absent facts are left out, never written as null."""
    return {key: value for key, value in pairs if value not in (None, "", [], {})}


def _enclosures(entry: Entry) -> list[dict[str, Any]]:
    return [
        _present((("url", e.url), ("type", e.type), ("length", e.length))) for e in entry.enclosures
    ]


def _revised(entry: Entry, date: datetime) -> datetime | None:
    """The entry's updated time, when it says something the date does not."""
    return entry.updated if entry.updated and entry.updated != date else None


def _feed_ref(feed: FeedConfig) -> dict[str, str]:
    return {"name": feed.name, "url": feed.url}


def _default(
    entry: Entry, feed: FeedConfig, title: str, date: datetime, image: str | None
) -> Pairs:
    zone = feed.zone
    updated = _revised(entry, date)
    return [
        ("title", title),
        ("author", entry.author),
        ("date", iso_date(date, zone)),
        ("updated", iso_date(updated, zone) if updated else None),
        ("categories", merge_categories(feed.categories, entry.tags)),
        ("url", entry.link),
        ("id", entry.id),
        ("feed", _feed_ref(feed)),
        ("image", image),
        ("summary", entry.summary),
        ("duration", entry.duration),
        ("enclosures", _enclosures(entry)),
    ]


def _hugo(entry: Entry, feed: FeedConfig, title: str, date: datetime, image: str | None) -> Pairs:
    # https://gohugo.io/content-management/front-matter/: `url` would replace the
    # page's own path, and fields of our own belong under `params`.
    zone = feed.zone
    lastmod = _revised(entry, date)
    params = _present(
        (
            ("author", entry.author),
            ("source_url", entry.link),
            ("id", entry.id),
            ("feed", _feed_ref(feed)),
            ("duration", entry.duration),
            ("enclosures", _enclosures(entry)),
        )
    )
    return [
        ("title", title),
        ("date", iso_date(date, zone)),
        ("lastmod", iso_date(lastmod, zone) if lastmod else None),
        ("draft", False),
        ("categories", list(feed.categories)),
        ("tags", list(entry.tags)),
        ("images", [image] if image else None),
        # gohugo.io/content-management/summaries: a front matter `summary` is the
        # page's .Summary, before the automatic one (`description` is for <meta>).
        ("summary", entry.summary),
        ("params", params),
    ]


def _jekyll(entry: Entry, feed: FeedConfig, title: str, date: datetime, image: str | None) -> Pairs:
    # https://jekyllrb.com/docs/front-matter/: the date as YYYY-MM-DD HH:MM:SS +/-TTTT;
    # render_with_liquid: false (Jekyll 4) keeps Liquid in an entry's text from running.
    zone = feed.zone
    return [
        ("layout", "post"),
        ("render_with_liquid", False),
        ("title", title),
        ("date", date.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %z")),
        ("categories", list(feed.categories)),
        ("tags", list(entry.tags)),
        ("author", entry.author),
        ("image", image),
        # jekyllrb.com/docs/posts: an `excerpt` in front matter replaces post.excerpt.
        ("excerpt", entry.summary),
        ("source_url", entry.link),
        ("id", entry.id),
        ("feed", _feed_ref(feed)),
        ("duration", entry.duration),
        ("enclosures", _enclosures(entry)),
    ]


def _hexo(entry: Entry, feed: FeedConfig, title: str, date: datetime, image: str | None) -> Pairs:
    # https://hexo.io/docs/front-matter: title, date, updated, categories, tags; the
    # lead image as `headimg` and `thumbnail`, the keys themes read (the seed has both);
    # disableNunjucks: true keeps Nunjucks tags in an entry's text from running.
    zone = feed.zone
    updated = _revised(entry, date)
    return [
        ("title", title),
        ("categories", list(feed.categories)),
        ("tags", list(entry.tags)),
        ("headimg", image),
        ("author", entry.author),
        ("date", iso_date(date, zone)),
        ("updated", iso_date(updated, zone) if updated else None),
        ("thumbnail", image),
        ("excerpt", entry.summary),  # hexo.io/docs/front-matter: "page excerpt in plain text"
        ("source_url", entry.link),
        ("id", entry.id),
        ("duration", entry.duration),
        ("enclosures", _enclosures(entry)),
        ("disableNunjucks", True),
    ]


_TAG_BREAKS = re.compile(r"[\s#,]+")


def obsidian_tag(name: str) -> str:
    """A tag Obsidian accepts: no spaces, no '#', not only digits."""
    tag = _TAG_BREAKS.sub("-", name).strip("-")
    return f"_{tag}" if tag.isdigit() else tag


def _obsidian(
    entry: Entry, feed: FeedConfig, title: str, date: datetime, image: str | None
) -> Pairs:
    # https://help.obsidian.md/properties: a date & time property has no offset.
    zone = feed.zone
    tags = [obsidian_tag(t) for t in merge_categories(feed.categories, entry.tags)]
    updated = _revised(entry, date)
    return [
        ("title", title),
        ("aliases", [title]),
        ("tags", [t for t in dict.fromkeys(tags) if t]),
        ("created", date.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S")),
        ("updated", updated.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S") if updated else None),
        ("author", entry.author),
        ("url", entry.link),
        ("image", image),
        ("summary", entry.summary),
        ("id", entry.id),
        ("feed", feed.name),
        ("duration", entry.duration),
        ("enclosures", _enclosures(entry)),
    ]


Pairs = list[tuple[str, Any]]
FLAVORS: dict[str, Callable[[Entry, FeedConfig, str, datetime, str | None], Pairs]] = {
    "default": _default,
    "hugo": _hugo,
    "jekyll": _jekyll,
    "hexo": _hexo,
    "obsidian": _obsidian,
}


def front_matter(
    entry: Entry,
    *,
    feed: FeedConfig,
    title: str,
    date: datetime,
    image: str | None,
) -> dict[str, Any]:
    """The keys of the feed's flavour in a fixed order, then its `extra:` keys."""
    matter = _present(FLAVORS[feed.flavor](entry, feed, title, date, image))
    # Only an entry found elsewhere than in its feed (a Wayback Machine snapshot) has an
    # origin: every other entry's front matter stays as it was.
    return matter | dict(entry.origin) | dict(feed.extra)


def render(matter: dict[str, Any], body: str) -> str:
    dumper = _FAST_DUMPER if _written_alike_by_libyaml(matter) else yaml.SafeDumper
    header = yaml.dump(
        matter,
        Dumper=dumper,
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=False,
        width=_NO_WRAP,
    )
    text = f"{_OPENING}{header}---\n"
    return f"{text}\n{body}\n" if body else text


@dataclass(frozen=True)
class FrontMatter:
    """A file's front matter and what follows it (the body keeps the blank line `render`
    puts before it). When the header does not read, `matter` is empty and `problem` says
    why; a file with no header at all is all body."""

    body: str
    matter: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None


def read(text: str) -> FrontMatter:
    """The front matter between the `---` lines that open `text`, as `render` writes it
    (or a person edits it)."""
    if not text.startswith(_OPENING):
        return FrontMatter(text, problem="no front matter between '---' lines")
    header, closed, body = text[len(_OPENING) :].partition(_CLOSING)
    if not closed:
        return FrontMatter(body, problem="no front matter between '---' lines")
    try:
        matter = yaml.safe_load(header)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark else ""  # counted from the opening `---`
        problem = f"front matter is not valid YAML{where}: {getattr(exc, 'problem', exc)}"
        return FrontMatter(body, problem=problem)
    if not isinstance(matter, dict):
        return FrontMatter(body, problem="front matter is not a mapping of keys to values")
    return FrontMatter(body, matter)


def _written_alike_by_libyaml(value: Any) -> bool:
    if isinstance(value, str):
        return not _WRITTEN_OTHERWISE_BY_LIBYAML.search(value)
    if isinstance(value, dict):
        return all(
            isinstance(key, str) and _PLAIN_KEY.fullmatch(key) and _written_alike_by_libyaml(item)
            for key, item in value.items()
        )
    if isinstance(value, (list, tuple)):
        return all(map(_written_alike_by_libyaml, value))
    return value is None or isinstance(value, (bool, int, float))
