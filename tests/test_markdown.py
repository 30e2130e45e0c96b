"""HTML and plain text → Markdown: what each element becomes, text that stays text, code
that stays fenced, and nothing executable left."""

from __future__ import annotations

import html
import re

import pytest
from bs4 import BeautifulSoup
from hypothesis import example, given, settings
from hypothesis import strategies as st
from markdownify import MarkdownConverter

from archiver.convert import markdown as convert
from archiver.convert.markdown import html_to_markdown, text_to_markdown

BASE = "https://example.org/posts/1.html"


def md(html: str, base: str | None = BASE) -> str:
    return html_to_markdown(html, base).markdown


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        pytest.param("<h3>Heading</h3>", "### Heading", id="atx-heading"),
        pytest.param("<p><strong>bold</strong> <em>it</em></p>", "**bold** *it*", id="emphasis"),
        pytest.param(
            '<pre><code class="language-python">x = 1\n\n\n\ny = 2</code></pre>',
            "```python\nx = 1\n\n\n\ny = 2\n```",
            id="fenced-code-keeps-blank-lines",
        ),
        pytest.param(
            "<table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>2</td></tr></table>",
            "| a | b |\n| --- | --- |\n| 1 | 2 |",
            id="table",
        ),
        pytest.param(
            '<p><a href="../2.html">next</a></p>',
            "[next](https://example.org/2.html)",
            id="relative-link-absolute",
        ),
        pytest.param(
            '<img src="/img/a.png" alt="A">',
            "![A](https://example.org/img/a.png)",
            id="relative-image-absolute",
        ),
        pytest.param(
            '<a href="https://example.org/a b(1).html">x</a>',
            "[x](https://example.org/a%20b%281%29.html)",
            id="spaces-and-parentheses-stay-one-link",
        ),
        pytest.param("<ul><li>one</li><li>two</li></ul>", "- one\n- two", id="list"),
        pytest.param("<p>a</p><p></p><br><br><p></p><p>b</p>", "a\n\nb", id="one-blank-line"),
        pytest.param("<p>a<br>b<br></p>", "a\\\nb", id="no-dangling-break"),
    ],
)
def test_conversion(html: str, expected: str) -> None:
    assert md(html) == expected


def test_escaped_markup_stays_text() -> None:
    out = md("<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>")
    assert "<script>" not in out
    assert "script" in out


def test_text_that_looks_like_markdown_stays_literal() -> None:
    out = md("<p>---</p><p># not a heading</p><p>1. not a list</p>")
    assert out.splitlines()[0] != "---"
    assert not any(line.startswith("# ") for line in out.splitlines())
    assert not any(re.match(r"^1\. ", line) for line in out.splitlines())


def test_cjk_text_survives() -> None:
    html = (
        "<p>中国加密货币矿工的命运已尘埃落地。</p><h3>一、监管态度明确</h3><p>日本語のテキスト</p>"
    )
    out = md(html)
    for sentence in (
        "中国加密货币矿工的命运已尘埃落地。",
        "### 一、监管态度明确",
        "日本語のテキスト",
    ):
        assert sentence in out


def test_plain_text_is_escaped_not_interpreted() -> None:
    out = text_to_markdown("# not a heading\n<b>not bold</b>\n\nsecond *para*").markdown
    assert "\\# not a heading" in out
    assert "<b>" not in out
    assert "\\*para\\*" in out


def _outside_code(markdown: str) -> str:
    """The Markdown without fenced blocks and code spans, where '<' is literal anyway.

    As CommonMark reads it: fences first; then, paragraph by paragraph (a span
    cannot cross a blank line), a run of N backticks opens a code span that the
    next run of exactly N backticks closes. A backslash before a run escapes its
    first backtick, which is then text: the run opens with the rest.
    """
    fence = r"(?ms)^[ \t]*(?:(?:[-*+]|\d{1,9}[.)])[ \t]+)?(`{3,})[^\n`]*\n.*?^[ \t]*\1`*[ \t]*$"
    without_fences = re.sub(fence, "", markdown)
    prose = []
    for paragraph in re.split(r"\n[ \t]*\n", without_fences):
        position = 0
        while (opening := _backtick_run(paragraph, position)) is not None:
            prose.append(paragraph[position : opening.start()])
            width = len(opening.group())
            closing = re.compile(rf"(?<!`)`{{{width}}}(?!`)").search(paragraph, opening.end())
            if closing is None:
                prose.append(opening.group())
                position = opening.end()
            else:
                position = closing.end()
        prose.append(paragraph[position:])
    return "\n\n".join(prose)


