from __future__ import annotations

from pathlib import Path

import pytest

from archiver.config.keys import path_pattern_problem
from archiver.config.load import load_config, parse_config
from archiver.config.model import DEFAULT_DEADLINE, DEFAULT_PATH_PATTERN
from archiver.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[1]

MINIMAL = """\
feeds:
  - name: huxiu
    url: https://example.org/huxiu/article
    categories: [新媒体, 虎嗅, 首页资讯]
"""


def error_of(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "feeds.yaml")
    return caught.value


def test_minimal_config() -> None:
    config = parse_config(MINIMAL)
    (feed,) = config.feeds
    assert feed.name == "huxiu"
    assert feed.url == "https://example.org/huxiu/article"
    assert feed.categories == ("新媒体", "虎嗅", "首页资讯")
    assert feed.path_pattern == DEFAULT_PATH_PATTERN
    assert feed.deadline == DEFAULT_DEADLINE
    assert feed.timezone == "UTC"


def test_defaults_apply_and_feeds_override() -> None:
    config = parse_config(
        """\
defaults:
  timezone: Asia/Shanghai
  retries: 5
  concurrency: 3
feeds:
  - name: a
    url: https://example.org/a
  - name: b
    url: https://example.org/b
    retries: 0
"""
    )
    a, b = config.feeds
    assert (a.timezone, a.retries) == ("Asia/Shanghai", 5)
    assert (b.timezone, b.retries) == ("Asia/Shanghai", 0)
    assert config.concurrency == 3


def test_shipped_feeds_yaml_is_valid() -> None:
    config = load_config(REPO_ROOT / "feeds.yaml")
    assert len(config.feeds) >= 4
    assert all(feed.url.startswith("https://") for feed in config.feeds)


@pytest.mark.parametrize(
    ("text", "line", "key", "message"),
    [
        pytest.param(
            MINIMAL + "    categoies: [x]\n",
            5,
            "feeds[0].categoies",
            "did you mean 'categories'?",
            id="unknown-feed-key",
        ),
        pytest.param(
            "defaults:\n  timezon: UTC\n" + MINIMAL,
            2,
            "defaults.timezon",
            "did you mean 'timezone'?",
            id="unknown-default-key",
        ),
        pytest.param("feed:\n  - name: x\n", 1, "feed", "did you mean 'feeds'?", id="unknown-top"),
        pytest.param(
            "feeds:\n  - name: x\n    url: ftp://example.org/f\n",
            3,
            "feeds[0].url",
            "expected an http:// or https:// URL",
            id="bad-url",
        ),
        pytest.param("feeds:\n  - name: x\n", 2, "feeds[0].url", "missing", id="missing-url"),
        pytest.param(
            "feeds:\n  - url: https://example.org/f\n",
            2,
            "feeds[0].name",
            "missing",
            id="missing-name",
        ),
        pytest.param(
            MINIMAL + "    retries: many\n",
            5,
            "feeds[0].retries",
            "expected a whole number of at least 0, got the text 'many'",
            id="wrong-type",
        ),
        pytest.param(
            MINIMAL + "    timezone: Mars/Olympus\n",
            5,
            "feeds[0].timezone",
            "expected an IANA time zone",
            id="bad-timezone",
        ),
        pytest.param(
            MINIMAL + "    path: '{year}/{title}-{id}.md'\n",
            5,
            "feeds[0].path",
            "unknown placeholder {title}",
            id="bad-path-placeholder",
        ),
        pytest.param(
            MINIMAL + "    concurrency: 4\n",
            5,
            "feeds[0].concurrency",
            "set it under 'defaults:'",
            id="run-key-on-feed",
        ),
        pytest.param(
            MINIMAL + "  - name: huxiu\n    url: https://example.org/other\n",
            5,
            "feeds[1].name",
            "'huxiu' is used twice (first on line 2)",
            id="duplicate-name",
        ),
        pytest.param(
            MINIMAL + "    url: https://example.org/again\n",
            5,
            "feeds[0].url",
            "given twice (first on line 3)",
            id="duplicate-key",
        ),
        pytest.param(
            "feeds:\n  - name: x\n    categories: {a: 1}\n    url: https://example.org/f\n",
            3,
            "feeds[0].categories",
            "expected a list of text",
            id="categories-mapping",
        ),
        pytest.param("defaults: {}\n", 1, "feeds", "missing", id="no-feeds"),
        pytest.param("feeds:\n  - name: [x\n", 3, None, "not valid YAML", id="yaml-syntax"),
        pytest.param(
            "feeds:\n  - name: x\n\turl: https://example.org/f\n",
            3,
            None,
            "not valid YAML: a tab indents this line; YAML is indented with spaces (",
            id="yaml-tab",
        ),
        pytest.param(
            "feeds:\n  - name: x\n   url: https://example.org/f\n",
            3,
            None,
            "not valid YAML: the indentation is off: the keys of one feed line up",
            id="yaml-indent",
        ),
    ],
)
def test_config_errors_name_file_line_and_key(
    text: str, line: int, key: str | None, message: str
) -> None:
    error = error_of(text)
    assert error.line == line
    assert error.key == key
    assert message in error.message
    rendered = str(error)
    assert rendered.startswith(f"feeds.yaml:{line}: ")
    if key:
        assert f": {key}: " in rendered


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("# nothing yet\n")
    with pytest.raises(ConfigError, match="empty"):
        load_config(path)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file") as caught:
        load_config(tmp_path / "nope.yaml")
    assert str(tmp_path / "nope.yaml") in str(caught.value)


