"""Nothing an entry carries is lost: over every entry of every feed of
../shared/feeds, each field the source entry has is in the front matter `archiver run`
writes for it, value-equal after the normalisation below.

The source is read independently of archiver's parsers: `feedparser.parse(path)` for
RSS, Atom and RDF (the fields as feedparser reports them), `json.loads` for JSON Feed.
Each feed is served on loopback and archived alone, into its own folder, so what it
writes is not shaped by another feed's entries. An entry's file is the one among its
feed's files that carries the most of its fields; the fields that file lacks are misses.

Normalisation, per field (the default flavour's keys, dates in `ZONE`):
- title: HTML (feedparser's type says so) read as text; compared without whitespace.
  A JSON Feed title's character references (`&amp;`, `&#039;`) decoded.
- url: feedparser's `link` (JSON Feed's `url`, else `external_url`) made absolute
  against the feed's address; a `link` that is only feedparser's copy of a guid which
  is no web address ("p-1", "tag:…") is no URL.
- authors: each name (else email) feedparser lists, found in `author`.
- published / updated: as ISO 8601 in ZONE; `updated` is in `updated`, or is `date`.
- categories: each term (else label), found in `categories` ignoring case.
- enclosures: each href in `enclosures`, with its type and (positive) length.
- image: when the entry names images (itunes:image, media thumbnail or content,
  image enclosure; JSON Feed image, banner_image, image attachment), `image` is one.
- summary: when the entry has content and a summary whose text differs from every
  content's, `summary` is that text (HTML read as text, compared without whitespace).
- JSON Feed: a value of the wrong type is no value; `tags` written as one string is
  the comma-separated list it stands for; author names and tags have their character
  references decoded, as titles.

Figures (entries, fields checked per field, misses, exceptions) are printed with -s and
in the failure message. The same article twice in one feed, and the exceptions below,
are counted apart, never silently.
"""

from __future__ import annotations

import calendar
import collections
import html
import io
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

import feedparser
import pytest
import yaml
from bs4 import BeautifulSoup

from archiver.cli.main import main

from .conftest import FEEDS_DIR, FeedServer, Reply

pytestmark = pytest.mark.skipif(
    not FEEDS_DIR.is_dir(), reason=f"{FEEDS_DIR} is absent: the shared corpus sits beside the repo"
)

ZONE = "Asia/Kolkata"  # +05:30: a conversion that drops the half hour shows
HTML_TYPES = ("text/html", "application/xhtml+xml")

# Deliberate exceptions, (feed file, field): reason. Each one must still be needed.
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("rss2/feed-rs-rss_2.0_relurl_1.xml", "authors"): (
        "feedparser's email pattern cuts 'x@y.industries (Jonas Große Sundrup)' into the"
        " name 'stries (Jonas Große Sundrup'; archiver splits the string again, rightly"
    ),
}
# The same article (one URL) twice in one feed is one file, and the first entry wins
# (README, "Ids and duplicates"): a later entry whose closest file is an earlier
# entry's, at the same URL, has no file of its own to carry its other fields.
SAME_ARTICLE_AGAIN = "the same article again in its feed: the first entry's file"


@dataclass
class Source:
    """One source entry: the fields it has, as the oracle expects them written."""

    where: str
    fields: dict[str, Any] = field(default_factory=dict)


def squash(text: str | None) -> str:
    return "".join((text or "").split())


def html_text(value: str) -> str:
    return BeautifulSoup(value, "html.parser").get_text()


def iso(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo(ZONE)).isoformat()


def from_struct(parsed: time.struct_time | None) -> str | None:
    if not parsed:
        return None
    return iso(datetime.fromtimestamp(calendar.timegm(parsed), tz=timezone.utc))


def is_web(url: str | None) -> bool:
    return bool(url) and re.match(r"(?i)https?://[^/]", url.strip()) is not None  # type: ignore[union-attr]


# --- the source, as feedparser reports it ------------------------------------------


def xml_sources(path: Path, feed_url: str) -> Iterator[Source]:
    for number, e in enumerate(feedparser.parse(path).entries):
        source = Source(f"{path.parent.name}/{path.name}#{number}")
        f = source.fields
        title = e.get("title")
        if title and (e.get("title_detail") or {}).get("type") in HTML_TYPES:
            title = html_text(title)
        if squash(title):
            f["title"] = squash(title)
        link = e.get("link")
        if link and not (e.get("guidislink") and link == e.get("id") and not is_web(link)):
            url = urljoin(feed_url, link.strip())
            if is_web(url):
                f["url"] = url
        names = [a.get("name") or a.get("email") for a in e.get("authors") or []]
        if any(names):
            f["authors"] = [" ".join(n.split()) for n in names if n and n.strip()]
        if from_struct(e.get("published_parsed")):
            f["published"] = from_struct(e.get("published_parsed"))
        # dict.get: FeedParserDict.get("updated_parsed") answers the published date.
        if from_struct(dict.get(e, "updated_parsed")):
            f["updated"] = from_struct(dict.get(e, "updated_parsed"))
        terms = [t.get("term") or t.get("label") for t in e.get("tags") or []]
        if any(t and t.strip() for t in terms):
            f["categories"] = [" ".join(t.split()) for t in terms if t and t.strip()]
        enclosures = [
            (urljoin(feed_url, x["href"].strip()), x.get("type"), x.get("length"))
            for x in e.get("enclosures") or []
            if x.get("href")
        ]
        if enclosures:
            f["enclosures"] = enclosures
        images = [(e.get("image") or {}).get("href")]
        images += [t.get("url") for t in e.get("media_thumbnail") or []]
        images += [
            m.get("url")
            for m in e.get("media_content") or []
            if m.get("medium") == "image" or (m.get("type") or "").startswith("image/")
        ]
        images += [x for x, kind, _ in enclosures if (kind or "").startswith("image/")]
        if any(images):
            f["image"] = {urljoin(feed_url, i.strip()) for i in images if i}
        contents = [c for c in e.get("content") or [] if (c.get("value") or "").strip()]
        summary = e.get("summary_detail") or {}
        if contents and (summary.get("value") or "").strip():
            text = squash(text_of(summary))
            if text and all(text != squash(text_of(c)) for c in contents):
                f["summary"] = text
        yield source