def _backtick_run(paragraph: str, position: int) -> re.Match[str] | None:
    """The next run of backticks that can open a code span, from `position` on."""
    while (run := re.compile(r"`+").search(paragraph, position)) is not None:
        before = paragraph[: run.start()]
        backslashes = len(before) - len(before.rstrip("\\"))
        if backslashes % 2 == 0:
            return run
        position = run.start() + 1  # the escaped backtick is text
        if position < run.end():
            return re.compile(r"`+").match(paragraph, position)
    return None


def test_outside_code_reads_an_escaped_backtick_as_text() -> None:
    assert "<script" not in _outside_code("\\``<script`")  # `\`` then the span `<script`
    assert "<script" in _outside_code("\\`<script`")  # no span: its opener is escaped
    assert "<script" not in _outside_code("\\\\``<script``")  # `\\`: the backslash is escaped


def test_code_containing_a_fence_cannot_close_it() -> None:
    out = md("<pre>before\n```\n<b>not markup</b> # not a heading\n</pre>")
    assert out.startswith("````\n") and out.endswith("\n````")
    assert _outside_code(out) == ""


def _visible_text(html: str) -> str:
    soup = BeautifulSoup(html, "html.parser")
    for element in soup(["script", "style", "noscript", "form", "template", "head", "title"]):
        element.decompose()
    return soup.get_text()


