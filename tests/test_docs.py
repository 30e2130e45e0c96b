"""The documentation says what the code does: the configuration reference against the config
schema, the command synopses against the argument parser, and the links between pages."""

from __future__ import annotations

import argparse
import dataclasses
import io
import re
from pathlib import Path

import pytest

from archiver.cli.main import main
from archiver.cli.parser import argument_parser
from archiver.config.keys import FEED_KEYS, FEED_ONLY_KEYS, FIELD_OF_KEY, RUN_KEYS
from archiver.config.load import load_config, parse_config
from archiver.config.model import Config, FeedConfig
from archiver.errors import ConfigError

from .conftest import REPO_ROOT, FeedServer, shared_path

DOCS = REPO_ROOT / "docs"
README = REPO_ROOT / "README.md"
A_FEED = "  - name: a\n    url: https://example.org/feed\n"


def reference() -> dict[str, dict[str, str]]:
    """The rows of docs/configuration.md's table of keys, by key."""
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    table = text.split("## Keys", 1)[1]
    rows: dict[str, dict[str, str]] = {}
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if len(cells) == 5 and cells[0].startswith("`"):
            key, where, kind, default, _meaning = cells
            rows[key.strip("`")] = {"where": where, "type": kind, "default": default}
    return rows


def with_value(key: str, value: str) -> str:
    """A config that sets `key` to `value` (YAML), where the key belongs."""
    if key in RUN_KEYS:
        return f"defaults:\n  {key}: {value}\nfeeds:\n{A_FEED}"
    return f"feeds:\n{A_FEED}    {key}: {value}\n"


def code_default(key: str) -> object:
    for field in [*dataclasses.fields(FeedConfig), *dataclasses.fields(Config)]:
        if field.name == FIELD_OF_KEY.get(key, key):
            return field.default
    raise AssertionError(f"{key}: no field of that name in FeedConfig or Config")


def test_the_reference_lists_every_key_the_code_reads_and_no_other() -> None:
    assert set(reference()) == {*FEED_ONLY_KEYS, *FEED_KEYS, *RUN_KEYS}, (
        "docs/configuration.md's table and archiver/config/keys.py disagree on the keys"
    )


def test_the_reference_says_where_each_key_may_stand() -> None:
    where = {row_key: row["where"] for row_key, row in reference().items()}
    assert where == {
        **dict.fromkeys(FEED_ONLY_KEYS, "feed"),
        **dict.fromkeys(FEED_KEYS, "both"),
        **dict.fromkeys(RUN_KEYS, "defaults"),
    }


@pytest.mark.parametrize("key", sorted({*FEED_KEYS, *RUN_KEYS}))
def test_each_documented_default_is_the_codes(key: str) -> None:
    # Written into a config as the reference shows it, the default reads back as the
    # value the code uses when the key is left out.
    cell = reference()[key]["default"]
    written = re.fullmatch(r"`([^`]+)`", cell)
    assert written, f"{key}: the default should be one YAML value in backticks, not {cell!r}"
    config = parse_config(with_value(key, written.group(1)))
    field = FIELD_OF_KEY.get(key, key)
    read = getattr(config, field) if key in RUN_KEYS else getattr(config.feeds[0], field)
    assert read == code_default(key), f"docs/configuration.md: {key}'s default is not the code's"


def test_required_keys_are_documented_as_required() -> None:
    assert {key for key, row in reference().items() if row["default"] == "required"} == set(
        FEED_ONLY_KEYS
    )


@pytest.mark.parametrize(
    "key", sorted(k for k, row in reference().items() if row["type"].count("`") >= 4)
)
def test_each_documented_choice_is_the_codes(key: str) -> None:
    documented = re.findall(r"`([^`]+)`", reference()[key]["type"])
    for choice in documented:
        parse_config(with_value(key, choice))  # each one is accepted
    with pytest.raises(ConfigError) as refused:
        parse_config(with_value(key, "no-such-choice"))
    offered = re.search(r"expected one of (.*), got", str(refused.value))
    if offered:  # and nothing the code offers is missing from the reference
        assert offered.group(1).split(", ") == documented


