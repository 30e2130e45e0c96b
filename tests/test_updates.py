"""on_update (issue 7): a feed served first with one version of an entry, then another."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml

from archiver.cli import main
from archiver.models import Document
from archiver.updates import MAX_REVISIONS, plan_update

from .conftest import FeedServer, write_config


def rss(text: str, channel: str = "t") -> bytes:
    return (
        f"<rss version='2.0'><channel><title>{channel}</title><item><title>Story</title>"
        "<link>https://example.org/story</link><pubDate>Mon, 01 Jan 2024 10:00:00 GMT</pubDate>"
        f"<description>{text}</description></item></channel></rss>"
    ).encode()


def run(server: FeedServer, tmp_path: Path, body: bytes, mode: str) -> str:
    url = server.feed("/feed", body)
    config = write_config(
        tmp_path / "feeds.yaml", f"feeds:\n  - name: f\n    url: {url}\n    on_update: {mode}\n"
    )
    out = io.StringIO()
    main(
        ["run", "--config", str(config), "--output", str(tmp_path / "out")],
        stdout=out,
        stderr=io.StringIO(),
    )
    return out.getvalue()


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
    stdout = run(server, tmp_path, rss("Same text.", channel="renamed"), mode)  # parsed again
    assert "updated" not in stdout
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "out").rglob("story-*.md")} == before


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


def test_hand_edited_revision_fields_do_not_break_an_update() -> None:
    archived = "---\ntitle: Story\nrevision: many\nrevisions: ../../etc/passwd\n---\n\nOld.\n"
    document = Document("0123456789abcdef", "x.md", "---\ntitle: Story\n---\n\nNew.\n", "Story", "")
    for mode in ("overwrite", "revisions"):
        writes, note = plan_update(
            mode, document, "2024/story-0123456789abcdef.md", lambda _: archived
        )
        assert note is None
        assert all(w.relpath.startswith("2024/") for w in writes)
