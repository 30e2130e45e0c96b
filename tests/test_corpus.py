"""The real-world corpus of ../shared/feeds/, served on loopback and archived through the CLI."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import yaml

from archiver.archive.ids import id_from_name
from archiver.cli.main import main
from archiver.parse.feed import parse_feed

from .conftest import FEEDS_DIR, FeedServer, Reply
from .test_cli import snapshot

pytestmark = pytest.mark.skipif(
    not FEEDS_DIR.is_dir(), reason=f"{FEEDS_DIR} is absent: the shared corpus sits beside the repo"
)


def corpus_files() -> list[Path]:
    return sorted(p for p in FEEDS_DIR.glob("*/*") if p.suffix not in (".md", ".tsv"))


def feedparser_finds_entries() -> set[str]:
    """Files for which INDEX.tsv says feedparser 6.0 finds at least one entry."""
    lines = (FEEDS_DIR / "INDEX.tsv").read_text(encoding="utf-8").splitlines()
    rows = csv.DictReader((line for line in lines if not line.startswith("#")), delimiter="\t")
    return {row["file"] for row in rows if int(row["entries"]) > 0}


def feed_name(path: Path) -> str:
    return f"{path.parent.name}-{path.stem}"


@pytest.fixture
def corpus_config(server: FeedServer, tmp_path: Path) -> Path:
    lines = ["defaults:", "  retries: 0", "feeds:"]
    for path in corpus_files():
        body = path.read_bytes()
        kind = "application/json" if path.suffix == ".json" else "application/xml"
        route = f"/{path.parent.name}/{path.name}"
        server.always(route, Reply(200, body, {"Content-Type": kind}))
        lines += [f"  - name: {feed_name(path)}", f"    url: {server.url(route)}"]
    config = tmp_path / "feeds.yaml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


def run(config: Path, out: Path) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(
        ["run", "--config", str(config), "--output", str(out)], stdout=stdout, stderr=stderr
    )
    return code, stdout.getvalue(), stderr.getvalue()


def test_whole_corpus_archives_one_file_per_distinct_entry(
    corpus_config: Path, tmp_path: Path, server: FeedServer
) -> None:
    out = tmp_path / "out"
    code, _, stderr = run(corpus_config, out)
    assert "Traceback" not in stderr

    failed = {line.split("'")[1] for line in stderr.splitlines() if " failed: " in line}
    must_succeed = {feed_name(FEEDS_DIR / f) for f in feedparser_finds_entries()}
    assert failed.isdisjoint(must_succeed), (
        f"feeds feedparser can read failed: {failed & must_succeed}"
    )
    assert code == (1 if failed else 0)

    # Expected: the distinct ids over all feeds (an article in two feeds is one file).
    expected_ids: set[str] = set()
    for path in corpus_files():
        if feed_name(path) in failed:
            continue
        url = server.url(f"/{path.parent.name}/{path.name}")
        expected_ids |= {e.id for e in parse_feed(path.read_bytes(), url=url, headers={}).entries}
    files = sorted(p for p in out.rglob("*.md") if id_from_name(p.name))
    assert len(files) == len(expected_ids)
    assert len(files) > 2000
    seen_ids = set()
    for path in files:
        text = path.read_text(encoding="utf-8")
        header = text[4:].partition("\n---\n")[0]
        matter = yaml.safe_load(header)
        assert isinstance(matter, dict), path
        assert isinstance(matter["title"], str) and matter["title"], path
        assert path.name.endswith(f"{matter['id']}.md")
        seen_ids.add(matter["id"])
    assert seen_ids == expected_ids

    # Nothing new the second time: every feed answers the same, no byte changes.
    before = snapshot(out)
    code_again, stdout_again, _ = run(corpus_config, out)
    assert code_again == code
    assert "entries: 0 new" in stdout_again
    assert snapshot(out) == before

    check_out, check_err = io.StringIO(), io.StringIO()
    check = ["check", "--config", str(corpus_config), "--output", str(out)]
    assert main(check, stdout=check_out, stderr=check_err) == 0, check_err.getvalue()
