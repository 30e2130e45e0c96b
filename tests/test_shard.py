"""`--shard K/N` splits the feeds; the shards together make the archive one run makes,
but for articles that feeds of two shards both carry."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis.provisional import urls

from archiver.archive.ids import id_from_name
from archiver.archive.shard import Shard
from archiver.cli.main import EXIT_USAGE, main

from .conftest import FEEDS_DIR, FeedServer, Reply, write_config

SHARDS = 3


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(args), stdout=out, stderr=err), out.getvalue(), err.getvalue()


@pytest.mark.parametrize(("text", "shard"), [("1/4", Shard(1, 4)), (" 4 / 4 ", Shard(4, 4))])
def test_parse(text: str, shard: Shard) -> None:
    assert Shard.parse(text) == shard


@pytest.mark.parametrize("text", ["0/4", "5/4", "1/0", "a/b", "1", "-1/3"])
def test_parse_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="K/N"):
        Shard.parse(text)


@given(urls())
def test_every_feed_falls_in_exactly_one_shard(url: str) -> None:
    assert sum(Shard(k, 5).holds(url) for k in range(1, 6)) == 1


def test_bad_shard_is_a_usage_error(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "feeds.yaml", "feeds:\n  - name: f\n    url: https://e.org/f\n"
    )
    with pytest.raises(SystemExit) as caught:
        cli("run", "--config", str(config), "--shard", "5/4")
    assert caught.value.code == EXIT_USAGE


def entry_files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*.md") if id_from_name(p.name)}


@pytest.mark.skipif(not FEEDS_DIR.is_dir(), reason=f"{FEEDS_DIR} is absent")
def test_shards_together_write_exactly_what_one_run_writes(
    server: FeedServer, tmp_path: Path
) -> None:
    files = sorted(p for p in FEEDS_DIR.glob("*/*") if p.suffix not in (".md", ".tsv"))
    lines = ["defaults:", "  retries: 0", "feeds:"]
    for path in files:
        route = f"/{path.parent.name}/{path.name}"
        server.always(route, Reply(200, path.read_bytes()))
        lines += [f"  - name: {path.parent.name}-{path.stem}", f"    url: {server.url(route)}"]
    config = write_config(tmp_path / "feeds.yaml", "\n".join(lines) + "\n")

    single = tmp_path / "single"
    cli("run", "--config", str(config), "--output", str(single))

    merged = tmp_path / "merged"
    held: list[set[str]] = []
    for k in range(1, SHARDS + 1):
        shard_out = tmp_path / f"shard-{k}"
        cli("run", "--config", str(config), "--output", str(shard_out), "--shard", f"{k}/{SHARDS}")
        state = json.loads((shard_out / f".archiver/state.shard-{k}-of-{SHARDS}.json").read_text())
        held.append(set(state["feeds"]))
        assert not (shard_out / "README.md").exists()  # pages wait for the merge
        shutil.copytree(shard_out, merged, dirs_exist_ok=True)  # as a CI job merges artifacts

    assert all(a.isdisjoint(b) for i, a in enumerate(held) for b in held[i + 1 :])
    assert set().union(*held) == set(
        json.loads((single / ".archiver/state.json").read_text())["feeds"]
    )
    # The same articles, every file of the single run among them. The one difference
    # allowed: an article that feeds of two different shards both carry (the corpus
    # has one, in reader-full.rss and reader-full.json) is written by each shard, and
    # its two versions may be dated apart; a single run keeps the first it meets.
    merged_files, single_files = entry_files(merged), entry_files(single)
    ids = {id_from_name(name) for name in merged_files}
    assert ids == {id_from_name(name) for name in single_files}
    assert single_files <= merged_files
    assert len(merged_files - single_files) <= 2

    code, stdout, _ = cli("index", "--config", str(config), "--output", str(merged))
    assert code == 0 and "index pages written" in stdout
    readme = (merged / "README.md").read_text()
    assert f"{len(ids)} entries from" in readme


def test_status_after_sharded_runs_reads_health_of_every_shard(
    server: FeedServer, tmp_path: Path
) -> None:
    rss = b"<rss version='2.0'><channel><title>t</title></channel></rss>"
    names = [f"f{i}" for i in range(6)]
    config = write_config(
        tmp_path / "feeds.yaml",
        "feeds:\n"
        + "".join(f"  - name: {n}\n    url: {server.feed(f'/{n}', rss)}\n" for n in names),
    )
    out = tmp_path / "out"
    for k in (1, 2):
        assert (
            cli("run", "--config", str(config), "--output", str(out), "--shard", f"{k}/2")[0] == 0
        )
    code, stdout, _ = cli("status", "--config", str(config), "--output", str(out), "--json")
    assert code == 0
    rows = json.loads(stdout)["feeds"]
    assert [row["name"] for row in rows if row["last_success"] is None] == []
    assert [row["last_status"] for row in rows] == [200] * len(names)
