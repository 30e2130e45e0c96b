"""on_update: a feed served first with one version of an entry, then another."""

from __future__ import annotations

import errno
import io
import json
import posixpath
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from archiver.archive.catalog import Written
from archiver.archive.disk import REAL_DISK, Disk, FaultyDisk
from archiver.archive.store import Archive
from archiver.archive.updates import MAX_REVISIONS, file_digest, plan_update
from archiver.cli.main import main
from archiver.models import Document

from .conftest import FeedServer, write_config


def rss(text: str, channel: str = "t", title: str = "Story") -> bytes:
    return (
        f"<rss version='2.0'><channel><title>{channel}</title><item><title>{title}</title>"
        "<link>https://example.org/story</link><pubDate>Mon, 01 Jan 2024 10:00:00 GMT</pubDate>"
        f"<description>{text}</description></item></channel></rss>"
    ).encode()


def run(server: FeedServer, tmp_path: Path, body: bytes, mode: str) -> str:
    return run_cli(server, tmp_path, body, mode)[1]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run_cli(
    server: FeedServer,
    tmp_path: Path,
    body: bytes,
    mode: str,
    *args: str,
    tty: bool = False,
    disk: Disk = REAL_DISK,
) -> tuple[int, str, str]:
    """The real command against a feed served on loopback: (status, stdout, stderr)."""
    url = server.feed("/feed", body)
    config = write_config(
        tmp_path / "feeds.yaml", f"feeds:\n  - name: f\n    url: {url}\n    on_update: {mode}\n"
    )
    out, err = (Terminal(), Terminal()) if tty else (io.StringIO(), io.StringIO())
    code = main(
        ["run", "--config", str(config), "--output", str(tmp_path / "out"), *args],
        stdout=out,
        stderr=err,
        disk=disk,
    )
    return code, out.getvalue(), err.getvalue()


def run_ok(
    server: FeedServer, tmp_path: Path, body: bytes, mode: str, *args: str
) -> tuple[str, str]:
    """run_cli for a run that must succeed: (stdout, stderr)."""
    code, stdout, stderr = run_cli(server, tmp_path, body, mode, *args)
    assert code == 0, stderr
    return stdout, stderr


def files(tmp_path: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted((tmp_path / "out").rglob("story-*.md"))}


def split(text: str) -> tuple[dict[str, object], str]:
    header, _, body = text[4:].partition("\n---\n")
    return yaml.safe_load(header), body.strip()


def test_keep_leaves_the_first_version(server: FeedServer, tmp_path: Path) -> None:
    run(server, tmp_path, rss("First version."), "keep")
    first = files(tmp_path)
    stdout = run(server, tmp_path, rss("Second version."), "keep")
    assert files(tmp_path) == first
    assert "updated" not in stdout


def test_overwrite_rewrites_in_place(server: FeedServer, tmp_path: Path) -> None:
    run(server, tmp_path, rss("First version."), "overwrite")
    (name,) = files(tmp_path)
    stdout = run(server, tmp_path, rss("Second version."), "overwrite")
    assert stdout.splitlines() == [
        "f: 0 new, 1 already archived, 1 updated",
        "archiver: feeds: 1 ok, 0 not modified, 0 failed; "
        "entries: 0 new, 1 already archived, 1 updated",
    ]
    (same,) = files(tmp_path)
    assert same == name
    matter, body = split(files(tmp_path)[name])
    assert body == "Second version."
    assert matter["revision"] == 2


def test_revisions_are_written_beside_and_linked(server: FeedServer, tmp_path: Path) -> None:
    run(server, tmp_path, rss("First version."), "revisions")
    (name,) = files(tmp_path)
    run(server, tmp_path, rss("Second version."), "revisions")
    revision_name = name.removesuffix(".md") + ".rev-2.md"
    assert set(files(tmp_path)) == {name, revision_name}
    first_matter, first_body = split(files(tmp_path)[name])
    revision_matter, revision_body = split(files(tmp_path)[revision_name])
    assert first_body == "First version."
    assert first_matter["revisions"] == [revision_name]
    assert revision_body == "Second version."
    assert revision_matter["revision"] == 2
    assert revision_matter["revision_of"] == name


