from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from archiver.errors import ParseError
from archiver.models import Enclosure
from archiver.parse.feed import parse_feed
from archiver.urls import url_id

from .conftest import shared_path

FEED_URL = "https://example.org/blog/feed.xml"


def rss(items: str, channel: str = "", declaration: str = '<?xml version="1.0"?>') -> bytes:
    return (
        f"{declaration}<rss version='2.0' xmlns:content='http://purl.org/rss/1.0/modules/content/'"
        " xmlns:media='http://search.yahoo.com/mrss/'><channel><title>Blog</title>"
        f"<link>https://example.org/</link>{channel}{items}</channel></rss>"
    ).encode()


def parse(body: bytes, content_type: str = "application/rss+xml") -> list:  # type: ignore[type-arg]
    return list(parse_feed(body, url=FEED_URL, headers={"Content-Type": content_type}).entries)


def test_rss_item_fields() -> None:
    (entry,) = parse(
        rss(
            "<item><title>Hello</title><link>https://example.org/p/1?utm_source=rss</link>"
            "<guid>p-1</guid><pubDate>Sun, 20 Jun 2021 23:59:00 +0800</pubDate>"
            "<author>jane@example.industries (Jane Doe)</author>"
            "<category>Tech</category><category>AI</category>"
            "<description>short</description>"
            "<content:encoded><![CDATA[<p>the full text</p>]]></content:encoded>"
            "<media:thumbnail url='https://img.example.org/t.jpg'/>"
            "<enclosure url='https://cdn.example.org/e.mp3' type='audio/mpeg' length='1234'/>"
            "</item>"
        )
    )
    assert entry.title == "Hello"
    assert entry.id == url_id("https://example.org/p/1")
    assert entry.published == datetime(2021, 6, 20, 15, 59, tzinfo=timezone.utc)
    assert entry.author == "Jane Doe"
    assert entry.tags == ("Tech", "AI")
    assert entry.content == "<p>the full text</p>"  # content:encoded before the description
    assert entry.images == ("https://img.example.org/t.jpg",)
    assert entry.enclosures == (Enclosure("https://cdn.example.org/e.mp3", "audio/mpeg", 1234),)


def test_an_atom_id_before_the_link_keeps_the_link() -> None:
    # Blogger writes <id> first; feedparser then calls the guid a link, but the entry's
    # own <link> replaced it.
    body = (
        b"<feed xmlns='http://www.w3.org/2005/Atom'><title>b</title><entry>"
        b"<id>tag:blogger.com,1999:post-1</id><title>x</title>"
        b"<link rel='alternate' href='https://b.blogspot.com/2020/01/x.html'/></entry></feed>"
    )
    (entry,) = parse(body, "application/atom+xml")
    assert entry.link == "https://b.blogspot.com/2020/01/x.html"
    assert entry.id == url_id("https://b.blogspot.com/2020/01/x.html")


def test_history_links_and_the_guid_keyed_on_the_feed_url() -> None:
    body = rss("<item><title>x</title><guid>p-1</guid></item>")
    page = parse_feed(body, url="https://example.org/blog/feed.xml?paged=2", headers={},
                      id_url=FEED_URL)  # fmt: skip
    assert page.entries[0].id == parse(body)[0].id


def test_relative_links_resolve_against_the_feed_url() -> None:
    (entry,) = parse(rss("<item><title>x</title><link>/p/2</link></item>"))
    assert entry.link == "https://example.org/p/2"


def test_charset_from_http_is_honoured() -> None:
    title = "中文标题：清退命运"
    body = rss(f"<item><title>{title}</title><link>https://example.org/a</link></item>", "", "")
    (entry,) = parse(body.decode().encode("gbk"), "application/rss+xml; charset=gbk")
    assert entry.title == title


def test_utf8_declared_as_latin1_is_read_as_utf8() -> None:
    body = rss(
        "<item><title>Café 中文</title><link>https://example.org/a</link></item>",
        declaration='<?xml version="1.0" encoding="ISO-8859-1"?>',
    )
    assert parse(body)[0].title == "Café 中文"


def test_whitespace_before_the_declaration_is_forgiven() -> None:
    body = b"\n\n  " + rss("<item><title>t</title><link>https://example.org/a</link></item>")
    assert parse(body)[0].title == "t"


def test_malformed_feed_with_entries_is_archived_with_a_warning() -> None:
    body = rss("<item><title>t</title><link>https://example.org/a?x=1&y=2</link></item>")
    body = body.replace(b"&amp;", b"&")  # a bare ampersand: not well-formed
    result = parse_feed(body.replace(b"&y", b"& y"), url=FEED_URL, headers={})
    assert len(result.entries) == 1
    assert result.warning and "not well-formed" in result.warning


