"""The state file: written sorted and only when it changed, set aside when damaged."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from archiver.archive.store import Archive
from archiver.models import FeedState

from .conftest import FIXED_NOW


def test_state_round_trip_and_no_rewrite_when_unchanged(tmp_path: Path) -> None:
    archive = Archive(tmp_path)
    states = {
        "b": FeedState(url="https://e.org/b", etag='"v1"', last_modified="Mon, 21 Jun 2021"),
        "a": FeedState(
            url="https://e.org/a",
            failing_since=datetime(2026, 11, 24, tzinfo=timezone.utc),
            last_error="HTTP 500",
        ),
    }
    assert archive.save_state(states) is True
    assert archive.load_state(FIXED_NOW) == (states, None)
    before = archive.state_path.stat().st_mtime_ns
    assert archive.save_state(dict(states)) is False
    assert archive.state_path.stat().st_mtime_ns == before
    document = json.loads(archive.state_path.read_text())
    assert list(document["feeds"]) == ["a", "b"]  # sorted, so diffs stay small
    assert "lock" in (tmp_path / ".archiver/.gitignore").read_text()


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"", b'{"version": 99, "feeds": {}}', b'{"version": 1, "feeds": {"a": 3}}'],
    ids=["garbage", "empty", "future-version", "wrong-shape"],
)
def test_damaged_state_is_set_aside_with_a_warning(tmp_path: Path, content: bytes) -> None:
    archive = Archive(tmp_path)
    archive.state_dir.mkdir()
    archive.state_path.write_bytes(content)
    states, warning = archive.load_state(FIXED_NOW)
    assert states == {}
    assert warning is not None and "damaged" in warning
    assert not archive.state_path.exists()
    assert (archive.state_dir / "state.json.corrupt-20261125T120000Z").read_bytes() == content
