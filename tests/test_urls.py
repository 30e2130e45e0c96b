from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.provisional import urls

from archiver.urls import entry_id, normalise_url, resolve, url_id

SEED_ARTICLE = "https://www.huxiu.com/article/436011.html"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(SEED_ARTICLE, SEED_ARTICLE, id="already-normal"),
        pytest.param(
            SEED_ARTICLE + "?utm_source=rss&utm_medium=feed#comments", SEED_ARTICLE, id="seed-utm"
        ),
        pytest.param("HTTPS://WWW.Example.ORG/Path", "https://www.example.org/Path", id="case"),
        pytest.param("http://example.org:80/a", "http://example.org/a", id="http-default-port"),
        pytest.param("https://example.org:443/a", "https://example.org/a", id="https-default-port"),
        pytest.param("https://example.org:8443/a", "https://example.org:8443/a", id="other-port"),
        pytest.param("https://example.org", "https://example.org/", id="empty-path"),
        pytest.param("https://example.org./a", "https://example.org/a", id="trailing-dot-host"),
        pytest.param(
            "https://example.org/a?id=3&fbclid=x&gclid=y&b=2",
            "https://example.org/a?id=3&b=2",
            id="click-ids-dropped-order-kept",
        ),
        pytest.param(
            "https://example.org/a?UTM_Campaign=x", "https://example.org/a", id="utm-any-case"
        ),
        pytest.param("https://example.org/a?page=2", "https://example.org/a?page=2", id="kept"),
        pytest.param("https://[::1]:443/x", "https://[::1]/x", id="ipv6"),
        pytest.param(" https://example.org/a ", "https://example.org/a", id="whitespace"),
        pytest.param("urn:uuid:1234", "urn:uuid:1234", id="not-http-untouched"),
        pytest.param("tag:example.org,2024:1", "tag:example.org,2024:1", id="tag-uri"),
    ],
)
def test_normalise_url(raw: str, expected: str) -> None:
    assert normalise_url(raw) == expected


def test_seed_links_share_one_id() -> None:
    assert url_id(SEED_ARTICLE) == url_id(SEED_ARTICLE + "?utm_source=rss&utm_medium=feed#x")
    assert len(url_id(SEED_ARTICLE)) == 16
    assert int(url_id(SEED_ARTICLE), 16) >= 0


def test_distinct_articles_get_distinct_ids() -> None:
    assert url_id("https://example.org/a?p=1") != url_id("https://example.org/a?p=2")


@given(urls())
def test_normalisation_is_idempotent_for_urls(url: str) -> None:
    once = normalise_url(url)
    assert normalise_url(once) == once
    assert url_id(url) == url_id(once)


@given(st.text())
def test_normalisation_is_idempotent_for_any_text(text: str) -> None:
    once = normalise_url(text)
    assert normalise_url(once) == once


class TestEntryId:
    feed = "https://example.org/feed.xml"
    home = "https://example.org/"

    def make(self, link: str | None = None, guid: str | None = None, *fields: str) -> str:
        return entry_id(
            link=link, guid=guid, feed_url=self.feed, home_url=self.home, fallback_fields=fields
        )

    def test_link_wins(self) -> None:
        assert self.make("https://example.org/post", "guid-1") == url_id("https://example.org/post")

    def test_home_page_link_is_no_article(self) -> None:
        # Some feeds give every item the site's home page: the guid must decide.
        first = self.make("https://example.org/", "guid-1")
        second = self.make("https://example.org/", "guid-2")
        assert first != second

    def test_guid_url_used_when_no_link(self) -> None:
        assert self.make(None, "https://example.org/p/1") == url_id("https://example.org/p/1")

    def test_plain_guid_is_scoped_to_its_feed(self) -> None:
        other = entry_id(
            link=None,
            guid="42",
            feed_url="https://other.example/feed",
            home_url=None,
            fallback_fields=(),
        )
        assert self.make(None, "42") != other
        assert self.make(None, "42") == self.make(None, "42")

    def test_fields_when_nothing_else(self) -> None:
        assert self.make(None, None, "title", "body") == self.make(None, None, "title", "body")
        assert self.make(None, None, "title", "body") != self.make(None, None, "title", "other")


def test_resolve() -> None:
    assert resolve("https://example.org/a/b.xml", "../c.png") == "https://example.org/c.png"
    assert resolve(None, "c.png") == "c.png"
    assert resolve("https://example.org/", "https://cdn.example/x") == "https://cdn.example/x"
