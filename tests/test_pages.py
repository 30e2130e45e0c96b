from __future__ import annotations

import posixpath
import re
from collections import Counter
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from archiver.archive.pages import (
    DEFAULT_FORM,
    NEWEST_ON_FRONT_PAGE,
    PAGE_FORMS,
    ROOT_PAGE,
    _link,
    _relative,
    month_counts,
    page_form,
    render_pages,
)
from archiver.models import CatalogEntry

SEGMENTS = st.sampled_from(["2024", "01", "20", "blog", "a b-0123456789abcdef.md", ".", ".."])


@given(st.lists(SEGMENTS, min_size=1, max_size=5), st.sampled_from(["", "2024/01", "2023/12"]))
def test_links_from_a_page_are_what_posixpath_makes(segments: list[str], folder: str) -> None:
    # Entries below the page's folder take a shortcut; the rest (a path pattern
    # without dates, `..` in a hand-made catalog) must come out the same.
    target = "/".join(segments)
    assert _relative(target, folder) == posixpath.relpath(target, folder or ".")


# Characters quote() keeps, and some it does not, so that names of both kinds and mixed
# ones all come up.
PATH_CHARACTERS = st.sampled_from([*"aZ09_.~/-", " ", "%", "?", "#", "(", "]", "\x00", "é", "中"])


@given(st.text(PATH_CHARACTERS) | st.text(), st.sampled_from(["", "2024/01"]))
def test_links_are_quoted_as_quote_does(name: str, folder: str) -> None:
    # Paths of plain characters skip quote(): the rest must come out as it makes them.
    target = f"2024/01/{name}"
    expected = f"[t]({quote(_relative(target, folder))})"
    assert _link("t", target, folder) == expected


CATALOG = st.lists(
    st.builds(
        lambda n, day, feed, title: CatalogEntry(
            f"{n:016x}", f"2024/{day[5:7]}/{day[8:10]}/e-{n:016x}.md", title, feed, day
        ),
        st.integers(0, 2**40),
        st.sampled_from(["2024-01-01T00:00:00+00:00", "2024-01-01T00:00:00+08:00", "2024-02-29"]),
        st.sampled_from(["f", "g"]),
        st.text(alphabet="abc ", max_size=5),
    ),
    # Past the front page's 50, so the newest must be picked from more.
    min_size=NEWEST_ON_FRONT_PAGE - 5,
    max_size=90,
    unique_by=lambda e: e.id,
)


@given(CATALOG)
def test_a_month_rendered_alone_is_the_month_rendered_with_all(entries: list[CatalogEntry]) -> None:
    everything = render_pages(entries)
    january = render_pages(entries, {"2024-01"})
    assert set(january) <= {ROOT_PAGE, "2024/01/index.md"}
    assert january == {page: everything[page] for page in january}


@given(CATALOG)
def test_the_front_page_lists_the_newest_first(entries: list[CatalogEntry]) -> None:
    newest = sorted(entries, key=lambda e: (e.instant, e.path), reverse=True)[:NEWEST_ON_FRONT_PAGE]
    front = render_pages(entries)[ROOT_PAGE].split("## Feeds")[0]
    assert re.findall(r"\(([^)]+\.md)\)", front) == [e.path for e in newest]
    assert month_counts(render_pages(entries)[ROOT_PAGE]) == dict(
        Counter(e.date[:7] for e in entries)
    )


def test_pages_take_the_form_of_the_flavour_every_feed_has() -> None:
    assert page_form(["hugo", "hugo"]) == PAGE_FORMS["hugo"]
    assert page_form(["hugo", "default"]) == DEFAULT_FORM  # not one site: GitHub's pages
    assert page_form(["obsidian"]).root == ROOT_PAGE  # a vault reads README.md as a note
    assert {page_form([f]).month for f in ("hugo", "hexo", "jekyll")} == {"_index.md"}


def test_hugo_pages_are_titled_section_pages_whose_text_is_inert() -> None:
    entries = [
        CatalogEntry("a" * 16, "2024/01/02/a.md", "{{% notice %}} {{< x >}}", "f", "2024-01-02"),
        CatalogEntry("b" * 16, "2024/02/03/b.md", "b", "f", "2024-02-03"),
    ]
    pages = render_pages(entries, form=PAGE_FORMS["hugo"])
    assert set(pages) == {"_index.md", "2024/01/_index.md", "2024/02/_index.md"}
    assert pages["2024/01/_index.md"].startswith("---\ntitle: 2024-01\n---\n\n# 2024-01\n")
    assert pages["_index.md"].startswith("---\ntitle: Archive\n---\n")
    assert "[All months](../../_index.md)" in pages["2024/01/_index.md"]
    assert "[2024-02](2024/02/_index.md) | 1 |" in pages["_index.md"]
    assert month_counts(pages["_index.md"]) == {"2024-01": 1, "2024-02": 1}
    # The table escapes `<` as Markdown; Hugo reads `{{%` before Markdown does.
    assert "[{{%/* notice */%}} {{\\< x \\>}}](02/a.md)" in pages["2024/01/_index.md"]
    february = render_pages(entries, {"2024-02"}, PAGE_FORMS["hugo"])["2024/02/_index.md"]
    assert february == pages["2024/02/_index.md"]
