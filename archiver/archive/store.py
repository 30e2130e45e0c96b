"""The archive on disk: atomic files, the id index, the state file and the run lock.

Layout under the archive root DIR:

    DIR/<pattern>.md              the entries, file names ending in '<id>.md'
    DIR/README.md, YYYY/MM/index.md   the index pages (index.py)
    DIR/.archiver/state.json      validators and failures per feed (committed with the archive)
    DIR/.archiver/catalog.jsonl   a line per entry written, with its digests (catalog.py)
    DIR/.archiver/health.json     per-run facts per feed (health.py; ignored by Git)
    DIR/.archiver/lock            held by the running process (ignored by Git)
    DIR/.archiver/.gitignore

The files are the truth: the id index is read from their names at the start of a
run, so losing the state file costs a re-fetch, never a duplicate.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from archiver.archive.catalog import Catalog
from archiver.archive.disk import (
    REAL_DISK,
    TEMP_PREFIX,
    Disk,
    describe_os_error,
    flush_to_disk,
    write_atomic,
    write_if_changed,
)
from archiver.archive.health import HEALTH_FILE, encode_health, load_health
from archiver.archive.ids import IdSet
from archiver.archive.shard import Shard
from archiver.convert.frontmatter import read
from archiver.errors import LockHeldError, StoreError
from archiver.models import EARLIEST, FeedHealth, FeedState

STATE_DIR = ".archiver"
STATE_FILE = "state.json"
LOCK_FILE = "lock"
STATE_VERSION = 1
# Per-run data stays out of Git, so a quiet run gives a scheduled job nothing to commit.
STATE_GITIGNORE = f"{LOCK_FILE}*\nhealth*.json\n{TEMP_PREFIX}*\n"
LOCK_POLL_SECONDS = 0.2

_ID_IN_NAME = re.compile(r"([0-9a-f]{16})\.md$")


def id_from_name(name: str) -> str | None:
    match = _ID_IN_NAME.search(name)
    return match.group(1) if match else None


class Archive:
    """One archive folder: its entries, its state and its lock."""

    def __init__(self, root: Path, shard: Shard | None = None, *, disk: Disk = REAL_DISK) -> None:
        self.root = root
        self.shard = shard
        self.disk = disk  # the file system calls every write goes through
        suffix = shard.suffix if shard else ""
        self.state_dir = root / STATE_DIR
        self.state_path = self.state_dir / STATE_FILE.replace(".json", f"{suffix}.json")
        self.health_path = self.state_dir / HEALTH_FILE.replace(".json", f"{suffix}.json")
        self.lock_path = self.state_dir / f"{LOCK_FILE}{suffix}"
        self.catalog = Catalog(self.state_dir, suffix)
        self._folders: set[Path] = set()  # folders made (and checked) by this process

    # --- the id index -----------------------------------------------------

    def scan_ids(self, *, remove_temporary: bool = True) -> dict[str, str]:
        """Every archived id with its path relative to the root, from the file names
        (of two files with one id, the first in name order).

        Temporary files left by a killed run are removed on the way: their
        content was never renamed into place, so nothing vouches for them.
        """
        ids: dict[str, str] = {}
        for entry_id, relpath in self._files(remove_temporary=remove_temporary):
            ids.setdefault(entry_id, relpath)
        return ids

    def archived_ids(self, *, remove_temporary: bool = True) -> IdSet:
        """The ids of scan_ids without their paths, which a run needs but rarely."""
        return IdSet(entry_id for entry_id, _ in self._files(remove_temporary=remove_temporary))

    def remove_leftovers(self) -> None:
        """The temporary files a killed run left in the state folder. A run calls it
        before it writes there: the scan of the ids, in the writer's thread, runs while
        the run already saves its state, and must not take that file's temporary away."""
        if self.state_dir.is_dir():
            for leftover in self.state_dir.glob(f"{TEMP_PREFIX}*"):
                with contextlib.suppress(OSError):
                    leftover.unlink()

    def _files(self, *, remove_temporary: bool) -> Iterator[tuple[str, str]]:
        """(id, path relative to the root) of every archived file, in name order; with
        `remove_temporary`, the entries' temporary files a killed run left are removed
        (entries are written in the thread that scans them)."""
        if not self.root.is_dir():
            return
        for folder, dirnames, filenames in os.walk(self.root):
            # Hidden folders hold state and version control, never entries.
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            prefix = Path(os.path.relpath(folder, self.root)).as_posix() + "/"
            prefix = "" if prefix == "./" else prefix
            for name in sorted(filenames):
                if name.startswith(TEMP_PREFIX):
                    if remove_temporary:
                        with contextlib.suppress(OSError):
                            os.unlink(os.path.join(folder, name))
                    continue
                entry_id = id_from_name(name)
                if entry_id:
                    yield entry_id, prefix + name

    def damaged_entries(self) -> Iterator[tuple[str, str]]:
        """(path, problem) for every archived file whose front matter no longer reads.

        A run rewrites an archived file only under `on_update`, and only while it is
        as archiver wrote it (updates.py); this is how a person finds the ones that
        need their attention.
        """
        for entry_id, relpath in sorted(self.scan_ids(remove_temporary=False).items()):
            problem = _front_matter_problem(self.root / relpath, entry_id)
            if problem:
                yield relpath, problem

    # --- entries ------------------------------------------------------------

    def write_entries(self, files: Sequence[tuple[str, str]]) -> None:
        """Write entries, given as (path relative to the root, text): durable on return,
        each whole or absent whatever happens on the way.

        All are written under temporary names first, flushed to disk together
        (one syncfs where Linux has it, not one fsync per file: the most costly
        step of a cold run), then renamed into place and their folders synced.
        A crash leaves whole files and temporary ones, which the next run removes.
        """
        pending: dict[Path, Path] = {}  # temporary file → its target, until renamed
        current = self.root
        try:
            for relpath, text in files:
                current = self._entry_path(relpath)
                pending[self.disk.write_temporary(current, text.encode("utf-8"))] = current
            current = self.root
            flush_to_disk(list(pending), self.disk)
            for temporary, target in list(pending.items()):
                current = target
                self.disk.replace(temporary, target)
                del pending[temporary]
        except OSError as exc:
            raise StoreError(describe_os_error(exc, current)) from exc
        finally:
            for temporary in pending:
                with contextlib.suppress(OSError):
                    temporary.unlink()
        self._sync_folders(relpath for relpath, _ in files)

    def _entry_path(self, relpath: str) -> Path:
        """The file for `relpath`, its folder made; StoreError if it would lie outside
        the archive (through `..` or a link)."""
        path = self.root / relpath
        folder = path.parent
        if folder not in self._folders:
            if not folder.resolve().is_relative_to(self.root.resolve()) or path.name in ("..", "."):
                raise StoreError(f"refusing to write {relpath}: outside the archive {self.root}")
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(describe_os_error(exc, folder)) from exc
            self._folders.add(folder)
        return path

    def read_file(self, relpath: str) -> str:
        """An archived file (an entry, an index page) as it is; empty if it is not there or
        does not read (for an entry: as good as a broken header, left alone)."""
        try:
            return (self.root / relpath).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return ""

    def names_beside(self, relpath: str) -> list[str]:
        """The names of the files in the folder of `relpath` (its revisions among them)."""
        try:
            return os.listdir((self.root / relpath).parent)
        except OSError:
            return []

    def store_asset(self, relpath: str, data: bytes) -> str:
        """Keep a content-addressed file (an image) unless it is there already."""
        path = self.root / relpath
        if not path.exists():
            try:
                write_atomic(path, data, disk=self.disk)
            except OSError as exc:
                raise StoreError(describe_os_error(exc, path)) from exc
        return relpath

    def _sync_folders(self, relpaths: Iterable[str]) -> None:
        """Make the renames of freshly written entries durable."""
        folders = sorted({(self.root / relpath).parent for relpath in relpaths})
        try:
            flush_to_disk(folders, self.disk)
        except OSError as exc:
            raise StoreError(describe_os_error(exc, Path(exc.filename or self.root))) from exc

    # --- state ----------------------------------------------------------------

    def load_state(
        self, now: datetime, *, set_aside: bool = True
    ) -> tuple[dict[str, FeedState], str | None]:
        """The feeds' state, and a warning when the file cannot be used.

        Every shard's state is read (this run's own file last, so it wins): a run
        may follow runs that were sharded differently, or not at all.
        """
        states: dict[str, FeedState] = {}
        others = sorted(p for p in self.state_dir.glob("state*.json") if p != self.state_path)
        for path in others:
            with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
                states.update(_decode_state(path.read_bytes()))
        own, warning = self._load_own_state(now, set_aside=set_aside)
        return states | own, warning

    def _load_own_state(
        self, now: datetime, *, set_aside: bool
    ) -> tuple[dict[str, FeedState], str | None]:
        """A damaged state file is renamed with a timestamp rather than deleted, so a
        person can still look at it; the run goes on without it."""
        try:
            raw = self.state_path.read_bytes()
        except FileNotFoundError:
            return {}, None
        except OSError as exc:
            return {}, f"cannot read {self.state_path}: {exc.strerror}; starting without state"
        try:
            return _decode_state(raw), None
        except (ValueError, TypeError, KeyError) as exc:
            damage = f"state file {self.state_path} is damaged ({exc})"
            if not set_aside:
                return {}, f"{damage}; ignoring it"
            aside = self.state_path.with_name(
                f"{self.state_path.name}.corrupt-{now.strftime('%Y%m%dT%H%M%SZ')}"
            )
            with contextlib.suppress(OSError):
                os.replace(self.state_path, aside)
            return {}, (
                f"{damage}; moved to {aside.name}, "
                "ids are rebuilt from the archive and every feed is fetched in full"
            )

    def save_state(self, states: Mapping[str, FeedState]) -> bool:
        """Write the state; a shard writes only the feeds it holds."""
        if self.shard is not None:
            shard = self.shard
            states = {name: s for name, s in states.items() if shard.holds(s.url)}
        try:
            write_if_changed(
                self.state_dir / ".gitignore", STATE_GITIGNORE.encode(), disk=self.disk
            )
            return write_if_changed(self.state_path, _encode_state(states), disk=self.disk)
        except OSError as exc:
            raise StoreError(describe_os_error(exc, self.state_path)) from exc

    # --- health and pages ---------------------------------------------------------

    def load_health(self) -> dict[str, FeedHealth]:
        return load_health(self.health_path)

    def health_of_every_shard(self) -> dict[str, FeedHealth]:
        """The health of every feed from every shard's file and the unsharded one, as
        `archiver status` shows it: of two records of a feed, the later attempt's (the
        archive may have been run sharded, then not, or sharded differently)."""
        merged: dict[str, FeedHealth] = {}
        for path in sorted(self.state_dir.glob(HEALTH_FILE.replace(".json", "*.json"))):
            for name, health in load_health(path).items():
                known = merged.get(name)
                later = known is None or (
                    (health.last_attempt or EARLIEST) > (known.last_attempt or EARLIEST)
                )
                if later:
                    merged[name] = health
        return merged

    def save_health(self, health: Mapping[str, FeedHealth]) -> None:
        try:
            write_if_changed(self.health_path, encode_health(health), disk=self.disk)
        except OSError as exc:
            raise StoreError(describe_os_error(exc, self.health_path)) from exc

    def write_pages(self, pages: Mapping[str, str]) -> list[str]:
        """Write the index pages whose text changed; the paths written."""
        written = []
        for relpath, text in sorted(pages.items()):
            path = self.root / relpath
            try:
                if write_if_changed(path, text.encode("utf-8"), disk=self.disk):
                    written.append(relpath)
            except OSError as exc:
                raise StoreError(describe_os_error(exc, path)) from exc
        return written

    # --- the lock ---------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, wait: float = 0.0) -> Iterator[None]:
        """Hold the archive's lock for the duration; LockHeldError if another run keeps it
        for longer than `wait` seconds.

        flock is released by the kernel when the process dies, so a killed run
        never leaves a lock behind that blocks the next one.
        """
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            handle: IO[str] = open(self.lock_path, "a+")  # noqa: SIM115
        except OSError as exc:
            raise StoreError(describe_os_error(exc, self.lock_path)) from exc
        try:
            deadline = time.monotonic() + wait
            while not _try_lock(handle):
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    waited = f" after waiting {wait:g} s" if wait else ""
                    raise LockHeldError(
                        f"another run holds the lock on {self.root} ({holder}){waited}; "
                        "it is still archiving, try again when it ends (or use --wait)"
                    )
                time.sleep(LOCK_POLL_SECONDS)
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()}\n")
            handle.flush()
            yield
        finally:
            handle.close()


def _try_lock(handle: IO[str]) -> bool:
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _front_matter_problem(path: Path, entry_id: str) -> str | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return f"cannot be read: {exc}"
    front = read(text)
    if front.problem:
        return front.problem
    matter = front.matter
    if matter.get("id") != entry_id:
        return f"front matter id {matter.get('id')!r} does not match the file name's {entry_id}"
    return None


def _encode_state(states: Mapping[str, FeedState]) -> bytes:
    feeds: dict[str, Any] = {}
    for name in sorted(states):
        feeds[name] = states[name].record()
    document = {"version": STATE_VERSION, "feeds": feeds}
    return (json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode()


def _decode_state(raw: bytes) -> dict[str, FeedState]:
    document = json.loads(raw)
    if not isinstance(document, dict) or document.get("version") != STATE_VERSION:
        raise ValueError(f"expected a version {STATE_VERSION} state document")
    states = {}
    for name, record in document["feeds"].items():
        if not isinstance(record, dict) or not isinstance(record.get("url"), str):
            raise ValueError(f"feed {name!r} has no url")
        states[name] = FeedState.from_record(record)
    return states
