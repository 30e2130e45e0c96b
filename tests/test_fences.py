"""Fenced code found where a CommonMark reader finds it: the converter's tidying and the
site flavours' escaping both leave code as it is."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt

from archiver.convert.fences import fenced_lines
from archiver.convert.inert import jekyll_text, obsidian_text
from archiver.convert.markdown import html_to_markdown

COMMONMARK = MarkdownIt("commonmark")


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        pytest.param("a\n```\nb\n```\nc", "-+++-", id="backtick-fence"),
        pytest.param("~~~\nb\n~~~", "+++", id="tilde-fence"),
        pytest.param("```py\nb\n```", "+++", id="info-string"),
        pytest.param("``` `` ```\nb", "--", id="code-span-at-line-start-is-text"),
        pytest.param("~~~ `x`\nb\n~~~", "+++", id="tilde-info-may-hold-backticks"),
        pytest.param("````\n```\nb\n````\nc", "++++-", id="shorter-run-is-code"),
        pytest.param("```\n~~~\nb\n```", "++++", id="other-character-is-code"),
        pytest.param("```\n``` x\nb\n```", "++++", id="run-with-text-does-not-close"),
        pytest.param("```\nb", "++", id="unclosed-runs-to-the-end"),
        pytest.param("> ```\n> b\n> ```\nc", "+++-", id="in-a-quote"),
        pytest.param("- a\n\n  ```\n  b\n  ```", "--+++", id="in-a-list-item"),
    ],
)
def test_fenced_lines(markdown: str, expected: str) -> None:
    marks = "".join("+" if inside else "-" for inside in fenced_lines(markdown.split("\n")))
    assert marks == expected


def test_a_code_span_of_backticks_at_a_line_start_opens_no_block() -> None:
    # The converter writes the inline code `` `` `` as ``` `` ```; the block after it is
    # the code, and keeps its blank lines.
    markdown = html_to_markdown("<p><code>``</code></p><pre>a\n\n\n\nb</pre>").markdown
    assert markdown == "``` `` ```\n\n```\na\n\n\n\nb\n```"


def test_a_longer_fence_keeps_a_shorter_run_and_the_blank_lines_after_it() -> None:
    markdown = html_to_markdown("<pre>x\n```\n\n\n\ny</pre>").markdown
    assert markdown == "````\nx\n```\n\n\n\ny\n````"


@pytest.mark.parametrize("flavour", [obsidian_text, jekyll_text], ids=["obsidian", "jekyll"])
@pytest.mark.parametrize("mark", ["%%", "{:"])
def test_marks_in_code_after_a_code_span_stay_as_they_are(flavour, mark: str) -> None:
    # Found by test_inert's property test: the flavours took the code block for prose.
    markdown = html_to_markdown(f"<code>``</code><pre>{mark}</pre>").markdown
    assert COMMONMARK.render(flavour(markdown)) == COMMONMARK.render(markdown)
