"""Front matter flavours: each generator's documented rules, checked on
a tiny site or vault built from the seed feed served on loopback."""

from __future__ import annotations

import io
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from archiver.archive.ids import id_from_name
from archiver.cli.main import main
from archiver.config.load import parse_config
from archiver.convert.frontmatter import obsidian_tag
from archiver.errors import ConfigError

from .conftest import FeedServer, shared_path, write_config

LOGO = "https://www.huxiu.com/static_2015/img/logo.png"
ARTICLE = "https://www.huxiu.com/article/436011.html"
SEED_DATE = datetime(2021, 6, 20, 23, 59, tzinfo=timezone.utc)


def build_site(
    server: FeedServer, tmp_path: Path, settings: str, categories: str = "[新媒体, 虎嗅, 首页资讯]"
) -> tuple[Path, dict[str, Any]]:
    """Archive the seed with `settings` under its feed; the one file and its front matter."""
    url = server.feed("/huxiu", shared_path("seed", "huxiu-rsshub.xml").read_bytes())
    config = write_config(
        tmp_path / "feeds.yaml",
        f"feeds:\n  - name: huxiu\n    url: {url}\n    categories: {categories}\n" + settings,
    )
    site = tmp_path / "site"
    code = main(
        ["run", "--config", str(config), "--output", str(site)],
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    assert code == 0
    (path,) = [p for p in site.rglob("*.md") if id_from_name(p.name)]
    text = path.read_text(encoding="utf-8")
    matter = yaml.safe_load(text[4:].split("\n---\n", 1)[0])
    assert isinstance(matter, dict)
    return path.relative_to(site), matter


def test_hexo_has_every_key_of_the_seed_with_right_values(
    server: FeedServer, tmp_path: Path
) -> None:
    seed_text = shared_path("seed", "000_b5ed156a56557f7e.md").read_text(encoding="utf-8")
    seed_keys = set(yaml.safe_load(re.split(r"^---\s*$", seed_text, flags=re.M)[1]))
    _, matter = build_site(server, tmp_path, "    flavor: hexo\n    extra: {comments: false}\n")
    assert seed_keys <= set(matter)
    assert matter["title"] == "中国加密矿工，清退命运尘埃落定"
    assert matter["categories"] == ["新媒体", "虎嗅", "首页资讯"]
    assert matter["author"] == "虎嗅"
    assert matter["comments"] is False
    # https://hexo.io/docs/front-matter: Nunjucks in an entry's text stays text.
    assert matter["disableNunjucks"] is True
    assert datetime.fromisoformat(matter["date"]) == SEED_DATE  # not an RFC 822 string
    # The lead image the seed never found: the feed's logo, not `…/undefined`.
    assert matter["headimg"] == matter["thumbnail"] == LOGO


HUGO_FIELDS = {"title", "date", "lastmod", "draft", "categories", "tags", "images", "params"}
RFC_3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)$")


def test_hugo_follows_hugos_front_matter_rules(server: FeedServer, tmp_path: Path) -> None:
    path, matter = build_site(
        server, tmp_path, '    flavor: hugo\n    path: "content/posts/{year}/{slug}-{id}.md"\n'
    )
    assert path.parts[:2] == ("content", "posts")
    # Fields of our own live under params; a top-level `url` would become the page's path.
    assert set(matter) <= HUGO_FIELDS
    assert "url" not in matter
    assert RFC_3339.match(matter["date"])
    assert matter["draft"] is False
    assert matter["categories"] == ["新媒体", "虎嗅", "首页资讯"]
    assert matter["images"] == [LOGO]
    assert matter["params"]["source_url"] == ARTICLE
    assert matter["params"]["author"] == "虎嗅"


JEKYLL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{4}$")