@pytest.mark.parametrize("mode", ["overwrite", "revisions"])
def test_an_unchanged_entry_is_never_written_again(
    server: FeedServer, tmp_path: Path, mode: str
) -> None:
    run(server, tmp_path, rss("Same text."), mode)
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "out").rglob("story-*.md")}
    catalog = (tmp_path / "out" / ".archiver" / "catalog.jsonl").read_bytes()
    stdout = run(server, tmp_path, rss("Same text.", channel="renamed"), mode)  # parsed again
    assert "updated" not in stdout
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "out").rglob("story-*.md")} == before
    # Nothing for Git to commit either.
    assert (tmp_path / "out" / ".archiver" / "catalog.jsonl").read_bytes() == catalog


@pytest.mark.parametrize("mode", ["overwrite", "revisions"])
def test_an_entry_that_always_changes_is_capped(
    server: FeedServer, tmp_path: Path, mode: str
) -> None:
    for minute in range(MAX_REVISIONS + 3):
        run(server, tmp_path, rss(f"The time is 10:{minute:02d}."), mode)
    versions = files(tmp_path)
    if mode == "overwrite":
        (text,) = versions.values()
        assert split(text)[0]["revision"] == MAX_REVISIONS
    else:
        assert len(versions) == MAX_REVISIONS


class FakeArchive:
    """Files by path, for plan_update (store.Archive reads them from disk)."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = files

    def read_file(self, relpath: str) -> str:
        return self.files.get(relpath, "")

    def names_beside(self, relpath: str) -> list[str]:
        folder = posixpath.dirname(relpath)
        return [posixpath.basename(p) for p in self.files if posixpath.dirname(p) == folder]


def test_hand_edited_revision_fields_do_not_break_an_update() -> None:
    archived = "---\ntitle: Story\nrevision: many\nrevisions: ../../etc/passwd\n---\n\nOld.\n"
    document = Document("0123456789abcdef", "x.md", "---\ntitle: Story\n---\n\nNew.\n", "Story", "")
    relpath = "2024/story-0123456789abcdef.md"
    for mode in ("overwrite", "revisions"):
        update = plan_update(mode, document, relpath, None, FakeArchive({relpath: archived}))
        assert update.writes
        assert all(w.relpath.startswith("2024/") for w in update.writes)


# --- hand edits: a file is rewritten only while it is as archiver wrote it ---


def first_file(tmp_path: Path) -> Path:
    """The entry's own file (its revisions aside)."""
    (path,) = [
        p for p in (tmp_path / "out").rglob("*-????????????????.md") if ".rev-" not in p.name
    ]
    return path


def revision_file(first: Path, number: int) -> Path:
    return first.with_name(first.name.removesuffix(".md") + f".rev-{number}.md")


def notes_naming(first: Path, stdout: str, stderr: str) -> list[str]:
    return [line for line in (stdout + stderr).splitlines() if first.name in line]


def note(tmp_path: Path, first: Path, revision: Path, why: str = "edited by hand") -> str:
    relpath = first.relative_to(tmp_path / "out").as_posix()
    return (
        f"archiver: feed 'f': warning: {relpath}: {why}, so left as it is; "
        f"the new version is beside it: {revision.name}"
    )


EDITS = {
    "a note appended": lambda text: text + "\nA note of mine.\n",
    "the title changed": lambda text: text.replace("title: Story\n", "title: My title\n", 1),
    "CRLF line endings and a note": lambda text: text.replace("\n", "\r\n") + "A note.\r\n",
}


