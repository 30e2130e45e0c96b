"""What happens when a feed republishes an entry that is already archived (`on_update:`).

- keep (the default): the first version stays; the entry is not even converted again.
- overwrite: the file is rewritten in place, its front matter counting `revision: N`.
- revisions: the new version is written beside the first as `<name>.rev-N.md`; the first
  lists its revisions and each revision names the first (`revision_of`).

A version is new when its title or its Markdown body differs from the latest one
archived; the front matter alone (a date some feeds set to the time of the request)
does not count. An entry that changes on every fetch, a page with a clock in it,
stops being updated after MAX_REVISIONS versions.

A file is rewritten only while it is as archiver wrote it, which the digest its
catalog line records tells (catalog.Written). A file edited by hand keeps the edit, in
either mode: the new version goes beside it as a revision, and a note names the file.
A file with no digest (archived before they were kept) cannot be proven unedited, so
it counts as edited, unless it holds exactly what archiver writes for the version the
feed serves now: then it is archiver's own, and its digest is recorded. A run killed
between writing a file and its catalog line leaves such a file too.

Line endings do not count: Git's autocrlf turns LF into CRLF on a Windows checkout,
which is no edit, and overwriting such a file loses nothing a person wrote.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from archiver.archive.catalog import Written
from archiver.config.model import OnUpdate
from archiver.convert.frontmatter import read, render
from archiver.models import Document

MAX_REVISIONS = 10
REVISION_SUFFIX = ".rev-{number}.md"
_REVISION_NUMBER = re.compile(r"\.rev-([0-9]+)\.md$")


class ArchiveFiles(Protocol):
    """What an update reads of the archive (store.Archive)."""

    def read_file(self, relpath: str) -> str: ...

    def names_beside(self, relpath: str) -> list[str]: ...


@dataclass(frozen=True)
class Write:
    relpath: str
    text: str


@dataclass(frozen=True)
class Update:
    """The files to write for a republished entry, what the catalog is to record of it
    (None: nothing new), and a note for the run's report."""

    writes: tuple[Write, ...] = ()
    written: Written | None = None
    note: str | None = None


def _split(text: str) -> tuple[dict[str, Any], str]:
    """(front matter, body) of an archived file; an empty mapping when the header is broken."""
    front = read(text)
    return front.matter, front.body


def file_digest(text: str) -> str:
    """A file's text as archiver wrote it, line endings aside: the first 16 hex digits of
    its SHA-256 (as ids are), which no edit by hand matches but by a 2**-64 chance."""
    return _digest(_utf8(text))


def version_digest(document: Document) -> str:
    """What makes a version new (see _changed): its title and its body."""
    return _version_digest(document, _utf8(document.text))


def first_written(document: Document) -> Written:
    """What the catalog records of an entry archived for the first time. Every entry a
    run writes pays for it, so the text is encoded once for both digests."""
    data = _utf8(document.text)
    return Written(_digest(data), _version_digest(document, data))


def _version_digest(document: Document, data: bytes) -> str:
    body = data[4:].partition(b"\n---\n")[2].strip()
    # A title in JSON holds no line break: nothing in the body can pass for it.
    return _digest(json.dumps(document.title).encode() + b"\n" + body)


def _utf8(text: str) -> bytes:
    return _lf(text).encode("utf-8")


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n") if "\r" in text else text


def _changed(old: str, new: str) -> bool:
    (old_matter, old_body), (new_matter, new_body) = _split(old), _split(new)
    return old_body.strip() != new_body.strip() or old_matter.get("title") != new_matter.get(
        "title"
    )


def revision_names(relpath: str, names: Iterable[str]) -> list[str]:
    """The revisions of the entry at `relpath` among the file names beside it, oldest first."""
    stem = posixpath.basename(relpath).removesuffix(".md")
    numbered = []
    for name in names:
        match = _REVISION_NUMBER.search(name)
        if match and name[: match.start()] == stem:
            numbered.append((int(match.group(1)), name))
    return [name for _, name in sorted(numbered)]


def _revision_number(name: str) -> int:
    match = _REVISION_NUMBER.search(name)
    return int(match.group(1)) if match else 1


def as_archiver_writes(document: Document, revision: int) -> str:
    """The entry's file as archiver writes it when it holds `revision` of it in place."""
    if revision == 1:
        return document.text
    matter, body = _split(document.text)
    return render({**matter, "revision": revision}, body.strip("\n"))


def plan_update(
    mode: OnUpdate,
    document: Document,
    relpath: str,
    recorded: Written | None,
    files: ArchiveFiles,
) -> Update:
    """What to do when the feed serves `document` for the entry archived at `relpath`, of
    which the catalog records `recorded` (None: nothing)."""
    text = _lf(files.read_file(relpath))
    matter, body = _split(text)
    if not matter:
        return Update(note=f"{relpath}: front matter unreadable, left as it is")
    current = matter.get("revision")
    current = current if isinstance(current, int) and not isinstance(current, bool) else 1
    version = version_digest(document)
    as_written = recorded is not None and recorded.file == file_digest(text)
    if not as_written and text == as_archiver_writes(document, current):
        return Update(written=Written(file_digest(text), version))
    folder = posixpath.dirname(relpath)
    revisions = revision_names(relpath, files.names_beside(relpath))
    if revisions:  # the newest version is there: archiver never writes a revision again
        changed = _changed(
            _lf(files.read_file(posixpath.join(folder, revisions[-1]))), document.text
        )
    elif recorded is not None:  # compared by digest, as the file may be edited
        changed = recorded.version != version
    else:
        changed = _changed(text, document.text)
    if not changed:
        if recorded is not None and recorded.version != version:
            # A revision whose catalog line a killed run did not write.
            return Update(written=Written(recorded.file, version))
        return Update()
    number = max([current, *map(_revision_number, revisions)]) + 1
    if number > MAX_REVISIONS:
        return Update(note=f"{relpath} changed again; kept at {MAX_REVISIONS} versions (the cap)")
    if as_written and mode == "overwrite":
        rewritten = as_archiver_writes(document, number)
        return Update((Write(relpath, rewritten),), Written(file_digest(rewritten), version))
    first_name = posixpath.basename(relpath)
    name = first_name.removesuffix(".md") + REVISION_SUFFIX.format(number=number)
    new_matter, new_body = _split(document.text)
    revision = Write(
        posixpath.join(folder, name),
        render({**new_matter, "revision": number, "revision_of": first_name}, new_body.strip("\n")),
    )
    if as_written:  # revisions: the first version lists its revisions
        first = render({**matter, "revisions": [*revisions, name]}, body.strip("\n"))
        return Update((revision, Write(relpath, first)), Written(file_digest(first), version))
    if recorded is not None and recorded.file is not None:
        why = "edited by hand"
    else:
        why = "may hold edits by hand (archived before archiver recorded what it wrote)"
    return Update(
        (revision,),
        Written(recorded.file if recorded else None, version),
        f"{relpath}: {why}, so left as it is; the new version is beside it: {name}",
    )