def test_a_single_category_may_be_written_as_text() -> None:
    config = parse_config("feeds:\n  - name: x\n    url: https://e.org/f\n    categories: News\n")
    assert config.feeds[0].categories == ("News",)


@pytest.mark.parametrize(
    ("pattern", "ok"),
    [
        ("{year}/{month}/{day}/{slug}-{id}.md", True),
        ("{feed}/{year}/{id}.md", True),
        ("{slug}-{id}.md", True),
        ("/{year}/{id}.md", False),
        ("{year}/../{id}.md", False),
        ("{year}/{id}-{slug}.md", False),
        ("{id}/{slug}.md", False),
        ("{year}/{slug}-{id}.txt", False),
        ("{year}/{slug", False),
    ],
)
def test_path_pattern_rules(pattern: str, ok: bool) -> None:
    assert (path_pattern_problem(pattern) is None) is ok


@pytest.mark.parametrize(
    "text", ["feeds: []\n", "feeds:\n", "defaults:\n  retries: 1\nfeeds: []\n"]
)
def test_an_empty_feed_list_is_valid(text: str) -> None:
    assert parse_config(text).feeds == ()


@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param(
            "feeds: {name: x}\n", "feeds.yaml:1: feeds: expected a list of feeds, got a mapping"
        ),
        pytest.param(
            "feeds: hello\n",
            "feeds.yaml:1: feeds: expected a list of feeds, got the text 'hello'",
        ),
        pytest.param(
            MINIMAL + "    timeout: 0\n",
            "feeds.yaml:5: feeds[0].timeout: expected a number of at least 0.1, "
            "got the whole number 0",
        ),
        pytest.param(
            MINIMAL + "    retries: 1.5\n",
            "feeds.yaml:5: feeds[0].retries: expected a whole number of at least 0, "
            "got the number 1.5",
        ),
        pytest.param(
            MINIMAL + "    verify_tls: 2024-01-01\n",
            "feeds.yaml:5: feeds[0].verify_tls: expected true or false, got the date 2024-01-01",
        ),
        pytest.param(
            MINIMAL + "    fulltext: []\n",
            "feeds.yaml:5: feeds[0].fulltext: expected true, false or auto, got an empty list",
        ),
        pytest.param(
            MINIMAL + "    timezone:\n",
            "feeds.yaml:5: feeds[0].timezone: expected non-empty text, got nothing",
        ),
        pytest.param(
            MINIMAL + "    include: 5\n",
            "feeds.yaml:5: feeds[0].include: expected a list of regular expressions (searched "
            "in title and content) or a mapping of field (title, content, author, categories) "
            "to one, got the whole number 5",
        ),
    ],
)
def test_type_errors_name_the_type_they_got(text: str, line: str) -> None:
    assert str(error_of(text)) == line


def test_missing_file_says_how_to_start_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "feeds.yaml")
    assert str(caught.value) == (
        f"{tmp_path / 'feeds.yaml'}: no such file "
        "(`archiver init` writes a commented one to start from)"
    )
