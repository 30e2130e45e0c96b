"""The clean-up before conversion, seen in the Markdown it leads to: what runs or only
decorates goes, images are found at their real address, placeholders go, players and
plugins become links."""

from __future__ import annotations

import pytest

from archiver.convert.clean import is_real_image
from archiver.convert.markdown import html_to_markdown

BASE = "https://example.org/posts/1.html"
TINY_GIF = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"


def md(html: str, base: str | None = BASE) -> str:
    return html_to_markdown(html, base).markdown


@pytest.mark.parametrize(
    "html",
    [
        pytest.param("<script>alert(1)</script>", id="script"),
        pytest.param("<style>p { color: red }</style>", id="style"),
        pytest.param("<form action='/x'><input name=q><button>Go</button></form>", id="form"),
        pytest.param("<noscript>enable JavaScript</noscript>", id="noscript"),
        pytest.param("<template><p>later</p></template>", id="template"),
    ],
)
def test_executable_and_chrome_elements_are_dropped(html: str) -> None:
    assert md(f"<p>kept</p>{html}") == "kept"


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "vbscript:msgbox",
        "data:text/html,<b>",
        "file:///etc/passwd",
    ],
)
def test_dangerous_links_lose_their_href_but_keep_their_text(href: str) -> None:
    assert md(f'<p><a href="{href}">click me</a></p>') == "click me"


@pytest.mark.parametrize(
    ("img", "expected"),
    [
        pytest.param(f'<img src="{TINY_GIF}" data-src="/real.jpg">', "/real.jpg", id="data-src"),
        pytest.param('<img data-original="/orig.jpg">', "/orig.jpg", id="data-original"),
        pytest.param('<img srcset="/s.jpg 480w, /l.jpg 1200w">', "/l.jpg", id="srcset-largest"),
        pytest.param('<img data-srcset="/a.jpg 1x, /b.jpg 2x">', "/b.jpg", id="data-srcset"),
    ],
)
def test_lazy_images_are_resolved(img: str, expected: str) -> None:
    result = html_to_markdown(img, BASE)
    assert result.images == ("https://example.org" + expected,)
    assert f"(https://example.org{expected})" in result.markdown


@pytest.mark.parametrize(
    "img",
    [
        pytest.param('<img src="https://www.huxiu.com/article/undefined">', id="undefined"),
        pytest.param('<img src="https://example.org/null">', id="null"),
        pytest.param('<img src="">', id="empty"),
        pytest.param("<img>", id="missing"),
        pytest.param('<img src="/t.gif" width="1" height="1">', id="tracking-pixel"),
        pytest.param(f'<img src="{TINY_GIF}">', id="tiny-data-gif"),
        pytest.param('<img src="/images/spacer.gif">', id="spacer"),
        pytest.param('<img src="javascript:alert(1)">', id="javascript-src"),
    ],
)
def test_placeholder_images_are_dropped(img: str) -> None:
    result = html_to_markdown(f"<p>text</p>{img}", BASE)
    assert result.markdown == "text"
    assert result.images == ()


@pytest.mark.parametrize(
    ("url", "width", "height", "expected"),
    [
        pytest.param("https://example.org/a.jpg", None, None, True, id="photo"),
        pytest.param("https://www.huxiu.com/article/undefined", None, None, False, id="undefined"),
        pytest.param(None, None, None, False, id="none"),
        pytest.param("https://example.org/a.jpg", "1", "1", False, id="one-pixel"),
        pytest.param("https://example.org/a.jpg", "1px", "0", False, id="one-pixel-in-px"),
        pytest.param("https://example.org/a.jpg", "1", "300", True, id="thin-but-tall"),
        pytest.param("ftp://example.org/a.jpg", None, None, False, id="not-http"),
        pytest.param(TINY_GIF, None, None, False, id="tiny-data-gif"),
        pytest.param("data:image/png;base64," + "A" * 400, None, None, True, id="data-png"),
        pytest.param("data:text/html;base64," + "A" * 400, None, None, False, id="data-not-image"),
        pytest.param("https://example.org/1x1.gif", None, None, False, id="spacer"),
    ],
)
def test_is_real_image(
    url: str | None, width: str | None, height: str | None, expected: bool
) -> None:
    assert is_real_image(url, width, height) is expected


def test_iframe_becomes_a_link() -> None:
    out = md('<iframe src="https://www.youtube.com/embed/xyz"></iframe>')
    assert out == "<https://www.youtube.com/embed/xyz>"


def test_a_video_keeps_its_poster_as_an_image() -> None:
    result = html_to_markdown(
        "<video poster='/p.jpg' src='https://e.org/v.mp4'>fallback</video>", BASE
    )
    assert result.markdown == "![](https://example.org/p.jpg)\n\n<https://e.org/v.mp4>"
    assert result.images == ("https://example.org/p.jpg",)


@pytest.mark.parametrize(
    "html",
    [
        pytest.param(
            '<img class="lazy" data-src="/a.jpg"><noscript><img src="/a.jpg"></noscript>',
            id="lazy-and-noscript",
        ),
        pytest.param(
            f'<img class="lazy" src="{TINY_GIF}"><noscript><img src="/a.jpg"></noscript>',
            id="placeholder-dropped-noscript-kept",
        ),
        pytest.param(
            '<img class="lazy" src="/loading.svg"><noscript><img src="/a.jpg"></noscript>',
            id="placeholder-that-looks-real",
        ),
        pytest.param(
            '<a href="/a.jpg"><img data-src="/a.jpg"></a><noscript><img src="/a.jpg"></noscript>',
            id="lazy-in-a-link",
        ),
        pytest.param(
            '<noscript><img src="/a.jpg"></noscript><img data-src="/a.jpg">', id="noscript-first"
        ),
        pytest.param('<noscript><img src="/a.jpg">Turn on JavaScript</noscript>', id="alone"),
    ],
)
def test_a_lazy_image_and_its_noscript_copy_are_one_image(html: str) -> None:
    result = html_to_markdown(f"<p>text</p>{html}", BASE)
    assert result.images == ("https://example.org/a.jpg",)
    assert result.markdown.count("![") == 1
    assert "JavaScript" not in result.markdown


def test_a_lazy_picture_takes_its_sources_address() -> None:
    html = (
        '<picture><source data-srcset="/a.jpg 1x, /a2.jpg 2x">'
        f'<img src="{TINY_GIF}" alt="A"></picture>'
    )
    assert html_to_markdown(html, BASE).images == ("https://example.org/a2.jpg",)