@pytest.mark.parametrize("edit", EDITS.values(), ids=list(EDITS))
@pytest.mark.parametrize("mode", ["overwrite", "revisions"])
def test_a_hand_edit_is_kept_and_the_new_version_goes_beside(
    server: FeedServer, tmp_path: Path, mode: str, edit: Callable[[str], str]
) -> None:
    run(server, tmp_path, rss("First version."), mode)
    first = first_file(tmp_path)
    edited = edit(first.read_bytes().decode()).encode()
    first.write_bytes(edited)
    code, stdout, stderr = run_cli(server, tmp_path, rss("Second version."), mode)
    assert code == 0 and "1 updated" in stdout
    assert first.read_bytes() == edited
    revision = revision_file(first, 2)
    assert set(files(tmp_path)) == {first.name, revision.name}
    matter, body = split(revision.read_text())
    assert (matter["title"], body) == ("Story", "Second version.")
    assert (matter["revision"], matter["revision_of"]) == (2, first.name)
    assert notes_naming(first, stdout, stderr) == [note(tmp_path, first, revision)]


def test_an_edited_file_stays_through_later_versions(server: FeedServer, tmp_path: Path) -> None:
    run(server, tmp_path, rss("First version."), "overwrite")
    first = first_file(tmp_path)
    first.write_text(first.read_text() + "\nA note of mine.\n")
    edited = first.read_bytes()
    # The feed changes elsewhere, not this entry: nothing to say, nothing written.
    stdout, stderr = run_ok(server, tmp_path, rss("First version.", channel="x"), "overwrite")
    assert "updated" not in stdout and notes_naming(first, stdout, stderr) == []
    assert set(files(tmp_path)) == {first.name}
    run(server, tmp_path, rss("Second version."), "overwrite")
    stdout, stderr = run_ok(server, tmp_path, rss("Third version."), "overwrite")
    assert notes_naming(first, stdout, stderr) == [note(tmp_path, first, revision_file(first, 3))]
    assert split(revision_file(first, 3).read_text())[1] == "Third version."
    # The newest version served again is the newest revision: nothing more.
    stdout, stderr = run_ok(server, tmp_path, rss("Third version.", channel="y"), "overwrite")
    assert notes_naming(first, stdout, stderr) == [] and "updated" not in stdout
    assert first.read_bytes() == edited
    assert len(files(tmp_path)) == 3


def test_line_endings_alone_are_no_edit(server: FeedServer, tmp_path: Path) -> None:
    # Git's autocrlf turns LF into CRLF on a Windows checkout: the file is still archiver's.
    run(server, tmp_path, rss("First version."), "overwrite")
    first = first_file(tmp_path)
    first.write_bytes(first.read_bytes().replace(b"\n", b"\r\n"))
    stdout, stderr = run_ok(server, tmp_path, rss("Second version."), "overwrite")
    assert notes_naming(first, stdout, stderr) == [] and "1 updated" in stdout
    assert set(files(tmp_path)) == {first.name}
    matter, body = split(first.read_text())
    assert (matter["revision"], body) == (2, "Second version.")


def catalog_titles(tmp_path: Path) -> dict[str, str]:
    archive = Archive(tmp_path / "out")
    ids = archive.scan_ids(remove_temporary=False)
    return {
        e.path: e.title
        for e in archive.catalog.reconcile(archive.root, ids, persist=False).values()
    }


@pytest.mark.parametrize(
    ("mode", "edited"), [("overwrite", False), ("overwrite", True), ("revisions", False)]
)
def test_the_catalog_and_the_pages_show_the_current_title(
    server: FeedServer, tmp_path: Path, mode: str, edited: bool
) -> None:
    run(server, tmp_path, rss("First version.", title="Old title"), mode)
    first = first_file(tmp_path)
    if edited:
        first.write_text(first.read_text() + "\nA note of mine.\n")
    run(server, tmp_path, rss("Second version.", title="New title"), mode)
    relpath = first.relative_to(tmp_path / "out").as_posix()
    assert catalog_titles(tmp_path) == {relpath: "New title"}
    out = tmp_path / "out"
    pages = (out / "README.md", out / "2024/01/index.md")
    for page in pages:
        text = page.read_text()
        assert f"[New title]({relpath.removeprefix('2024/01/')})" in text or (
            f"[New title]({relpath})" in text
        )
        assert "Old title" not in text
    # A full rebuild agrees.
    config = tmp_path / "feeds.yaml"
    main(["index", "--config", str(config), "--output", str(out)], stdout=io.StringIO())
    assert all("New title" in page.read_text() for page in pages)