def test_a_well_formed_feed_without_entries_is_a_feed_with_nothing_new() -> None:
    assert parse(rss("")) == []
    atom = b"<feed xmlns='http://www.w3.org/2005/Atom'><title>New blog</title></feed>"
    assert parse_feed(atom, url=FEED_URL, headers={}).entries == ()
    json_feed = b'{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": []}'
    assert parse_feed(json_feed, url=FEED_URL, headers={}).entries == ()


def test_a_broken_feed_without_entries_is_a_failure() -> None:
    with pytest.raises(ParseError) as caught:
        parse(rss("").replace(b"</channel>", b""))
    assert str(caught.value).startswith("the feed has no entries (parser said: ")


@pytest.mark.parametrize("body", [b"", b"   \n"])
def test_empty_body_is_not_a_feed(body: bytes) -> None:
    with pytest.raises(ParseError, match="not a feed: the response body is empty"):
        parse(body)


def test_html_page_is_not_a_feed_and_names_the_advertised_feed() -> None:
    page = (
        b"<!DOCTYPE html><html><head><title>Blog</title>"
        b'<link rel="alternate" type="application/rss+xml" href="/rss.xml"></head>'
        b"<body><p>Hello</p></body></html>"
    )
    with pytest.raises(ParseError, match=r"HTML page; .* https://example.org/rss.xml"):
        parse(page, "text/html")


def test_xml_that_is_no_feed() -> None:
    with pytest.raises(ParseError, match="not a feed"):
        parse(b"<?xml version='1.0'?><catalog><book/></catalog>", "application/xml")


def test_items_linking_to_the_home_page_get_their_own_ids() -> None:
    entries = parse(
        rss(
            "<item><title>a</title><link>https://example.org/</link><guid>1</guid></item>"
            "<item><title>b</title><link>https://example.org/</link><guid>2</guid></item>"
        )
    )
    assert len({e.id for e in entries}) == 2


def test_posts_at_anchors_of_one_page_get_their_own_ids() -> None:
    entries = parse(
        rss(
            "<item><link>http://scripting.com/2017/06/26.html#a080605</link></item>"
            "<item><link>http://scripting.com/2017/06/26.html#a030658</link></item>"
            "<item><link>http://scripting.com/2017/06/26.html#comments</link></item>"
        )
    )
    assert len({e.id for e in entries}) == 3
    assert entries[2].id == url_id("http://scripting.com/2017/06/26.html")


def test_seed_items_share_one_id() -> None:
    result = parse_feed(
        shared_path("seed", "huxiu-rsshub.xml").read_bytes(),
        url="http://127.0.0.1:1200/huxiu/article",
        headers={"Content-Type": "application/xml; charset=utf-8"},
    )
    first, second = result.entries
    assert first.id == second.id == url_id("https://www.huxiu.com/article/436011.html")
    assert result.image == "https://www.huxiu.com/static_2015/img/logo.png"
    assert first.author == "虎嗅"


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("feedparser-chardet-gb2312.xml", "不归移民漫画系列"),
        ("feedparser-chardet-shiftjis.xml", "DrecomRSSに記事投稿が反映されない"),
    ],
)
def test_undeclared_cjk_is_detected(name: str, title: str) -> None:
    body = shared_path("feeds", "cjk", name).read_bytes()
    (entry,) = parse_feed(body, url=FEED_URL, headers={}).entries
    assert entry.title is not None and entry.title.startswith(title)


def test_bomless_utf16_is_read() -> None:
    body = shared_path("feeds", "encodings", "simplepie-feed-utf16le.xml").read_bytes()
    assert parse_feed(body, url=FEED_URL, headers={}).entries


JSON_FEED = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "JSON blog",
    "home_page_url": "https://example.org/",
    "icon": "https://example.org/icon.png",
    "authors": [{"name": "Feed Author"}],
    "items": [
        {
            "id": "1",
            "url": "https://example.org/j/1",
            "title": "First",
            "content_html": "<p>Hello <b>JSON</b></p>",
            "date_published": "2024-01-02T03:04:05Z",
            "date_modified": "2024-01-03T00:00:00+01:00",
            "tags": ["a", "b", 3],
            "image": "https://example.org/lead.jpg",
            "attachments": [
                {"url": "https://example.org/e.mp3", "mime_type": "audio/mpeg", "size_in_bytes": 9}
            ],
        },
        {"id": 2, "content_text": "plain *text*", "authors": [{"name": "Item Author"}]},
    ],
}