_html_fragments = st.lists(
    st.one_of(
        st.text(max_size=40),
        st.sampled_from(
            [
                "<p>",
                "</p>",
                "<b>",
                "</b>",
                "<a href='javascript:x'>",
                "<a href='/rel'>",
                "</a>",
                "<img src='x.png'>",
                "<img data-src='y.png' src='data:,'>",
                "<script>",
                "</script>",
                "<pre><code>",
                "</code></pre>",
                "<table><tr><td>",
                "</td></tr></table>",
                "<ul><li>",
                "</li></ul>",
                "<br>",
                "<i>",
                "</i>",
                "<h2>",
                "<dl><dt>",
                "<td>",
                "<code>",
                "</code>",
                "&lt;script&gt;",
                "<!--",
                "-->",
                "<![CDATA[",
            ]
        ),
    ),
    max_size=30,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(_html_fragments)
@example("`<CODE>&ltSCRIPT")  # an escaped backtick before the code span
def test_conversion_never_raises_and_leaves_nothing_executable(html: str) -> None:
    out = html_to_markdown(html, BASE).markdown
    prose = _outside_code(out)
    assert not re.search(r"(?<!\\)<script", prose, re.IGNORECASE)  # only escaped ones survive
    assert "javascript:" not in out.lower() or "javascript:" in _visible_text(html).lower()
    assert "\n\n\n" not in out or "```" in out


@pytest.mark.parametrize(
    "html",
    [
        pytest.param("<i><pre>&lt;script&gt;<p>0</p></pre></i>", id="pre-in-emphasis"),
        pytest.param("<code>&lt;script&gt;<pre>x</pre></code>", id="pre-in-code"),
        pytest.param(
            "<a href='https://e.org'><pre>&lt;script&gt;\n\nx</pre></a>", id="pre-in-link"
        ),
        pytest.param("<code>a<p>&lt;script&gt;</p></code>", id="paragraph-in-code"),
        pytest.param("0<li><pre>&lt;script&gt;<p>0</p></pre></li>", id="pre-in-stray-li"),
    ],
)
def test_blocks_inside_inline_markup_stay_fenced(html: str) -> None:
    # markdownify puts `*` or backticks around the fence, which then no longer
    # starts its line: the "code" would be read as HTML.
    out = md(html)
    assert not re.search(r"(?<!\\)<script", _outside_code(out), re.IGNORECASE)


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        pytest.param(
            "<table><tr><td><div><img src='https://e.org/x.png' alt='chart'></div></td></tr>"
            "</table>",
            "![chart](https://e.org/x.png)",
            id="image-in-table-cell",
        ),
        pytest.param(
            "<p><a href='https://e.org/a'>Epson<br>\n</a>Thursday</p>",
            "[Epson](https://e.org/a)Thursday",
            id="break-ending-link-text",
        ),
        pytest.param(
            "<code><a href='https://e.org/d'>-define</a> x</code>",
            "[-define](https://e.org/d) x",
            id="link-in-code",
        ),
        pytest.param(
            "<table><tbody><th>A</th><th>B</th><tr><td>1</td><td>2</td></tr></tbody></table>",
            "| A | B |\n| --- | --- |\n| 1 | 2 |",
            id="cells-outside-a-row",
        ),
        pytest.param(
            "<table><tr><td><code>a | b</code></td></tr></table>",
            "`a \\| b`",
            id="pipe-in-code-in-table",
        ),
        pytest.param("<ul><li>one<li>two</ul>", "- one\n- two", id="implied-end-tags"),
        pytest.param(
            "<table><tr><td>a<tr><td><table><tr><td>1<td>2<td>3</table></table>",
            "|  |\n| --- |\n| a |\n",
            id="a-nested-table-is-not-a-row",
        ),
        pytest.param(
            "<table><tr><th>a<th colspan=2>b<tr><td>1<td>2<td>3<td>4</table>",
            "| a | b | |  |\n| --- | --- | --- | --- |\n| 1 | 2 | 3 | 4 |",
            id="rows-wider-than-the-first",
        ),
    ],
)
def test_what_the_fidelity_test_found(html: str, expected: str) -> None:
    assert expected in md(html)


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        pytest.param(
            '<p>before</p><embed src="https://www.youtube.com/v/xyz"><p>AFTER</p>',
            "before\n\n<https://www.youtube.com/v/xyz>\n\nAFTER",
            id="unclosed-embed",
        ),
        pytest.param(
            '<p>x<embed src="a.swf">y</p>',
            "x\n\n<https://example.org/posts/a.swf>\n\ny",
            id="embed-inside-a-paragraph",
        ),
        pytest.param(
            '<!DOCTYPE html><p>x<embed src="a.swf">y</p>',
            "x\n\n<https://example.org/posts/a.swf>\n\ny",
            id="embed-in-a-document-beautifulsoup-builds",
        ),
        pytest.param(
            '<object width="425"><param name="movie" value="https://www.youtube.com/v/xyz">'
            '<param name="allowFullScreen" value="true"><embed src="https://www.youtube.com/v/xyz"'
            ' type="application/x-shockwave-flash"></object><p>after</p>',
            "<https://www.youtube.com/v/xyz>\n\nafter",
            id="classic-flash-player-one-link",
        ),
        pytest.param(
            "<object data='https://e.org/x.swf'>Get <b>Flash</b></object>",
            "<https://e.org/x.swf>\n\nGet **Flash**",
            id="object-keeps-its-fallback",
        ),
        pytest.param(
            "<video><source src='https://e.org/v.mp4'><track src='https://e.org/v.vtt'>"
            "Your browser cannot play this</video><p>after</p>",
            "<https://e.org/v.mp4>\n\nafter",
            id="video-source-track",
        ),
        pytest.param(
            "<audio src='https://e.org/a.mp3'></audio>", "<https://e.org/a.mp3>", id="audio"
        ),
        pytest.param(
            "<details><summary>More</summary>hidden text</details>",
            "**More**\n\nhidden text",
            id="details-summary",
        ),
        pytest.param("<p>long<wbr>word</p><p>next</p>", "longword\n\nnext", id="wbr"),
        pytest.param(
            "<ruby>漢<rt>kan</rt>字<rt>ji</rt></ruby>, "
            "<ruby>東<rp>(</rp><rt>tō</rt><rp>)</rp></ruby>",
            "漢(kan)字(ji), 東(tō)",
            id="ruby-base-and-reading",
        ),
        pytest.param(
            '<p><abbr title="HyperText Markup Language">HTML</abbr></p>',
            "HTML (HyperText Markup Language)",
            id="abbr-title",
        ),
        pytest.param('<p><abbr title="HTML">HTML</abbr></p>', "HTML", id="abbr-title-same"),
        pytest.param(
            '<abbr title="Read Me">RM<pre>code</pre></abbr>',
            "RM\n\n```\ncode\n```\n\n(Read Me)",
            id="abbr-title-around-a-block",
        ),
        pytest.param(
            "<p>10<sup>6</sup>, 10<sup>-6</sup>, x<sup> n+1 </sup>, H<sub>2</sub>O</p>",
            "10^6, 10^-6, x ^(n\\+1) , H_2O",
            id="sup-sub",
        ),
        pytest.param(
            "<p>claim<sup><a href='#fn1'>1</a></sup></p>",
            "claim[1](https://example.org/posts/1.html#fn1)",
            id="footnote-reference",
        ),
        pytest.param("<p><q>quoted</q> <mark>marked</mark></p>", '"quoted" marked', id="q-mark"),
        pytest.param("<p>press <kbd>Ctrl</kbd></p>", "press `Ctrl`", id="kbd"),
        pytest.param(
            "<figure><img src='https://e.org/a.jpg' alt='A'><figcaption>Caption</figcaption>"
            "</figure>",
            "![A](https://e.org/a.jpg)\n\nCaption",
            id="figure-figcaption",
        ),
        pytest.param("<dl><dt>Term</dt><dd>Meaning</dd></dl>", "Term\n:   Meaning", id="dl"),
        pytest.param(
            "<form><label>Name</label><input name=n><p>Why we ask</p><button>Go</button></form>",
            "Name\n\nWhy we ask",
            id="form-text-stays-controls-go",
        ),
    ],
)
def test_less_common_elements_read_as_a_browser_shows_them(html: str, expected: str) -> None:
    assert md(html) == expected


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        pytest.param(
            "<title>t</title><article>after</article>", "after", id="what-libxml2-puts-in-head"
        ),
        pytest.param(
            "<frameset><a href='https://e.org/x'>x</a></frameset>after",
            "[x](https://e.org/x)after",
            id="what-libxml2-puts-in-a-frameset",
        ),
        pytest.param(
            "<frameset><frame src='https://e.org/f.html'></frameset>",
            "<https://e.org/f.html>",
            id="frame-as-a-link",
        ),
        pytest.param(
            "<object><object data='https://e.org/x.swf'>Get Flash</object></object>",
            "<https://e.org/x.swf>\n\nGet Flash",
            id="nested-objects",
        ),
    ],
)
def test_what_the_visible_words_property_test_found(html: str, expected: str) -> None:
    assert md(html) == expected