def synopses() -> dict[str, str]:
    """docs/commands.md's synopsis of each command: `archiver NAME …` and its continuations."""
    text = (DOCS / "commands.md").read_text(encoding="utf-8")
    block = re.search(r"```sh\n(archiver .*?)```", text, re.DOTALL)
    assert block, "docs/commands.md should open with the synopsis of every command"
    found: dict[str, str] = {}
    command = ""
    for line in block.group(1).splitlines():
        if line.startswith("archiver "):
            command = line.split()[1]
            found[command] = found.get(command, "") + line
        elif line.startswith(" ") and command:
            found[command] += line
    return found


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parsers = argument_parser()._subparsers
    assert parsers is not None
    (action,) = [a for a in parsers._group_actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


@pytest.mark.parametrize("command", sorted(subcommands()))
def test_the_synopsis_names_every_option_of_each_command(command: str) -> None:
    synopsis = synopses().get(command)
    assert synopsis, f"docs/commands.md has no synopsis of `archiver {command}`"

    def named(option: str) -> bool:
        return re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", synopsis) is not None

    missing = [
        action.option_strings[-1]
        for action in subcommands()[command]._actions
        if action.option_strings and "--help" not in action.option_strings
        if not any(named(option) for option in action.option_strings)  # -q or --quiet
    ]
    assert not missing, f"docs/commands.md: `archiver {command}` lacks {missing}"


def links(page: Path) -> list[str]:
    return re.findall(r"\]\(([^)\s]+)\)", page.read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", [README, *sorted(DOCS.glob("*.md"))], ids=lambda p: p.name)
def test_relative_links_lead_to_pages_and_headings_that_exist(page: Path) -> None:
    for link in links(page):
        if re.match(r"[a-z]+:", link):
            continue  # an address elsewhere
        target, _, anchor = link.partition("#")
        path = (page.parent / target).resolve() if target else page
        assert path.exists(), f"{page.name} links to {link}, which does not exist"
        if anchor and path.suffix == ".md":
            headings = re.findall(r"^#+ (.*)$", path.read_text(encoding="utf-8"), re.MULTILINE)
            slugs = {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}
            assert anchor in slugs, f"{page.name} links to {link}: no such heading"


def test_the_readme_links_every_page_of_the_docs() -> None:
    linked = {Path(link).name for link in links(README) if link.startswith("docs/")}
    assert {page.name for page in DOCS.glob("*.md")} <= linked


def test_the_readme_stays_a_one_minute_read() -> None:
    # The details live in docs/: the README is what to do first.
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 150


def test_the_example_file_is_what_the_shipped_huxiu_feed_gives(
    server: FeedServer, tmp_path: Path
) -> None:
    doc = (DOCS / "site-generators.md").read_text(encoding="utf-8")
    path = re.search(r"gives `output/([^`]+)`", doc)
    example = re.search(r"```markdown\n---\n(.*?)\n---\n", doc, re.DOTALL)
    assert path and example
    shipped = next(f for f in load_config(REPO_ROOT / "feeds.yaml").feeds if f.name == "huxiu")
    loopback = server.feed("/huxiu.xml", shared_path("seed", "huxiu-rsshub.xml").read_bytes())
    config = tmp_path / "feeds.yaml"
    config.write_text(
        (REPO_ROOT / "feeds.yaml").read_text(encoding="utf-8").replace(shipped.url, loopback),
        encoding="utf-8",
    )
    main(
        ["run", "--config", str(config), "--output", str(tmp_path / "out"), "--feed", "huxiu"],
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    written = (tmp_path / "out" / path.group(1)).read_text(encoding="utf-8")
    matter = written[4:].split("\n---\n")[0].replace(loopback, shipped.url)
    assert matter == example.group(1)


def structure_rows() -> dict[str, str]:
    """STRUCTURE.md's table: each folder of its first column (`archiver/` for the root
    modules) → the text of its row."""
    rows: dict[str, str] = {}
    for line in (REPO_ROOT / "STRUCTURE.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("| `"):
            first = line.split("|")[1]
            for folder in re.findall(r"`([\w/.]+/)`", first):
                rows[folder.removeprefix("archiver/") or "."] = line
    return rows


def test_the_structure_names_every_module_in_its_folder_s_row() -> None:
    rows = structure_rows()
    package = REPO_ROOT / "archiver"
    missing = []
    for module in sorted(package.rglob("*.py")):
        if module.name in ("__init__.py", "__main__.py"):
            continue
        folder = module.parent.relative_to(package).as_posix()
        row = rows.get(folder if folder == "." else f"{folder}/", "")
        if module.stem == "subscriptions":  # an edge module, named in its row's first cell
            row = next((r for r in rows.values() if "`subscriptions.py`" in r), "")
        if f"`{module.name}`" not in row:
            missing.append(module.relative_to(package).as_posix())
    assert missing == []


def test_every_module_the_structure_names_exists() -> None:
    package = REPO_ROOT / "archiver"
    named = set(re.findall(r"`(\w+\.py)`", (REPO_ROOT / "STRUCTURE.md").read_text("utf-8")))
    existing = {module.name for module in package.rglob("*.py")}
    assert named - existing == set()
