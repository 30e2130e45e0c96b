"""What happens when a feed republishes an entry that is already archived (`on_update:`).

- keep (the default): the first version stays; the entry is not even converted again.
- overwrite: the file is rewritten in place, its front matter counting `revision: N`.
- revisions: the new version is written beside the first as `<name>.rev-N.md`; the first
  lists its revisions and each revision names the first (`revision_of`).

A version is new when its title or its Markdown body differs from the latest one
archived; the front matter alone (a date some feeds set to the time of the request)
does not count. An entry that changes on every fetch, a page with a clock in it,
stops being updated after MAX_REVISIONS versions.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

import yaml

from archiver.frontmatter import render
from archiver.models import Document

MAX_REVISIONS = 10
REVISION_SUFFIX = ".rev-{number}.md"


@dataclass(frozen=True)
class Write:
    relpath: str
    text: str


def split(text: str) -> tuple[dict[str, Any], str]:
    """(front matter, body) of an archived file; an empty mapping when the header is broken."""
    if not text.startswith("---\n"):
        return {}, text
    header, _, body = text[4:].partition("\n---\n")
    try:
        matter = yaml.safe_load(header)
    except yaml.YAMLError:
        return {}, body
    return (matter if isinstance(matter, dict) else {}), body


def _changed(old: str, new: str) -> bool:
    (old_matter, old_body), (new_matter, new_body) = split(old), split(new)
    return old_body.strip() != new_body.strip() or old_matter.get("title") != new_matter.get(
        "title"
    )


def plan_update(
    mode: str, document: Document, relpath: str, read: Any
) -> tuple[list[Write], str | None]:
    """The files to write for a republished entry archived at `relpath`, and a note when
    it is capped. `read(relpath)` gives an archived file's text."""
    original = read(relpath)
    matter, body = split(original)
    if not matter:
        return [], f"{relpath}: front matter unreadable, left as it is"
    listed = matter.get("revisions")
    # Only names in the entry's own folder: the list may have been edited by hand.
    revisions = [posixpath.basename(str(r)) for r in listed] if isinstance(listed, list) else []
    folder = posixpath.dirname(relpath)
    latest = read(posixpath.join(folder, revisions[-1])) if revisions else original
    if not _changed(latest, document.text):
        return [], None
    current = matter.get("revision")
    current = current if isinstance(current, int) and not isinstance(current, bool) else 1
    number = current + 1 if mode == "overwrite" else len(revisions) + 2
    if number > MAX_REVISIONS:
        return [], f"{relpath} changed again; kept at {MAX_REVISIONS} versions (the cap)"
    new_matter, new_body = split(document.text)
    if mode == "overwrite":
        return [
            Write(relpath, render({**new_matter, "revision": number}, new_body.strip("\n")))
        ], None
    name = posixpath.basename(relpath).removesuffix(".md") + REVISION_SUFFIX.format(number=number)
    revision = render(
        {**new_matter, "revision": number, "revision_of": posixpath.basename(relpath)},
        new_body.strip("\n"),
    )
    first = render({**matter, "revisions": [*revisions, name]}, body.strip("\n"))
    return [Write(posixpath.join(folder, name), revision), Write(relpath, first)], None