def text_of(detail: Any) -> str:
    value = detail.get("value") or ""
    return html_text(value) if detail.get("type") in HTML_TYPES else value


def text(obj: Any, key: str) -> str | None:
    """A JSON Feed string; a value of another type (reader-invalid.json has many) is none."""
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, str) and value.strip() else None


def dicts(obj: Any, key: str) -> list[dict[str, Any]]:
    value = obj.get(key) if isinstance(obj, dict) else None
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def json_sources(path: Path, feed_url: str) -> Iterator[Source]:
    document = json.loads(path.read_bytes())
    items = document.get("items") if isinstance(document, dict) else None
    for number, item in enumerate(items if isinstance(items, list) else []):
        source = Source(f"{path.parent.name}/{path.name}#{number}")
        f = source.fields
        if text(item, "title"):
            f["title"] = squash(html.unescape(item["title"]))
        link = text(item, "url") or text(item, "external_url")
        if link and is_web(urljoin(feed_url, link.strip())):
            f["url"] = urljoin(feed_url, link.strip())
        authors = dicts(item, "authors") or [item.get("author")]
        if not any(text(a, "name") for a in authors):
            authors = dicts(document, "authors") or [document.get("author")]
        names = [html.unescape(text(a, "name") or "") for a in authors if text(a, "name")]
        if names:
            f["authors"] = [" ".join(n.split()) for n in names]
        for key, name in (("date_published", "published"), ("date_modified", "updated")):
            try:
                moment = datetime.fromisoformat((text(item, key) or "").replace("Z", "+00:00"))
            except ValueError:
                continue  # no date, or not one: nothing to find
            f[name] = iso(moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc))
        tags = item.get("tags") or []
        tags = tags.split(",") if isinstance(tags, str) else tags  # a list written as CSV
        tags = [
            " ".join(html.unescape(t).split()) for t in tags if isinstance(t, str) and t.strip()
        ]
        if tags:
            f["categories"] = tags
        attachments = [a for a in dicts(item, "attachments") if text(a, "url")]
        if attachments:
            f["enclosures"] = [
                (urljoin(feed_url, a["url"].strip()), text(a, "mime_type"), a.get("size_in_bytes"))
                for a in attachments
            ]
        images = [text(item, "image"), text(item, "banner_image")]
        images += [
            a["url"] for a in attachments if (text(a, "mime_type") or "").startswith("image/")
        ]
        if any(images):
            f["image"] = {urljoin(feed_url, i.strip()) for i in images if i}
        content_html = text(item, "content_html")
        content = html_text(content_html) if content_html else text(item, "content_text")
        summary = squash(html.unescape(text(item, "summary") or ""))
        if content and summary and summary != squash(content):
            f["summary"] = summary
        yield source


# --- the front matter, and the comparison ------------------------------------------


def misses(source: Source, matter: dict[str, Any]) -> list[str]:
    """The fields of `source` that `matter` does not carry."""
    missed = []
    for name, expected in source.fields.items():
        if not FIELD_CHECKS[name](expected, matter):
            missed.append(name)
    return missed


def _enclosures_kept(expected: list[tuple[str, str | None, Any]], matter: dict[str, Any]) -> bool:
    written = {e.get("url"): e for e in matter.get("enclosures") or []}
    for url, kind, length in expected:
        if url not in written:
            return False
        if kind and written[url].get("type") != " ".join(kind.split()):
            return False
        size = str(length or "").strip()
        if size.isdigit() and int(size) > 0 and written[url].get("length") != int(size):
            return False
    return True


