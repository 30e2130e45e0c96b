"""The state file: per feed, the validators of its last fetch and its failures.

It is committed with the archive (`.archiver/state.json`, or a shard's own
`state.shard-K-of-N.json`), sorted so that its diffs stay small. Losing it costs
a full fetch of every feed, never a duplicate: the archived ids come from the files.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from archiver.models import FeedState

STATE_FILE = "state.json"
STATE_VERSION = 1


def load_states(
    own: Path, others: Iterable[Path], now: datetime, *, set_aside: bool = True
) -> tuple[dict[str, FeedState], str | None]:
    """The feeds' state, and a warning when the file `own` cannot be used.

    The `others` (other shards' files) are read first and `own` last, so it wins: a
    run may follow runs that were sharded differently, or not at all.
    """
    states: dict[str, FeedState] = {}
    for path in others:
        with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
            states.update(decode_states(path.read_bytes()))
    mine, warning = _load_own(own, now, set_aside=set_aside)
    return states | mine, warning


def _load_own(
    path: Path, now: datetime, *, set_aside: bool
) -> tuple[dict[str, FeedState], str | None]:
    """A damaged state file is renamed with a timestamp rather than deleted, so a
    person can still look at it; the run goes on without it."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}, None
    except OSError as exc:
        return {}, f"cannot read {path}: {exc.strerror}; starting without state"
    try:
        return decode_states(raw), None
    except (ValueError, TypeError, KeyError) as exc:
        damage = f"state file {path} is damaged ({exc})"
        if not set_aside:
            return {}, f"{damage}; ignoring it"
        aside = path.with_name(f"{path.name}.corrupt-{now.strftime('%Y%m%dT%H%M%SZ')}")
        with contextlib.suppress(OSError):
            os.replace(path, aside)
        return {}, (
            f"{damage}; moved to {aside.name}, "
            "ids are rebuilt from the archive and every feed is fetched in full"
        )


def encode_states(states: Mapping[str, FeedState]) -> bytes:
    feeds: dict[str, Any] = {}
    for name in sorted(states):
        feeds[name] = states[name].record()
    document = {"version": STATE_VERSION, "feeds": feeds}
    return (json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode()


def decode_states(raw: bytes) -> dict[str, FeedState]:
    document = json.loads(raw)
    if not isinstance(document, dict) or document.get("version") != STATE_VERSION:
        raise ValueError(f"expected a version {STATE_VERSION} state document")
    states = {}
    for name, record in document["feeds"].items():
        if not isinstance(record, dict) or not isinstance(record.get("url"), str):
            raise ValueError(f"feed {name!r} has no url")
        states[name] = FeedState.from_record(record)
    return states
