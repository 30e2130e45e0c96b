"""The archive on disk: one folder, its entries, its state and its lock.

Layout under the archive root DIR:

    DIR/<pattern>.md              the entries, file names ending in '<id>.md' (ids.py)
    DIR/README.md, YYYY/MM/index.md   the pages (pages.py)
    DIR/.archiver/state.json      validators and failures per feed (state.py; committed)
    DIR/.archiver/catalog.jsonl   a line per entry written, with its digests (catalog.py)
    DIR/.archiver/health.json     per-run facts per feed (health.py; ignored by Git)
    DIR/.archiver/lock            held by the running process (lock.py; ignored by Git)
    DIR/.archiver/.gitignore

Entries, state, health and pages are written through the archive's `Disk` (disk.py),
each whole or not at all; the catalog is appended to (catalog.py).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path

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
from archiver.archive.health import HEALTH_FILE, encode_health, latest_health, load_health
from archiver.archive.ids import IdSet, archived_files
from archiver.archive.lock import LOCK_FILE, hold_lock
from archiver.archive.shard import Shard
from archiver.archive.state import STATE_FILE, encode_states, load_states
from archiver.convert.frontmatter import read
from archiver.errors import StoreError
from archiver.models import FeedHealth, FeedState

STATE_DIR = ".archiver"
# Per-run data stays out of Git, so a quiet run gives a scheduled job nothing to commit.
STATE_GITIGNORE = f"{LOCK_FILE}*\nhealth*.json\n{TEMP_PREFIX}*\n"


class Archive:
    """One archive folder: its entries, its state and its lock, written through `disk`."""

    def __init__(self, root: Path, shard: Shard | None = None, *, disk: Disk = REAL_DISK) -> None:
        self.root = root
        self.shard = shard
        self.disk = disk
        suffix = shard.suffix if shard else ""
        self.state_dir = root / STATE_DIR
        self.state_path = self.state_dir / STATE_FILE.replace(".json", f"{suffix}.json")
        self.health_path = self.state_dir / HEALTH_FILE.replace(".json", f"{suffix}.json")
        self.lock_path = self.state_dir / f"{LOCK_FILE}{suffix}"
        self.catalog = Catalog(self.state_dir, suffix)
        self._folders: set[Path] = set()  # folders made (and checked) by this process

    # --- the archived ids -------------------------------------------------------

    def scan_ids(self, *, remove_temporary: bool = True) -> dict[str, str]:
        """Every archived id with its path relative to the root, from the file names
        (of two files with one id, the first in name order); the temporary files a
        killed run left among the entries are removed on the way."""
        ids: dict[str, str] = {}
        for entry_id, relpath in archived_files(self.root, remove_temporary=remove_temporary):
            ids.setdefault(entry_id, relpath)
        return ids

    def archived_ids(self, *, remove_temporary: bool = True) -> IdSet:
        """The ids of scan_ids without their paths, which a run needs but rarely."""
        files = archived_files(self.root, remove_temporary=remove_temporary)
        return IdSet(entry_id for entry_id, _ in files)

    def remove_leftovers(self) -> None:
        """The temporary files a killed run left in the state folder. A run calls it
        before it writes there: the scan of the ids, in the writer's thread, runs while
        the run already saves its state, and must not take that file's temporary away."""
        if self.state_dir.is_dir():
            for leftover in self.state_dir.glob(f"{TEMP_PREFIX}*"):
                with contextlib.suppress(OSError):
                    leftover.unlink()

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
        """An archived file (an entry, a page) as it is; empty if it is not there or
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

    # --- state, health and pages ------------------------------------------------

    def load_state(
        self, now: datetime, *, set_aside: bool = True
    ) -> tuple[dict[str, FeedState], str | None]:
        """The feeds' state from every shard's file, this run's own last (it wins), and a
        warning when that one cannot be used (set aside, unless not `set_aside`)."""
        others = sorted(p for p in self.state_dir.glob("state*.json") if p != self.state_path)
        return load_states(self.state_path, others, now, set_aside=set_aside)

    def save_state(self, states: Mapping[str, FeedState]) -> bool:
        """Write the state; a shard writes only the feeds it holds."""
        if self.shard is not None:
            shard = self.shard
            states = {name: s for name, s in states.items() if shard.holds(s.url)}
        try:
            write_if_changed(
                self.state_dir / ".gitignore", STATE_GITIGNORE.encode(), disk=self.disk
            )
            return write_if_changed(self.state_path, encode_states(states), disk=self.disk)
        except OSError as exc:
            raise StoreError(describe_os_error(exc, self.state_path)) from exc

    def load_health(self) -> dict[str, FeedHealth]:
        return load_health(self.health_path)

    def health_of_every_shard(self) -> dict[str, FeedHealth]:
        """The health of every feed from every shard's file and the unsharded one, as
        `archiver status` shows it (health.latest_health)."""
        paths = sorted(self.state_dir.glob(HEALTH_FILE.replace(".json", "*.json")))
        return latest_health(map(load_health, paths))

    def save_health(self, health: Mapping[str, FeedHealth]) -> None:
        try:
            write_if_changed(self.health_path, encode_health(health), disk=self.disk)
        except OSError as exc:
            raise StoreError(describe_os_error(exc, self.health_path)) from exc

    def write_pages(self, pages: Mapping[str, str]) -> list[str]:
        """Write the pages whose text changed; the paths written."""
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

    def lock(self, wait: float = 0.0) -> contextlib.AbstractContextManager[None]:
        """Hold the archive's lock while in the `with`; LockHeldError if another run keeps
        it for longer than `wait` seconds (lock.py)."""
        return hold_lock(self.lock_path, self.root, wait)


def _front_matter_problem(path: Path, entry_id: str) -> str | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return f"cannot be read: {exc}"
    front = read(text)
    if front.problem:
        return front.problem
    found = front.matter.get("id")
    if found != entry_id:
        return f"front matter id {found!r} does not match the file name's {entry_id}"
    return None