def test_blank_lines_inside_code_survive_between_its_elements() -> None:
    # Highlighters wrap each token in a <span>: the lines between them are the code's.
    html = "<pre><code><span>a\n\n\n</span><span>\n\n\nb</span></code></pre>"
    assert html_to_markdown(html).markdown == "```\na\n\n\n\n\n\nb\n```"


def _as_html_paragraphs(text: str) -> str:
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return "".join(
        "<p>" + "<br>".join(html.escape(line) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    )


TEXT_WITH_MARKDOWN_IN_IT = st.text(
    alphabet=st.sampled_from(
        [*" \t\n-#*_`>+1.)=|[]\\&<~!ab", "\u00a0", "\u2003", "\u2028", "中", "\r", "\x0b", "\x85"]
    ),
    max_size=80,
)


@settings(max_examples=300)
@given(st.one_of(TEXT_WITH_MARKDOWN_IN_IT, st.text(max_size=80)))
@example("1. a\u2003\n\n - b\u00a0\n# c\t")
def test_plain_text_converts_as_its_paragraphs_would(text: str) -> None:
    # Plain text skips the HTML parser; it must come out as the same text put in
    # <p> and <br> would.
    assert text_to_markdown(text) == html_to_markdown(_as_html_paragraphs(text))


_ESCAPE_ALPHABET = st.sampled_from(
    [*"]\\&<`[>~=+|-#.)*_ \t\n0123456789ab", "\u00a0", "\u2003", "中"]
)


@settings(max_examples=500)
@given(st.one_of(st.text(_ESCAPE_ALPHABET, max_size=40), st.text(max_size=40)))
@example("1. a - b ## c 12) d")
def test_escape_is_markdownifys(text: str) -> None:
    markdownifys = MarkdownConverter.escape  # type: ignore[attr-defined]  # not in its stubs
    assert convert._CONVERTER.escape(text, set()) == markdownifys(convert._CONVERTER, text, set())