def forget_digests(tmp_path: Path) -> None:
    """The catalog as archiver wrote it before it kept digests."""
    catalog = tmp_path / "out" / ".archiver" / "catalog.jsonl"
    lines = [json.loads(line) for line in catalog.read_text().splitlines()]
    assert all("written" in line for line in lines)
    catalog.write_text("".join(json.dumps({**line, "written": None}) + "\n" for line in lines))


def test_a_file_without_digest_is_archivers_own_when_it_is_what_archiver_writes(
    server: FeedServer, tmp_path: Path
) -> None:
    run(server, tmp_path, rss("First version."), "overwrite")
    forget_digests(tmp_path)
    first = first_file(tmp_path)
    stdout, stderr = run_ok(server, tmp_path, rss("First version.", channel="x"), "overwrite")
    assert notes_naming(first, stdout, stderr) == [] and "updated" not in stdout
    stdout, stderr = run_ok(server, tmp_path, rss("Second version."), "overwrite")
    assert notes_naming(first, stdout, stderr) == [] and "1 updated" in stdout
    assert set(files(tmp_path)) == {first.name}
    assert split(first.read_text()) == (
        {**split(first.read_text())[0], "revision": 2},
        "Second version.",
    )


def test_a_file_without_digest_cannot_be_proven_unedited(
    server: FeedServer, tmp_path: Path
) -> None:
    run(server, tmp_path, rss("First version."), "overwrite")
    forget_digests(tmp_path)
    first = first_file(tmp_path)
    first.write_text(first.read_text() + "\nA note of mine.\n")
    edited = first.read_bytes()
    stdout, stderr = run_ok(server, tmp_path, rss("Second version."), "overwrite")
    why = "may hold edits by hand (archived before archiver recorded what it wrote)"
    assert notes_naming(first, stdout, stderr) == [
        note(tmp_path, first, revision_file(first, 2), why)
    ]
    assert first.read_bytes() == edited
    assert split(revision_file(first, 2).read_text())[1] == "Second version."


def drop_last_catalog_line(tmp_path: Path) -> None:
    """What a run killed between writing a file and its catalog line leaves."""
    catalog = tmp_path / "out" / ".archiver" / "catalog.jsonl"
    catalog.write_text("".join(catalog.read_text().splitlines(keepends=True)[:-1]))


@pytest.mark.parametrize("edited", [False, True])
def test_a_run_killed_before_the_catalog_line_leaves_nothing_to_redo(
    server: FeedServer, tmp_path: Path, edited: bool
) -> None:
    run(server, tmp_path, rss("First version."), "overwrite")
    first = first_file(tmp_path)
    if edited:
        first.write_text(first.read_text() + "\nA note of mine.\n")
    run(server, tmp_path, rss("Second version.", title="Story, again"), "overwrite")
    drop_last_catalog_line(tmp_path)
    relpath = first.relative_to(tmp_path / "out").as_posix()
    assert catalog_titles(tmp_path) == {relpath: "Story"}
    before = files(tmp_path)
    second = rss("Second version.", channel="x", title="Story, again")
    stdout, stderr = run_ok(server, tmp_path, second, "overwrite")
    # Neither taken for a hand edit nor written again: the line is recorded, that is all.
    assert notes_naming(first, stdout, stderr) == [] and "updated" not in stdout
    assert files(tmp_path) == before
    assert catalog_titles(tmp_path) == {relpath: "Story, again"}
    assert "[Story, again]" in (tmp_path / "out" / "README.md").read_text()
    stdout, stderr = run_ok(server, tmp_path, rss("Third version."), "overwrite")
    if edited:
        assert notes_naming(first, stdout, stderr) == [
            note(tmp_path, first, revision_file(first, 3))
        ]
    else:
        assert notes_naming(first, stdout, stderr) == []
        assert split(first.read_text())[0]["revision"] == 3


