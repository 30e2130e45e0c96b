from __future__ import annotations

from datetime import datetime, timezone
from pathlib import PurePosixPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archiver.config.model import DEFAULT_PATH_PATTERN
from archiver.convert.paths import MAX_NAME_BYTES, entry_relpath, slugify

DATE = datetime(2021, 6, 20, 23, 59, tzinfo=timezone.utc)
ID = "61b020c61b8d24fa"


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        pytest.param(
            "中国加密矿工，清退命运尘埃落定", "中国加密矿工-清退命运尘埃落定", id="chinese"
        ),
        pytest.param("Hello, World!", "hello-world", id="ascii"),
        pytest.param("../../etc/passwd", "etc-passwd", id="traversal"),
        pytest.param(".hidden", "hidden", id="hidden"),
        pytest.param("CON", "con", id="windows-reserved"),
        pytest.param("!!! ??? ...", "entry", id="all-punctuation"),
        pytest.param("", "entry", id="empty"),
        pytest.param(None, "entry", id="none"),
        pytest.param("snake_case\x00name\n", "snake-case-name", id="controls-and-underscores"),
        pytest.param("हिन्दी समाचार", "हिन्दी-समाचार", id="devanagari-marks-kept"),
        pytest.param("Ｆｕｌｌｗｉｄｔｈ", "fullwidth", id="nfkc"),
    ],
)
def test_slugify(title: str | None, slug: str) -> None:
    assert slugify(title) == slug


def test_default_path_is_dated() -> None:
    path = entry_relpath(DEFAULT_PATH_PATTERN, date=DATE, slug="a-b", id=ID, feed="huxiu")
    assert path == f"2021/06/20/a-b-{ID}.md"


def test_long_chinese_title_fits_in_255_bytes_and_keeps_the_id() -> None:
    slug = slugify("汉" * 200, max_chars=1000)
    path = entry_relpath(DEFAULT_PATH_PATTERN, date=DATE, slug=slug, id=ID, feed="f")
    name = PurePosixPath(path).name
    assert len(name.encode()) <= MAX_NAME_BYTES
    assert name.endswith(f"-{ID}.md")
    assert name.startswith("汉汉汉")


def test_feed_placeholder_is_slugged() -> None:
    path = entry_relpath("{feed}/{id}.md", date=DATE, slug="s", id=ID, feed="../Evil Feed")
    assert path == f"evil-feed/{ID}.md"


@given(title=st.text(max_size=400), feed=st.text(max_size=300))
def test_any_title_gives_a_contained_path_with_short_names(title: str, feed: str) -> None:
    pattern = "{feed}/{year}/{month}/{day}/{slug}-{id}.md"
    path = PurePosixPath(entry_relpath(pattern, date=DATE, slug=slugify(title), id=ID, feed=feed))
    assert not path.is_absolute()
    assert all(part not in ("", ".", "..") and not part.startswith(".") for part in path.parts)
    assert all(len(part.encode()) <= MAX_NAME_BYTES for part in path.parts)
    assert path.name.endswith(f"{ID}.md")
    assert "\x00" not in str(path)
