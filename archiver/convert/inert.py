"""Entry text made inert for the site generator or vault it is written for; pure.

Feeds are untrusted, and posts about templating are common: a `{{< shortcode >}}`, a
`{% include %}` or a `%% comment %%` in an entry must reach the reader as text, never
run in the user's site build. Jekyll and Hexo are told so in the front matter
(`render_with_liquid: false`, `disableNunjucks: true`, frontmatter.py); Hugo, Obsidian
and Jekyll's kramdown read the Markdown itself, so its text is escaped here, the way each
documents.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from archiver.config.model import Flavor
from archiver.convert.fences import fenced_lines

# https://gohugo.io/content-management/shortcodes/: Hugo reads shortcodes in the raw
# Markdown, before it renders it, so in code blocks and code spans as well.
_HUGO_OPENER = re.compile(r"\{\{([<%])")
_HUGO_CLOSER = {"<": ">}}", "%": "%}}"}


def hugo_text(markdown: str) -> str:
    """Every shortcode delimiter escaped the way Hugo documents, `{{</* … */>}}` and
    `{{%/* … */%}}`, which Hugo writes out as the text `{{< … >}}` and `{{% … %}}`."""
    if "{{" not in markdown:
        return markdown
    out: list[str] = []
    done = 0
    while opener := _HUGO_OPENER.search(markdown, done):
        mark = opener[1]
        right = _HUGO_CLOSER[mark]
        closer = markdown.find(right, opener.end())
        out.append(markdown[done : opener.start()])
        if closer == -1:
            # Nothing closes it, so Hugo would fail on it, and an escaped shortcode
            # needs a closing delimiter. A backslash keeps the delimiter from opening;
            # Markdown shows `{{<` for `{{\<` outside code (inside code, the backslash).
            out.append("{{\\" + mark)
            done = opener.end()
        else:
            # The inner text holds no closer of its own: the first `*/>}}` Hugo finds
            # after the opener is the one written here, whatever the inner text is.
            inner = markdown[opener.end() : closer]
            out.append(f"{{{{{mark}/*{inner}*/{right}")
            done = closer + len(right)
    out.append(markdown[done:])
    return "".join(out)


# https://help.obsidian.md/syntax: `%%` opens and closes a comment, which Obsidian hides;
# a backslash before a character shows it as text. Wikilinks need nothing more: the
# converter already writes every `[` and `]` of text as `\[` and `\]`.
_COMMENT_MARKS = re.compile(r"%{2,}")
# https://kramdown.gettalong.org/syntax.html#extensions: Jekyll's Markdown reads `{::…}`
# as an extension (`{::comment}` hides text, `{::nomarkdown}` passes it on raw) and `{:`
# as attributes; `\{` is the text `{`.
_KRAMDOWN_BRACES = re.compile(r"\{:")
_BACKTICKS = re.compile(r"`+")
# CommonMark reads no backslash escape in an autolink: `<https://…%%…>` stays as it is.
_AUTOLINK = re.compile(r"<[A-Za-z][A-Za-z0-9+.-]{1,31}:[^<>\x00-\x20]*>")


def obsidian_text(markdown: str) -> str:
    """Every `%%` outside code written `\\%\\%`, so that Obsidian shows it instead of hiding
    the text up to the next one as a comment. Code is shown as it is, so it is left so."""
    return _escaped_outside_code(markdown, _COMMENT_MARKS)


def jekyll_text(markdown: str) -> str:
    """Every `{:` outside code written `\\{\\:`, so that kramdown shows it instead of
    reading an extension or attributes (Liquid is off in the front matter)."""
    return _escaped_outside_code(markdown, _KRAMDOWN_BRACES)


def _escaped_outside_code(markdown: str, marks: re.Pattern[str]) -> str:
    """Each character of every match of `marks` outside code blocks, code spans and
    autolinks escaped with a backslash, which CommonMark and kramdown read as the text."""
    if not marks.search(markdown):
        return markdown
    lines: list[str] = []
    prose: list[str] = []
    all_lines = markdown.split("\n")
    for line, is_code in zip(all_lines, fenced_lines(all_lines), strict=True):
        if not is_code:
            prose.append(line)
            continue
        if prose:
            lines.append(_escaped_in_prose("\n".join(prose), marks))
            prose.clear()
        lines.append(line)
    if prose:
        lines.append(_escaped_in_prose("\n".join(prose), marks))
    return "\n".join(lines)


def _escaped_in_prose(prose: str, marks: re.Pattern[str]) -> str:
    """The matches escaped outside code spans and autolinks: a run of n backticks opens a
    code span, up to the next run of exactly n; a backslash escapes the character after it."""
    out: list[str] = []
    done = 0
    i = 0
    while i < len(prose):
        char = prose[i]
        if char == "\\":
            i += 2
        elif char == "`":
            run = _BACKTICKS.match(prose, i)
            assert run is not None
            end = _closing_run(prose, run.end(), len(run[0]))
            i = end if end != -1 else run.end()
        elif char == "<" and (link := _AUTOLINK.match(prose, i)):
            i = link.end()
        elif found := marks.match(prose, i):
            out.append(prose[done:i])
            out.append("".join("\\" + c for c in found[0]))
            done = i = found.end()
        else:
            i += 1
    out.append(prose[done:])
    return "".join(out)


def _closing_run(text: str, start: int, length: int) -> int:
    """Where the run of exactly `length` backticks that closes a code span ends; -1 if none."""
    for run in _BACKTICKS.finditer(text, start):
        if len(run[0]) == length:
            return run.end()
    return -1


INERT: dict[str, Callable[[str], str]] = {
    "hugo": hugo_text,
    "jekyll": jekyll_text,
    "obsidian": obsidian_text,
}


def inert(flavor: Flavor, markdown: str) -> str:
    """The Markdown as the flavour's generator reads it as text only."""
    make_inert = INERT.get(flavor)
    return make_inert(markdown) if make_inert else markdown