def test_json_feed() -> None:
    result = parse_feed(json.dumps(JSON_FEED).encode(), url=FEED_URL, headers={})
    first, second = result.entries
    assert first.title == "First"
    assert first.id == url_id("https://example.org/j/1")
    assert first.content == "<p>Hello <b>JSON</b></p>"
    assert first.published == datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert first.updated == datetime(2024, 1, 2, 23, 0, tzinfo=timezone.utc)
    assert first.tags == ("a", "b")
    assert first.author == "Feed Author"
    assert first.images == ("https://example.org/lead.jpg",)
    assert first.enclosures == (Enclosure("https://example.org/e.mp3", "audio/mpeg", 9),)
    assert (second.content, second.content_type) == ("plain *text*", "text/plain")
    assert second.author == "Item Author"
    assert second.link is None
    assert result.image == "https://example.org/icon.png"


def test_json_feed_chosen_by_first_byte_whatever_the_content_type() -> None:
    body = b"\xef\xbb\xbf  " + json.dumps(JSON_FEED).encode()
    assert len(parse(body, "text/plain")) == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"rss": {"channel": {}}}', "not a JSON Feed"),
        (b'{"version": "https://jsonfeed.org/version/1", "items": [', "not valid JSON"),
        (
            b'{"version": "https://jsonfeed.org/version/1", "items": [1, "x"]}',
            "the feed has no entries: none of its items is a JSON object",
        ),
    ],
)
def test_json_that_cannot_be_archived(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_feed(body, url=FEED_URL, headers={"Content-Type": "application/feed+json"})


def test_podcast_episode_image_and_duration() -> None:
    (entry,) = parse(
        rss(
            "<item><title>Episode 1</title><link>https://example.org/e1</link>"
            "<itunes:image href='https://example.org/cover.jpg'/>"
            "<itunes:duration>01:02:03</itunes:duration>"
            "<enclosure url='https://cdn.example.org/e1.mp3' type='audio/mpeg' length='99'/>"
            "</item>"
        ).replace(b"<rss ", b"<rss xmlns:itunes='http://www.itunes.com/dtds/podcast-1.0.dtd' ")
    )
    assert entry.duration == "01:02:03"
    assert entry.images[0] == "https://example.org/cover.jpg"
    assert entry.enclosures == (Enclosure("https://cdn.example.org/e1.mp3", "audio/mpeg", 99),)


# --- nothing an entry carries is lost ----------------------------------------------


def atom(entries: str) -> bytes:
    return (
        "<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><title>Blog</title>"
        f"<link href='https://example.org/'/><id>tag:example.org,2024:feed</id>{entries}</feed>"
    ).encode()


def test_atom_id_that_is_no_url_before_the_link_keeps_the_link() -> None:
    (entry,) = parse(
        atom(
            "<entry><id>tag:example.org,2024:post-1</id><title>Hello</title>"
            "<link rel='alternate' href='https://example.org/posts/hello'/>"
            "<updated>2024-01-02T03:04:05Z</updated></entry>"
        ),
        "application/atom+xml",
    )
    assert entry.link == "https://example.org/posts/hello"
    assert entry.id == url_id("https://example.org/posts/hello")


def test_atom_id_before_the_link_remembers_the_id_it_had_without_the_link() -> None:
    entry_id = "<id>tag:example.org,2024:post-1</id><title>Hello</title>"
    link = "<link rel='alternate' href='https://example.org/posts/hello'/>"
    (linkless,) = parse(atom(f"<entry>{entry_id}</entry>"), "application/atom+xml")
    (id_first,) = parse(atom(f"<entry>{entry_id}{link}</entry>"), "application/atom+xml")
    (link_first,) = parse(atom(f"<entry>{link}{entry_id}</entry>"), "application/atom+xml")
    assert id_first.id == link_first.id == url_id("https://example.org/posts/hello")
    assert id_first.former_ids == (linkless.id,)
    assert link_first.former_ids == linkless.former_ids == ()


def test_rss_guid_that_is_no_url_before_the_link_keeps_the_link() -> None:
    (entry,) = parse(rss("<item><guid>p-1</guid><link>/posts/1</link><title>T</title></item>"))
    assert entry.link == "https://example.org/posts/1"


def test_a_guid_that_is_no_url_is_still_no_link() -> None:
    (entry,) = parse(rss("<item><guid>p-1</guid><title>T</title></item>"))
    assert entry.link is None


def test_entries_sharing_a_guid_with_links_of_their_own_are_both_kept() -> None:
    first, second = parse(
        atom(
            "<entry><id>tag:x,1:a</id><title>One</title><link href='https://example.org/1'/>"
            "</entry><entry><id>tag:x,1:a</id><title>Two</title>"
            "<link href='https://example.org/2'/></entry>"
        ),
        "application/atom+xml",
    )
    assert first.id != second.id
    assert (first.link, second.link) == ("https://example.org/1", "https://example.org/2")


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("I&amp;#039;m A Guest", "I'm A Guest"),
        ("Mac Power Users &amp;amp; more", "Mac Power Users & more"),
        ("a &amp;amp;amp; b", "a &amp; b"),  # decoded once, as a browser would
        ("Tom &amp; Jerry", "Tom & Jerry"),
        ("x &lt;em&gt;y&lt;/em&gt; z", "x y z"),
    ],
)
def test_rss_titles_feedparser_calls_html_read_as_text(title: str, expected: str) -> None:
    (entry,) = parse(rss(f"<item><title>{title}</title><link>https://e.org/1</link></item>"))
    assert entry.title == expected


