"""HTML → Markdown, pure: nothing executable survives, every visible word does.

The HTML is parsed once (parse/html.py); the tree is cleaned (clean.py: dangerous
elements removed, lazy images resolved, placeholders dropped, links made absolute)
and then handed to a markdownify converter that escapes text so it stays text.
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bs4 import Tag
from markdownify import ATX, BACKSLASH, MarkdownConverter

from archiver.convert.clean import clean_tree, holds_any
from archiver.convert.fences import fenced_lines
from archiver.parse.html import parse_html

_ONE_WORD = re.compile(r"[-+−]?\w+")
_LANGUAGE_CLASS = re.compile(r"^(?:language|lang|highlight-source)-([\w+#.-]+)$")
_BLANK_LINES = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[ \t]+$", re.MULTILINE)
# A hard line break with nothing before it: what runs of <br> leave behind.
_LONE_BREAK = re.compile(r"^[ \t]*\\$", re.MULTILINE)
# ... and a hard break that ends a paragraph, which CommonMark shows as a backslash.
_FINAL_BREAK = re.compile(r"(?<!\\)\\(?=\n\n|\n*\Z)")


@dataclass(frozen=True)
class Converted:
    markdown: str
    images: tuple[str, ...]  # real images of the body, in order of appearance


def markdown_destination(url: str) -> str:
    # Spaces, parentheses and angle brackets would end or split a Markdown link.
    return quote(url, safe="/:?#[]@!$&'*+,;=%~-._")


# markdownify's patterns for text that would read as Markdown (its escape_misc).
_MISC_CHARACTERS = str.maketrans({c: "\\" + c for c in "]\\&<`[>~=+|"})
_DASH_RUN = re.compile(r"(\s|^)(-+(?:\s|$))")
_HASH_RUN = re.compile(r"(\s|^)(#{1,6}(?:\s|$))")
_LIST_NUMBER = re.compile(r"((?:\s|^)[0-9]{1,9})([.)](?:\s|$))")


class _Converter(MarkdownConverter):
    options: dict[str, Any]  # set by MarkdownConverter; its stubs leave it out

    def escape(self, text: str, parent_tags: set[str]) -> str:
        # markdownify's own escape, each pattern tried only where its character
        # occurs: four substitutions per string, most finding nothing, are a cost
        # every string of every entry pays. A property test holds it to markdownify's.
        if not text or not self.options["escape_misc"]:
            return str(super().escape(text, parent_tags))  # type: ignore[misc]
        text = text.translate(_MISC_CHARACTERS)
        if "-" in text:
            text = _DASH_RUN.sub(r"\1\\\2", text)
        if "#" in text:
            text = _HASH_RUN.sub(r"\1\\\2", text)
        if "." in text or ")" in text:
            text = _LIST_NUMBER.sub(r"\1\\\2", text)
        if self.options["escape_asterisks"]:
            text = text.replace("*", r"\*")
        if self.options["escape_underscores"]:
            text = text.replace("_", r"\_")
        return text

    def convert_code(self, el: Any, text: str, parent_tags: set[str]) -> str:
        converted = str(super().convert_code(el, text, parent_tags))  # type: ignore[misc]
        if parent_tags & {"td", "th"}:
            # In a table a `|` ends the cell, even inside a code span, unless escaped
            # (GitHub Flavored Markdown, "Tables").
            converted = converted.replace("|", "\\|")
        return converted

    def convert_pre(self, el: Any, text: str, parent_tags: set[str]) -> str:
        # A fence must be longer than any run of backticks in the code, or the
        # code could close it early and the rest would be read as Markdown.
        converted = str(super().convert_pre(el, text, parent_tags))  # type: ignore[misc]
        longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
        if longest < 3:
            return converted
        fence = "`" * (longest + 1)
        start, end = converted.index("```"), converted.rindex("```")
        return converted[:start] + fence + converted[start + 3 : end] + fence + converted[end + 3 :]

    def convert_a(self, el: Any, text: str, parent_tags: set[str]) -> str:
        if el.get("href"):
            el["href"] = markdown_destination(el["href"])
        # The stubs markdownify ships do not declare its convert_* methods.
        return str(super().convert_a(el, text, parent_tags))  # type: ignore[misc]

    def convert_summary(self, el: Any, text: str, parent_tags: set[str]) -> str:
        # A <details> shows its summary as a line of its own, the rest below it.
        if "_inline" in parent_tags or not text.strip():
            return f" {text.strip()} "
        if "\n" in text.strip():  # blocks: already on lines of their own
            return f"\n\n{text.strip()}\n\n"
        bold = self.convert_strong(el, text, parent_tags)  # type: ignore[attr-defined]
        return f"\n\n{bold}\n\n"

    def convert_details(self, el: Any, text: str, parent_tags: set[str]) -> str:
        return str(self.convert_div(el, text, parent_tags))  # type: ignore[attr-defined]

    def convert_abbr(self, el: Any, text: str, parent_tags: set[str]) -> str:
        # The expansion a pointer would show is the only place it is written out.
        title = " ".join((el.get("title") or "").split())
        if not title or title in text:
            return text
        if "_noformat" not in parent_tags:
            title = self.escape(title, parent_tags)
        return f"{text} ({title})"

    convert_acronym = convert_abbr

    def convert_rt(self, el: Any, text: str, parent_tags: set[str]) -> str:
        # Ruby's reading, as browsers without ruby show it when <rp> is given.
        return f"({text.strip()})" if text.strip() else ""

    def convert_rp(self, el: Any, text: str, parent_tags: set[str]) -> str:
        return ""  # the parentheses convert_rt writes

    def convert_sup(self, el: Any, text: str, parent_tags: set[str]) -> str:
        return self._script("^", el, text, parent_tags)

    def convert_sub(self, el: Any, text: str, parent_tags: set[str]) -> str:
        return self._script("_", el, text, parent_tags)

    def _script(self, mark: str, el: Any, text: str, parent_tags: set[str]) -> str:
        # 10^6, H_2O: run into the text before it, a raised or lowered 6 read as
        # 106. A footnote's link in a <sup> is marker enough.
        inner = text.strip()
        if "_noformat" in parent_tags or not inner or holds_any(el, ("a",)):
            return text
        before = " " if text[0].isspace() else ""
        after = " " if text[-1].isspace() else ""
        return before + mark + (inner if _ONE_WORD.fullmatch(inner) else f"({inner})") + after

    def convert_img(self, el: Any, text: str, parent_tags: set[str]) -> str:
        # Always the image: markdownify writes only the alt text of an image whose
        # parent is not listed as allowed inline, which would lose images in table cells.
        alt = " ".join((el.get("alt") or "").split()).replace("[", "\\[").replace("]", "\\]")
        title = el.get("title")
        title_part = ' "{}"'.format(title.replace('"', '\\"')) if title else ""
        return f"![{alt}]({markdown_destination(el.get('src') or '')}{title_part})"


def _code_language(pre: Any) -> str | None:
    for element in (pre, pre.find("code")):
        if isinstance(element, Tag):
            for css_class in element.get("class") or []:
                if match := _LANGUAGE_CLASS.match(css_class):
                    return match.group(1)
    return None


_CONVERTER = _Converter(
    heading_style=ATX,
    bullets="-",
    newline_style=BACKSLASH,
    escape_misc=True,  # so '# ', '1.', '---' and '<script>' in text stay literal text
    code_language_callback=_code_language,
)


def _tidy(markdown: str) -> str:
    """At most one blank line in a row and no trailing spaces, except inside code fences."""
    out: list[str] = []
    prose: list[str] = []

    def flush_prose() -> None:
        if prose:
            text = _LONE_BREAK.sub("", _TRAILING_SPACE.sub("", "\n".join(prose)))
            out.append(_FINAL_BREAK.sub("", _BLANK_LINES.sub("\n\n", text)))
            prose.clear()

    lines = markdown.split("\n")
    for line, is_code in zip(lines, fenced_lines(lines, prefix=r"\s*"), strict=True):
        if is_code:
            flush_prose()
            out.append(line)
        else:
            prose.append(line)
    flush_prose()
    return "\n".join(out).strip("\n")


def html_to_markdown(html: str, base: str | None = None) -> Converted:
    soup = parse_html(html)
    images = clean_tree(soup, base)
    markdown = _CONVERTER.convert_soup(soup)
    return Converted(markdown=_tidy(markdown), images=tuple(dict.fromkeys(images)))


def text_to_markdown(text: str) -> Converted:
    """Plain text, escaped so that nothing in it is read as Markdown or HTML: the
    Markdown markdownify writes for the text as paragraphs with line breaks."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    if _ALTERED_BY_HTML_PARSING.search(text):
        html = "".join(
            "<p>" + "<br>".join(html_lib.escape(line) for line in p.split("\n")) + "</p>"
            for p in paragraphs
        )
        return html_to_markdown(html)
    # Plain text is common in feeds, and building and converting an HTML tree for
    # it costs several times what the same steps cost done directly here.
    blocks = []
    for paragraph in paragraphs:
        lines = [_escaped_text(line) for line in paragraph.split("\n")]
        lines[-1] = lines[-1].rstrip()  # as markdownify ends a block's last text
        block = "\\\n".join(lines).strip(" \t\r\n")
        if block:
            blocks.append(block)
    return Converted(markdown=_tidy("\n\n".join(blocks)), images=())


# Characters an HTML parser drops or rewrites (controls, carriage returns): text that
# holds one takes the long way, through the parser, so both ways give the same text.
_ALTERED_BY_HTML_PARSING = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_SPACES_AND_TABS = re.compile(r"[\t ]+")


def _escaped_text(line: str) -> str:
    # What markdownify does to a text node outside code.
    return _CONVERTER.escape(_SPACES_AND_TABS.sub(" ", line), set())
