"""Entry text made inert for Hugo and Obsidian: what each reads back is the text.

The real generators build sites in test_sites.py; these hold the escaping to its promise
over open-ended text."""

from __future__ import annotations

import io
import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from archiver.archive.ids import id_from_name
from archiver.cli.main import main
from archiver.convert.inert import hugo_text, inert, jekyll_text, obsidian_text
from archiver.convert.markdown import html_to_markdown

from .conftest import FIXTURES, FeedServer, write_config

_CLOSERS = {"<": ">}}", "%": "%}}"}


class ShortcodeRuns(Exception):
    pass


def hugo_reads(markdown: str) -> str:
    """The text Hugo hands to its Markdown renderer, as its shortcode lexer documents it:
    `{{</* x */>}}` becomes the text `{{< x >}}`; any other `{{<` or `{{%` runs."""
    out, done = [], 0
    while match := re.compile(r"\{\{([<%])").search(markdown, done):
        closer = _CLOSERS[match[1]]
        if not markdown.startswith("/*", match.end()):
            raise ShortcodeRuns(markdown[match.start() :])
        end = markdown.find("*/" + closer, match.end() + 2)
        if end == -1:
            raise ShortcodeRuns("comment must be closed")
        out += [markdown[done : match.end()], markdown[match.end() + 2 : end], closer]
        done = end + 2 + len(closer)
    return "".join([*out, markdown[done:]])


# Delimiters whole and in pieces, so that openers with and without closers come up.
HUGO_PIECES = ["{{<", "{{%", ">}}", "%}}", "/*", "*/", *"{}<>%/*\\`a \n"]
HUGO_TEXT = st.lists(st.sampled_from(HUGO_PIECES), max_size=20).map("".join)


@given(HUGO_TEXT)
def test_hugo_reads_back_the_text_and_runs_nothing(text: str) -> None:
    read = hugo_reads(hugo_text(text))
    # An opener nothing closes is written `{{\<`: Markdown shows it as `{{<` outside code.
    assert re.sub(r"\{\{\\([<%])", r"{{\1", read) == re.sub(r"\{\{\\([<%])", r"{{\1", text)


def test_hugo_escapes_shortcodes_as_hugo_documents() -> None:
    assert hugo_text("a {{< x >}} b {{% y %}}") == "a {{</* x */>}} b {{%/* y */%}}"
    assert hugo_text("{{</* escaped */>}}") == "{{</*/* escaped */*/>}}"
    assert hugo_text("{{< open") == "{{\\< open"
    assert inert("jekyll", "{{< x >}}") == "{{< x >}}"  # not a shortcode in Jekyll


COMMONMARK = MarkdownIt("commonmark")
PIECES = st.lists(
    st.sampled_from(["%%", "%", "{:", "{::c}", "a", " ", "`", "\\", "[[x]]", "&lt;b&gt;"]),
    min_size=1,
    max_size=8,
).map("".join)
BLOCKS = st.tuples(st.sampled_from(["p", "code", "pre"]), PIECES).map(
    lambda block: f"<p><{block[0]}>{block[1]}</{block[0]}></p>"
)
LINKS = st.tuples(st.just("") | PIECES, st.sampled_from(["", "x", "%%y"])).map(
    # The link's text the same as its address makes an autolink.
    lambda link: (
        f'<p><a href="https://e.org/{link[1]}">{link[0] or f"https://e.org/{link[1]}"}</a></p>'
    )
)
HTML = st.lists(BLOCKS | LINKS, min_size=1, max_size=5).map("".join)


@given(HTML)
def test_obsidian_and_kramdown_escapes_change_nothing_a_commonmark_reader_sees(
    html: str,
) -> None:
    markdown = html_to_markdown(html).markdown
    assert COMMONMARK.render(obsidian_text(markdown)) == COMMONMARK.render(markdown)
    assert COMMONMARK.render(jekyll_text(markdown)) == COMMONMARK.render(markdown)


def test_obsidian_escapes_comment_marks_in_prose_only() -> None:
    markdown = "a %%b%% `%%c%%`\n\n```\n%%d%%\n```\n\ne %%%"
    assert obsidian_text(markdown) == "a \\%\\%b\\%\\% `%%c%%`\n\n```\n%%d%%\n```\n\ne \\%\\%\\%"


def test_kramdown_braces_are_escaped_in_prose_only() -> None:
    markdown = "a {::comment}b{:/comment} {: .c} `{::d}`\n\n```\n{::e}\n```"
    expected = "a \\{\\::comment}b\\{\\:/comment} \\{\\: .c} `{::d}`\n\n```\n{::e}\n```"
    assert jekyll_text(markdown) == expected


def test_an_obsidian_vault_shows_comments_and_wikilinks_of_entries(
    server: FeedServer, tmp_path: Path
) -> None:
    url = server.feed("/hostile", (FIXTURES / "hostile-templates.rss").read_bytes())
    config = write_config(
        tmp_path / "feeds.yaml", f"feeds:\n  - name: h\n    url: {url}\n    flavor: obsidian\n"
    )
    vault = tmp_path / "vault"
    command = ["run", "--config", str(config), "--output", str(vault)]
    assert main(command, stdout=io.StringIO(), stderr=io.StringIO()) == 0
    (note,) = [p for p in vault.rglob("*.md") if id_from_name(p.name) and "obsidian" in p.name]
    body = note.read_text(encoding="utf-8").split("\n---\n", 1)[1]
    # Obsidian hides `%%…%%` and links `[[…]]` outside code; escaped, both are text.
    prose = re.sub(r"```.*?```|`[^`]*`", "", body, flags=re.S)
    assert not re.search(r"(?<!\\)%%|(?<!\\)\[\[", prose)
    shown = COMMONMARK.render(body)
    for text in ("%%hidden comment%%", "[[Some Note]]", "![[embed.png]]", "[[link text]]"):
        assert text in shown
    assert "<code>%%in code%% [[code link]]" in shown  # code as it was
    assert "<code>%%inline%%</code>" in shown
    index = (vault / "2021" / "06" / "index.md").read_text(encoding="utf-8")
    assert "Obsidian: \\%\\%secret\\%\\% and \\[\\[Wikilink\\]\\]" in index