def test_a_failed_overwrite_leaves_the_file_and_the_next_run_writes_it_once(
    server: FeedServer, tmp_path: Path
) -> None:
    run(server, tmp_path, rss("First version."), "overwrite")
    first = first_file(tmp_path)
    original = first.read_bytes()
    failing = FaultyDisk("replace", code=errno.EIO, where=lambda target: target == first)
    code, _, stderr = run_cli(server, tmp_path, rss("Second version."), "overwrite", disk=failing)
    assert code == 1 and "Input/output error" in stderr
    assert first.read_bytes() == original
    lines = (tmp_path / "out" / ".archiver" / "catalog.jsonl").read_text().splitlines()
    assert len(lines) == 1
    code, stdout, stderr = run_cli(server, tmp_path, rss("Second version."), "overwrite")
    assert code == 0 and "1 updated" in stdout and notes_naming(first, stdout, stderr) == []
    assert set(files(tmp_path)) == {first.name}
    assert not list((tmp_path / "out").rglob(".archiver-tmp-*"))
    assert split(first.read_text())[1] == "Second version."


def test_the_note_reaches_json_logs_and_the_report(server: FeedServer, tmp_path: Path) -> None:
    run(server, tmp_path, rss("First version."), "overwrite")
    first = first_file(tmp_path)
    first.write_text(first.read_text() + "\nA note of mine.\n")
    report = tmp_path / "report.json"
    stdout, stderr = run_ok(
        server,
        tmp_path,
        rss("Second version."),
        "overwrite",
        "--log-format",
        "json",
        "--report",
        str(report),
    )
    expected = note(tmp_path, first, revision_file(first, 2)).split("warning: ", 1)[1]
    (feed,) = [json.loads(line) for line in stdout.splitlines() if '"event": "feed"' in line]
    assert feed["warnings"] == [expected] and feed["updated"] == 1 and stderr == ""
    assert json.loads(report.read_text())["feeds"][0]["warnings"] == [expected]


def test_a_dry_run_names_the_file_and_writes_nothing(server: FeedServer, tmp_path: Path) -> None:
    run(server, tmp_path, rss("First version."), "overwrite")
    first = first_file(tmp_path)
    first.write_text(first.read_text() + "\nA note of mine.\n")
    before = {p: p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file()}
    stdout, stderr = run_ok(server, tmp_path, rss("Second version."), "overwrite", "--dry-run")
    assert notes_naming(first, stdout, stderr) == [note(tmp_path, first, revision_file(first, 2))]
    after = {p: p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file()}
    assert after == before


def test_line_endings_alone_do_not_make_a_file_edited() -> None:
    document = Document("0123456789abcdef", "a.md", "---\ntitle: Story\n---\n\nNew.\n", "Story", "")
    archived = "---\ntitle: Story\n---\n\nOld.\n"
    assert file_digest(archived.replace("\n", "\r\n")) == file_digest(archived)
    assert file_digest(archived + "A note.\n") != file_digest(archived)
    relpath = "2024/a-0123456789abcdef.md"
    recorded = Written(file_digest(archived), "an older version")
    fake = FakeArchive({relpath: archived.replace("\n", "\r\n")})  # as a Windows checkout has it
    update = plan_update("overwrite", document, relpath, recorded, fake)
    assert update.note is None
    assert [(w.relpath, split(w.text)) for w in update.writes] == [
        (relpath, ({"title": "Story", "revision": 2}, "New."))
    ]


def test_the_note_shows_on_a_terminal(
    server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    run(server, tmp_path, rss("First version."), "overwrite")
    first = first_file(tmp_path)
    first.write_text(first.read_text() + "\nA note of mine.\n")
    code, stdout, _ = run_cli(server, tmp_path, rss("Second version."), "overwrite", tty=True)
    relpath = first.relative_to(tmp_path / "out").as_posix()
    (row,) = [line for line in stdout.splitlines() if line.startswith("f ")]
    assert code == 0 and f"{relpath}: edited by hand" in row