FIELD_CHECKS: dict[str, Callable[[Any, dict[str, Any]], bool]] = {
    "title": lambda expected, m: squash(m.get("title")) == expected,
    "url": lambda expected, m: m.get("url") == expected,
    "authors": lambda expected, m: all(n in (m.get("author") or "") for n in expected),
    "published": lambda expected, m: m.get("date") == expected,
    "updated": lambda expected, m: expected in (m.get("updated"), m.get("date")),
    # feedparser leaves character references in attribute values (itunes:category's
    # text="Society &amp; Culture"): both sides are compared decoded.
    "categories": lambda expected, m: (
        {html.unescape(t).casefold() for t in expected}
        <= {html.unescape(str(c)).casefold() for c in m.get("categories") or []}
    ),
    "enclosures": _enclosures_kept,
    "image": lambda expected, m: m.get("image") in expected,
    "summary": lambda expected, m: squash(m.get("summary")) == expected,
}


def front_matters(folder: Path) -> list[dict[str, Any]]:
    found = []
    for path in sorted(folder.rglob("*.md")):
        if path.name in ("README.md", "index.md"):
            continue
        text = path.read_text(encoding="utf-8")
        found.append(yaml.safe_load(text[4:].partition("\n---\n")[0]))
    return found


@dataclass
class Tally:
    entries: int = 0
    fields: collections.Counter[str] = field(default_factory=collections.Counter)
    misses: list[str] = field(default_factory=list)
    excepted: collections.Counter[str] = field(default_factory=collections.Counter)
    exceptions_used: set[tuple[str, str]] = field(default_factory=set)

    def report(self) -> str:
        lines = [
            f"field check: {self.entries} entries, {self.fields.total()} fields checked, "
            f"{len(self.misses)} misses, {sum(self.excepted.values())} excepted"
        ]
        lines.append("  checked: " + ", ".join(f"{n} {c}" for n, c in self.fields.most_common()))
        lines += [f"  excepted: {count} {name}" for name, count in self.excepted.most_common()]
        by_field = collections.Counter(m.split(": ")[1].split(" ")[0] for m in self.misses)
        lines += [f"  {name}: {count} missed" for name, count in by_field.most_common()]
        lines += [f"  {m}" for m in self.misses[:60]]
        return "\n".join(lines)


def check_feed(tally: Tally, sources: list[Source], matters: list[dict[str, Any]]) -> None:
    claimed: set[int] = set()  # the files earlier entries carry all of their fields to
    for source in sources:
        tally.entries += 1
        tally.fields.update(source.fields.keys())
        if not matters:
            tally.misses += [f"{source.where}: {n} (no file at all)" for n in source.fields]
            continue
        best = min(matters, key=lambda m: len(misses(source, m)))
        missed = misses(source, best)
        if not missed:
            claimed.add(id(best))
        elif id(best) in claimed and best.get("url") == source.fields.get("url"):
            tally.excepted[SAME_ARTICLE_AGAIN] += len(missed)
            continue
        for name in missed:
            key = (source.where.split("#")[0], name)
            if key in EXCEPTIONS:
                tally.excepted[name] += 1
                tally.exceptions_used.add(key)
                continue
            expected = source.fields[name]
            tally.misses.append(
                f"{source.where}: {name} {str(expected)[:80]!r} not in the front matter "
                f"(closest file: {str(best.get(FRONT_MATTER_KEY[name]))[:80]!r})"
            )


FRONT_MATTER_KEY = {
    "title": "title",
    "url": "url",
    "authors": "author",
    "published": "date",
    "updated": "updated",
    "categories": "categories",
    "enclosures": "enclosures",
    "image": "image",
    "summary": "summary",
}


def corpus_feeds() -> list[Path]:
    return sorted(p for p in FEEDS_DIR.glob("*/*") if p.suffix not in (".md", ".tsv"))


def archive_alone(server: FeedServer, path: Path, out: Path) -> str:
    """Serve `path` on loopback, archive it alone into `out`; the feed's URL."""
    route = f"/{path.parent.name}/{path.name}"
    kind = "application/json" if path.suffix == ".json" else "application/xml"
    url = server.always(route, Reply(200, path.read_bytes(), {"Content-Type": kind}))
    config = out.with_suffix(".yaml")
    config.write_text(
        "defaults:\n  retries: 0\n  index: false\n"
        f"  timezone: {ZONE}\nfeeds:\n  - name: feed\n    url: {url}\n",
        encoding="utf-8",
    )
    run = ["run", "--config", str(config), "--output", str(out)]
    main(run, stdout=io.StringIO(), stderr=io.StringIO())
    return url


def test_every_field_of_every_corpus_entry_is_in_the_front_matter(
    server: FeedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tally = Tally()
    for path in corpus_feeds():
        out = tmp_path / f"{path.parent.name}-{path.stem}"
        url = archive_alone(server, path, out)
        if path.suffix == ".json":
            try:
                sources = list(json_sources(path, url))
            except ValueError:
                continue  # not JSON at all (netnewswire-allthis-partial.json): no entry
        else:
            sources = list(xml_sources(path, url))
        check_feed(tally, sources, front_matters(out) if out.is_dir() else [])
    with capsys.disabled():
        print("\n" + tally.report())
    assert tally.entries > 2000
    assert all(tally.fields[name] > 200 for name in FIELD_CHECKS), tally.report()
    assert tally.misses == [], tally.report()
    assert set(EXCEPTIONS) == tally.exceptions_used, "an exception no longer needed"
