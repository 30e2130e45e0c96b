"""The command line's arguments: every command, option and default, and the help."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeAlias

from archiver.about import __version__
from archiver.archive.health import DEFAULT_FAILING_DAYS, DEFAULT_SILENT_DAYS
from archiver.archive.shard import Shard
from archiver.config.model import DEFAULT_CONFIG_PATH, DEFAULT_MAX_PAGES, DEFAULT_OUTPUT_DIR

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _positive(kind: type[float] | type[int]) -> argparse._ActionType:
    def parse(text: str) -> float | int:
        value = kind(text)
        if value < 0:
            raise argparse.ArgumentTypeError(f"expected a number of at least 0, got {text}")
        return value

    return parse


def _shard(text: str) -> Shard:
    try:
        return Shard.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CONFIG_PATH,
        metavar="PATH",
        help="the list of feeds (default: %(default)s)",
    )


def _output_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT_DIR,
        metavar="DIR",
        help="the archive's folder (default: %(default)s)",
    )


def _since(text: str) -> datetime:
    """--since: a date (YYYY-MM-DD) or an ISO 8601 time; UTC unless it says otherwise."""
    try:
        moment = datetime.fromisoformat(text.strip())
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a date such as 2020-01-31 (or an ISO 8601 time), got {text!r}"
        ) from None


def _backfill_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-pages",
        type=_positive(int),
        default=DEFAULT_MAX_PAGES,
        metavar="N",
        help="fetch at most N pages per feed and source (default %(default)s); "
        "the next backfill goes on from there",
    )
    parser.add_argument(
        "--since", type=_since, metavar="DATE", help="stop at entries older than DATE"
    )
    parser.add_argument(
        "--wayback",
        action="store_true",
        help="also the feed's snapshots in the Wayback Machine (wayback_url)",
    )


def _backfill_parser(commands: Commands) -> None:
    backfill = _command_parser(
        commands,
        "backfill",
        "archive the feeds' past entries: RFC 5005 archives, paged feeds, WordPress, Blogger",
    )
    _config_option(backfill)
    _output_option(backfill)
    backfill.add_argument(
        "--feed", action="append", default=[], metavar="NAME", help="only this feed (repeatable)"
    )
    _backfill_options(backfill)
    backfill.add_argument("--dry-run", action="store_true", help="fetch, parse; write nothing")
    backfill.add_argument(
        "--report", type=Path, metavar="PATH", help="write a JSON report per feed and source here"
    )
    backfill_loudness = backfill.add_mutually_exclusive_group()
    backfill_loudness.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    backfill_loudness.add_argument(
        "-v", "--verbose", action="store_true", help="a line per entry too"
    )


def _command_parser(commands: Commands, name: str, summary: str) -> argparse.ArgumentParser:
    """A subcommand whose --help starts with the line the top-level help lists it by."""
    description = summary[0].upper() + summary[1:] + "."
    return commands.add_parser(name, help=summary, description=description)


def argument_parser() -> argparse.ArgumentParser:
    """The `archiver` command's arguments, each subcommand's with its help, the commands
    in the order the help lists them."""
    parser = argparse.ArgumentParser(
        prog="archiver",
        description="Archive RSS, Atom, RDF and JSON feeds as Markdown files.",
        epilog="Exit status: 0 all feeds fetched, 1 some feed failed, 2 usage or config "
        "error, 3 another run holds the archive's lock, 130 or 143 stopped by Ctrl-C or "
        "SIGTERM. Start with `archiver init`, then `archiver add URL`.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _init_parser(commands)
    _run_parser(commands)
    _backfill_parser(commands)
    _subscription_parsers(commands)
    _index_parser(commands)
    _check_parser(commands)
    _status_parser(commands)
    return parser


def _init_parser(commands: Commands) -> None:
    init = _command_parser(
        commands, "init", "write a commented feeds.yaml to start from (never overwrites one)"
    )
    _config_option(init)


def _run_parser(commands: Commands) -> None:
    run = _command_parser(commands, "run", "fetch the feeds and archive new entries")
    _config_option(run)
    _output_option(run)
    run.add_argument(
        "--feed", action="append", default=[], metavar="NAME", help="only this feed (repeatable)"
    )
    run.add_argument("--dry-run", action="store_true", help="fetch, parse, convert; write nothing")
    run.add_argument(
        "--wait",
        type=_positive(float),
        default=0.0,
        metavar="SECONDS",
        help="wait this long for another run's lock instead of exiting with status 3",
    )
    run.add_argument(
        "--report", type=Path, metavar="PATH", help="write a JSON report of the run here"
    )
    run.add_argument(
        "--fail-after",
        type=_positive(int),
        default=1,
        metavar="N",
        help="exit with status 1 only for feeds that have failed N runs in a row (default 1)",
    )
    loudness = run.add_mutually_exclusive_group()
    loudness.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    loudness.add_argument("-v", "--verbose", action="store_true", help="a line per entry too")
    run.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="json: one JSON object per line, for log collectors (default: %(default)s)",
    )
    run.add_argument(
        "--shard",
        type=_shard,
        metavar="K/N",
        help="archive only the feeds of shard K of N (by URL hash), for parallel jobs",
    )
    run.add_argument(
        "--apply-redirects",
        action="store_true",
        help="after the run, replace the url of feeds that moved permanently, in the config",
    )


def _subscription_parsers(commands: Commands) -> None:
    add = _command_parser(
        commands,
        "add",
        "add a feed, or the feed a web page advertises; creates the config if there is none",
    )
    add.add_argument("url", metavar="URL", help="a feed, or a web page that advertises one")
    _config_option(add)
    add.add_argument("--name", metavar="NAME", help="default: from the feed's title")
    add.add_argument(
        "--category", action="append", default=[], metavar="C", help="a category (repeatable)"
    )
    add.add_argument("--pick", type=int, metavar="K", help="which of several feeds found (1..)")
    add.add_argument(
        "--backfill", action="store_true", help="then archive the feed's past entries as well"
    )
    _output_option(add)
    _backfill_options(add)

    remove = _command_parser(commands, "remove", "remove a feed from the config")
    remove.add_argument("name", metavar="NAME")
    _config_option(remove)

    import_opml = _command_parser(commands, "import-opml", "add the feeds of an OPML file")
    import_opml.add_argument("file", type=Path, metavar="FILE")
    _config_option(import_opml)

    export_opml = _command_parser(commands, "export-opml", "print the feeds as OPML 2.0")
    _config_option(export_opml)


def _index_parser(commands: Commands) -> None:
    index = _command_parser(
        commands,
        "index",
        "rebuild the archive's README.md and monthly index.md pages "
        "(_index.md for a Hugo, Hexo or Jekyll site)",
    )
    _output_option(index)
    # The pages come from the archive; the configuration, where there is one, only
    # says which form they take (a site flavour's _index.md).
    index.add_argument(
        "--config",
        type=Path,
        metavar="PATH",
        help=f"whose feeds' flavour gives the pages' form (default: {DEFAULT_CONFIG_PATH} "
        "if there is one)",
    )


def _check_parser(commands: Commands) -> None:
    check = _command_parser(
        commands,
        "check",
        "validate the config without touching the network; "
        "with --output, also the front matter of every archived file",
    )
    _config_option(check)
    check.add_argument(
        "--output",
        type=Path,
        default=None,
        metavar="DIR",
        help="also read every archived file of this archive (default: the config only)",
    )


def _status_parser(commands: Commands) -> None:
    status = _command_parser(commands, "status", "the health of every feed, from the archive")
    _config_option(status)
    _output_option(status)
    status.add_argument("--json", action="store_true", help="one JSON document for machines")
    status.add_argument(
        "--failing-days",
        type=_positive(float),
        default=DEFAULT_FAILING_DAYS,
        metavar="DAYS",
        help=f"flag feeds failing for longer (default {DEFAULT_FAILING_DAYS})",
    )
    status.add_argument(
        "--silent-days",
        type=_positive(float),
        default=DEFAULT_SILENT_DAYS,
        metavar="DAYS",
        help=f"flag feeds with no new entry for longer (default {DEFAULT_SILENT_DAYS})",
    )
