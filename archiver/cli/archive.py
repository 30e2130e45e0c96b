"""The commands that read the archive: `index` (its pages), `status` (the feeds' health)
and `check --output` (its files)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TextIO

from archiver.archive.health import FeedStatus, feed_statuses
from archiver.archive.pages import DEFAULT_FORM, PageForm, page_form
from archiver.cli.common import (
    EXIT_FEED_FAILED,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_USAGE,
    Invocation,
    no_archive_at,
    no_feeds_yet,
)
from archiver.clock import utcnow
from archiver.config.load import load_config
from archiver.config.model import DEFAULT_CONFIG_PATH, Config
from archiver.errors import ConfigError, LockHeldError, StoreError
from archiver.report.console import error, say
from archiver.report.status import status_document, status_table
from archiver.text import plural


def index(args: argparse.Namespace, given: Invocation) -> int:
    from archiver.archive.pages import rebuild_pages
    from archiver.archive.store import Archive

    stdout, stderr = given.stdout, given.stderr
    if no_archive_at(args.output, stderr):
        return EXIT_USAGE
    try:
        form = _page_form(args.config)
    except ConfigError as exc:
        error(stderr, str(exc))
        return EXIT_USAGE
    try:
        archive = Archive(args.output)
        with archive.lock():
            changed = rebuild_pages(archive, archive.scan_ids(), form=form)
    except LockHeldError as exc:
        error(stderr, str(exc))
        return EXIT_LOCKED
    except StoreError as exc:
        error(stderr, str(exc))
        return EXIT_FEED_FAILED
    say(stdout, f"{args.output}: {plural(len(changed), 'index page')} written")
    return EXIT_OK


def _page_form(config_path: Path | None) -> PageForm:
    """The index pages' form, from the flavour of the configured feeds: those of the
    configuration named, else of feeds.yaml if there is one; else the default form."""
    if config_path is None:
        if not Path(DEFAULT_CONFIG_PATH).is_file():
            return DEFAULT_FORM
        config_path = Path(DEFAULT_CONFIG_PATH)
    return page_form(feed.flavor for feed in load_config(config_path).feeds)


def status(config: Config, args: argparse.Namespace, given: Invocation) -> int:
    stdout = given.stdout
    if config.feeds and no_archive_at(args.output, given.stderr):
        return EXIT_USAGE
    rows = _status_rows(config, args)
    if not rows and not args.json:
        say(stdout, f"{config.source}: {no_feeds_yet(config.source)}")
        return EXIT_OK
    if args.json:
        say(stdout, json.dumps(status_document(rows), ensure_ascii=False, indent=2))
        return EXIT_OK
    for line in status_table(rows):
        say(stdout, line)
    return EXIT_OK


def _status_rows(config: Config, args: argparse.Namespace) -> list[FeedStatus]:
    from archiver.archive.store import Archive

    archive = Archive(args.output)
    now = utcnow()
    states, _ = archive.load_state(now, set_aside=False)
    ids = archive.scan_ids(remove_temporary=False)
    catalog = archive.catalog.reconcile(archive.root, ids, persist=False)
    return feed_statuses(
        config.feeds,
        states,
        archive.health_of_every_shard(),
        catalog.values(),
        now=now,
        failing_days=args.failing_days,
        silent_days=args.silent_days,
    )


def check_archive(output: Path, stdout: TextIO, stderr: TextIO) -> int:
    """Every archived file of `output` read, the ones that do not read named."""
    from archiver.archive.store import Archive

    if no_archive_at(output, stderr):
        return EXIT_USAGE
    archive = Archive(output)
    damaged = 0
    for relpath, problem in archive.damaged_entries():
        damaged += 1
        error(stderr, f"{output / relpath}: {problem}")
    if damaged:
        files = plural(damaged, "archived file needs", "archived files need")
        say(stdout, f"{output}: {files} attention (never overwritten)")
        return EXIT_FEED_FAILED
    if not archive.scan_ids(remove_temporary=False):
        say(stdout, f"{output}: no archived files yet")
    else:
        say(stdout, f"{output}: every archived file reads")
    return EXIT_OK
