"""The commands import what they use: `--version`, `--help` and `check` start without
loading the pipeline, which takes most of a second to import."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import FeedServer, write_config

RSS = (
    b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title><item><title>one</title>"
    b"<link>https://example.org/1</link><description>&lt;p&gt;text&lt;/p&gt;</description>"
    b"</item></channel></rss>"
)
PIPELINE = {"bs4", "markdownify", "feedparser", "lxml", "trafilatura", "soupsieve"}
NETWORK = {"httpx", "httpcore", "tenacity", "asyncio"}
_IMPORTED = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s+([\w.]+)$", re.MULTILINE)


def imported_packages(*args: str, cwd: Path) -> set[str]:
    """The top-level packages a whole `python -m archiver ARGS` process imports."""
    command = [sys.executable, "-X", "importtime", "-m", "archiver", *args]
    done = subprocess.run(command, check=False, cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    names = {match.split(".")[0] for match in _IMPORTED.findall(done.stderr)}
    assert "archiver" in names  # the trace is there to read
    return names


@pytest.mark.parametrize("args", [("--version",), ("--help",), ("check", "--help")])
def test_version_and_help_import_neither_pipeline_nor_network(tmp_path: Path, args) -> None:
    assert imported_packages(*args, cwd=tmp_path) & (PIPELINE | NETWORK) == set()


def test_check_imports_neither_pipeline_nor_network(tmp_path: Path) -> None:
    feeds = "feeds:\n  - name: blog\n    url: https://example.org/feed.xml\n"
    config = write_config(tmp_path / "feeds.yaml", feeds)
    archive = tmp_path / "out"
    (archive / "2026" / "11").mkdir(parents=True)
    imported = imported_packages("check", "--config", str(config), cwd=tmp_path)
    with_archive = imported_packages(
        "check", "--config", str(config), "--output", str(archive), cwd=tmp_path
    )
    assert imported & (PIPELINE | NETWORK) == set()
    assert with_archive & (PIPELINE | NETWORK) == set()


def test_a_run_with_nothing_new_loads_neither_parser_nor_converter(
    tmp_path: Path, server: FeedServer
) -> None:
    """The hourly run in which every feed answers 304 needs the network and the archive's
    state only; the parser and the converter load in the first run, which has entries."""
    url = server.feed("/feed.xml", RSS, etag='"v1"')
    config = write_config(tmp_path / "feeds.yaml", f"feeds:\n  - name: blog\n    url: {url}\n")
    run = ("run", "--config", str(config), "--output", str(tmp_path / "out"))
    first = imported_packages(*run, cwd=tmp_path)
    second = imported_packages(*run, cwd=tmp_path)
    assert {"bs4", "feedparser", "markdownify"} <= first
    assert [r.headers.get("if-none-match") for r in server.hits("/feed.xml")] == [None, '"v1"']
    assert second & PIPELINE == set()
