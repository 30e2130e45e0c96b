from __future__ import annotations

from datetime import datetime, timezone

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from archiver.config.model import FLAVORS, FeedConfig, Flavor
from archiver.convert.frontmatter import FrontMatter, front_matter, merge_categories, read, render
from archiver.models import Enclosure, Entry
from archiver.text import clean_line

from .conftest import an_entry

FEED = FeedConfig(name="huxiu", url="https://example.org/feed", categories=("新媒体", "虎嗅"))
DATE = datetime(2021, 6, 20, 23, 59, tzinfo=timezone.utc)


def entry(**changes: object) -> Entry:
    defaults = {"id": "61b020c61b8d24fa", "title": "t", "link": "https://example.org/a"}
    return an_entry(**defaults | {"author": "虎嗅", "published": DATE} | changes)


def parse(text: str) -> dict[str, object]:
    front = read(text)
    assert front.problem is None, front.problem
    return front.matter


def test_keys_come_in_a_fixed_order() -> None:
    matter = front_matter(
        entry(
            updated=datetime(2021, 6, 21, tzinfo=timezone.utc),
            tags=("虎嗅", "Crypto"),
            enclosures=(Enclosure("https://example.org/a.mp3", "audio/mpeg", 123),),
        ),
        feed=FEED,
        title="t",
        date=DATE,
        image="https://example.org/i.png",
    )
    assert list(matter) == [
        "title",
        "author",
        "date",
        "updated",
        "categories",
        "url",
        "id",
        "feed",
        "image",
        "enclosures",
    ]
    assert matter["date"] == "2021-06-20T23:59:00+00:00"
    assert matter["categories"] == ["新媒体", "虎嗅", "Crypto"]
    assert matter["feed"] == {"name": "huxiu", "url": "https://example.org/feed"}
    assert matter["enclosures"] == [
        {"url": "https://example.org/a.mp3", "type": "audio/mpeg", "length": 123}
    ]


def test_date_is_written_in_the_feeds_time_zone() -> None:
    feed = FeedConfig(name="f", url="https://example.org/f", timezone="Asia/Shanghai")
    matter = front_matter(entry(), feed=feed, title="t", date=DATE, image=None)
    assert matter["date"] == "2021-06-21T07:59:00+08:00"


def test_absent_facts_are_left_out() -> None:
    matter = front_matter(
        entry(author=None, link=None), feed=FEED, title="t", date=DATE, image=None
    )
    assert "author" not in matter and "url" not in matter and "image" not in matter


def test_unicode_is_written_as_itself() -> None:
    text = render({"title": "中国加密矿工 🚀"}, "body")
    assert "中国加密矿工 🚀" in text
    assert text.endswith("---\n\nbody\n")


def test_merge_categories_ignores_case_repeats() -> None:
    assert merge_categories(["News", "Tech"], ["tech", "AI", "news"]) == ["News", "Tech", "AI"]


HOSTILE = [
    "---",
    "title: injected",
    "a: b",
    "# comment",
    "'single' \"double\"",
    "yes",
    "no",
    "null",
    "~",
    "1e3",
    "2021-06-20",
    "line\nbreak",
    "\x00nul\x07bell",
    "x" * 10_000,
    "مرحبا بالعالم",
    "👩‍👩‍👧 emoji",
    "[not, a, list]",
    "{not: a map}",
    "&anchor *alias !tag",
    "\u2028\u2029 separators",
]


@given(st.one_of(st.sampled_from(HOSTILE), st.text()))
def test_any_title_reads_back(raw: str) -> None:
    title = clean_line(raw) or "Untitled"
    author = clean_line(raw)
    matter = front_matter(entry(author=author), feed=FEED, title=title, date=DATE, image=None)
    loaded = parse(render(matter, "body"))
    assert loaded["title"] == title
    assert loaded.get("author") == author
    assert loaded["id"] == "61b020c61b8d24fa"


@given(st.sampled_from(FLAVORS), st.one_of(st.sampled_from(HOSTILE), st.text()))
def test_every_flavour_keeps_any_title(flavor: Flavor, raw: str) -> None:
    title = clean_line(raw) or "Untitled"
    feed = FeedConfig(name="f", url="https://example.org/f", flavor=flavor)
    matter = front_matter(entry(), feed=feed, title=title, date=DATE, image=None)
    assert parse(render(matter, "body"))["title"] == title


def _pure_python_yaml(matter: dict[str, object]) -> str:
    return yaml.dump(
        matter,
        Dumper=yaml.SafeDumper,
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=False,
        width=1 << 20,
    )


KEYS = st.one_of(st.from_regex(r"[A-Za-z0-9_-]{1,70}", fullmatch=True), st.text(min_size=1))
VALUES = st.one_of(
    st.text(max_size=300),
    st.lists(st.text(), max_size=3),
    st.dictionaries(KEYS, st.text(), max_size=3),
    st.integers(),
    st.booleans(),
)


@given(st.dictionaries(KEYS, VALUES, min_size=1, max_size=5))
def test_front_matter_is_what_pyyaml_itself_writes(matter: dict[str, object]) -> None:
    # libyaml's emitter is used where it writes the same text as PyYAML's own;
    # a difference would change the files an archive already holds.
    assert render(matter, "") == f"---\n{_pure_python_yaml(matter)}---\n"


def test_emoji_and_rare_cjk_are_written_as_themselves() -> None:
    matter = {"title": "Launch 🚀 day", "tags": ["𠮷野家"], "params": {"note": "ok 😀"}}
    header = render(matter, "")
    assert "🚀" in header and "𠮷野家" in header and "😀" in header
    assert "\\U" not in header


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("---\ntitle: a\n---\n\nbody\n", FrontMatter("\nbody\n", {"title": "a"})),
        ("---\ntitle: a\n---\n", FrontMatter("", {"title": "a"})),
        (
            "just notes\n",
            FrontMatter("just notes\n", problem="no front matter between '---' lines"),
        ),
        ("---\ntitle: a\n", FrontMatter("", problem="no front matter between '---' lines")),
        (
            "---\ntitle: [broken\n---\nnotes\n",
            FrontMatter(
                "notes\n",
                problem="front matter is not valid YAML (line 2): "
                "expected ',' or ']', but got '<stream end>'",
            ),
        ),
        (
            "---\n- a list\n---\nnotes\n",
            FrontMatter("notes\n", problem="front matter is not a mapping of keys to values"),
        ),
        (
            "---\n\n---\nnotes\n",
            FrontMatter("notes\n", problem="front matter is not a mapping of keys to values"),
        ),
    ],
    ids=["with-body", "without-body", "no-header", "not-closed", "not-yaml", "a-list", "empty"],
)
def test_read(text: str, expected: FrontMatter) -> None:
    assert read(text) == expected


@given(st.text())
def test_read_gives_back_what_render_wrote(body: str) -> None:
    matter = {"title": "a", "id": "61b020c61b8d24fa", "feed": {"name": "f"}}
    front = read(render(matter, body))
    assert front == FrontMatter(f"\n{body}\n" if body else "", matter)