def test_jekyll_follows_jekylls_post_rules(server: FeedServer, tmp_path: Path) -> None:
    path, matter = build_site(
        server,
        tmp_path,
        "    flavor: jekyll\n    timezone: Asia/Shanghai\n"
        '    path: "_posts/{year}-{month}-{day}-{slug}-{id}.md"\n',
    )
    # https://jekyllrb.com/docs/posts/: _posts/YEAR-MONTH-DAY-title.MARKUP
    assert path.parts[0] == "_posts"
    assert re.match(r"^\d{4}-\d{2}-\d{2}-.+\.md$", path.name)
    assert path.name.startswith("2021-06-21-")  # 07:59 in Shanghai
    assert matter["layout"] == "post"
    # Jekyll 4 leaves Liquid in an entry's text as text.
    assert matter["render_with_liquid"] is False
    assert JEKYLL_DATE.match(matter["date"])
    assert matter["date"] == "2021-06-21 07:59:00 +0800"
    assert isinstance(matter["categories"], list)
    assert isinstance(matter.get("tags", []), list)
    assert matter["source_url"] == ARTICLE


OBSIDIAN_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")


def test_obsidian_properties(server: FeedServer, tmp_path: Path) -> None:
    _, matter = build_site(server, tmp_path, "    flavor: obsidian\n", categories="[Tech News]")
    # https://help.obsidian.md/properties: tags without spaces, aliases a list, and a
    # date & time property written without an offset.
    assert matter["tags"] == ["Tech-News"]
    assert all(" " not in tag and "#" not in tag for tag in matter["tags"])
    assert matter["aliases"] == ["中国加密矿工，清退命运尘埃落定"]
    assert OBSIDIAN_DATETIME.match(matter["created"])
    assert matter["url"] == ARTICLE


@pytest.mark.parametrize(
    ("name", "tag"),
    [
        ("Tech News", "Tech-News"),
        ("#AI", "AI"),
        ("2024", "_2024"),
        ("新媒体", "新媒体"),
        ("a,b", "a-b"),
    ],
)
def test_obsidian_tag(name: str, tag: str) -> None:
    assert obsidian_tag(name) == tag


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ("    flavor: hugoo\n", "did you mean 'hugo'?"),
        ("    extra: {params: {nested: map}}\n", "expected text, a number, true/false"),
        ("    extra: [comments]\n", "expected a mapping"),
    ],
)
def test_flavor_and_extra_errors(settings: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config(f"feeds:\n  - name: f\n    url: https://e.org/f\n{settings}")


SUMMARY_KEYS = {
    "default": "summary",
    "hugo": "summary",
    "jekyll": "excerpt",
    "hexo": "excerpt",
    "obsidian": "summary",
}


@pytest.mark.parametrize(("flavor", "key"), sorted(SUMMARY_KEYS.items()))
def test_each_flavour_keeps_the_summary_beside_the_content(
    server: FeedServer, tmp_path: Path, flavor: str, key: str
) -> None:
    feed = (
        b"<?xml version='1.0'?><rss version='2.0'"
        b" xmlns:content='http://purl.org/rss/1.0/modules/content/'><channel><title>B</title>"
        b"<link>https://example.org/</link><item><title>Post</title>"
        b"<link>https://example.org/post</link>"
        b"<description>&lt;p&gt;What the post is &lt;b&gt;about&lt;/b&gt;.&lt;/p&gt;</description>"
        b"<content:encoded><![CDATA[<p>The whole post.</p>]]></content:encoded>"
        b"</item></channel></rss>"
    )
    url = server.feed("/feed", feed)
    config = write_config(
        tmp_path / "feeds.yaml", f"feeds:\n  - name: blog\n    url: {url}\n    flavor: {flavor}\n"
    )
    site = tmp_path / "site"
    assert (
        main(
            ["run", "--config", str(config), "--output", str(site)],
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
        == 0
    )
    (path,) = [p for p in site.rglob("*.md") if id_from_name(p.name)]
    head, _, body = path.read_text(encoding="utf-8")[4:].partition("\n---\n")
    assert yaml.safe_load(head)[key] == "What the post is about."
    assert "The whole post." in body and "about" not in body