def test_rdf_item_keeps_content_as_body_and_description_as_summary() -> None:
    body = (
        b"<?xml version='1.0'?><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'"
        b" xmlns='http://purl.org/rss/1.0/' xmlns:content='http://purl.org/rss/1.0/modules/content/'>"
        b"<channel rdf:about='https://example.org/'><title>B</title><link>https://example.org/</link>"
        b"</channel><item rdf:about='https://example.org/1'><title>T</title>"
        b"<link>https://example.org/1</link>"
        b"<description>A long description, &lt;b&gt;longer&lt;/b&gt; than the content itself"
        b" ever is, about the post.</description>"
        b"<content:encoded><![CDATA[<p>Short <em>body</em>.</p>]]></content:encoded>"
        b"</item></rdf:RDF>"
    )
    (entry,) = parse(body, "application/rdf+xml")
    assert entry.content == "<p>Short <em>body</em>.</p>"
    assert entry.summary == (
        "A long description, longer than the content itself ever is, about the post."
    )


@pytest.mark.parametrize(
    "item",
    [
        # Only a description: it is the body.
        "<description>&lt;p&gt;All there is.&lt;/p&gt;</description>",
        # The same text twice, as feedparser also reports content with no summary.
        "<description>All there is.</description>"
        "<content:encoded><![CDATA[<p>All <b>there</b> is.</p>]]></content:encoded>",
        "<content:encoded><![CDATA[<p>All there is.</p>]]></content:encoded>",
    ],
)
def test_no_summary_when_it_reads_as_the_body(item: str) -> None:
    (entry,) = parse(rss(f"<item><title>T</title><link>https://e.org/1</link>{item}</item>"))
    assert "All" in entry.content
    assert entry.summary is None


def test_a_summary_is_the_text_a_reader_sees() -> None:
    (entry,) = parse(
        rss(
            "<item><title>T</title><link>https://e.org/1</link>"
            "<description><![CDATA[<p>One</p><p>two<br>three</p><script>run()</script>"
            "<style>p{}</style><b>fo</b>ur &amp; more]]></description>"
            "<content:encoded><![CDATA[<p>The body.</p>]]></content:encoded></item>"
        )
    )
    assert entry.summary == "One two three four & more"


def test_an_excerpt_that_begins_the_body_is_kept_too() -> None:
    (entry,) = parse(
        rss(
            "<item><title>T</title><link>https://e.org/1</link>"
            "<description>The start of it [&amp;#8230;]</description>"
            "<content:encoded><![CDATA[<p>The start of it, and the rest.</p>]]></content:encoded>"
            "</item>"
        )
    )
    assert entry.summary == "The start of it […]"


def test_atom_summary_beside_content() -> None:
    (entry,) = parse(
        atom(
            "<entry><id>https://example.org/1</id><title>T</title>"
            "<summary type='html'>&lt;p&gt;In short.&lt;/p&gt;</summary>"
            "<content type='html'>&lt;p&gt;At length.&lt;/p&gt;</content></entry>"
        ),
        "application/atom+xml",
    )
    assert (entry.content, entry.summary) == ("<p>At length.</p>", "In short.")


def test_every_author_is_kept() -> None:
    (entry,) = parse(
        rss(
            "<item><title>T</title><link>https://e.org/1</link>"
            "<dc:creator>Ann One</dc:creator><dc:creator>Bob Two</dc:creator>"
            "<itunes:author>The Show</itunes:author></item>"
        ).replace(
            b"<rss ",
            b"<rss xmlns:dc='http://purl.org/dc/elements/1.1/'"
            b" xmlns:itunes='http://www.itunes.com/dtds/podcast-1.0.dtd' ",
        )
    )
    assert entry.author == "Ann One, Bob Two, The Show"
