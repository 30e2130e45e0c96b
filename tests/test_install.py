"""archiver as `pip install .` or `pipx install` gives it: pyproject.toml's ranges resolved today,
no extras and no lock, in a new virtual environment. Each feature runs once through the
installed `archiver` command against a server on 127.0.0.1, so that a runtime need met only
by the development tools (as lxml_html_clean was, for `fulltext:`) shows up here.

Marked `install`: it downloads what the ranges resolve to, so `make test` leaves it out and
`make test-install` (and CI) runs it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from archiver.archive.ids import id_from_name
from archiver.config.model import FLAVORS

from .conftest import REPO_ROOT, FeedServer, Reply, write_config
from .test_fulltext import page
from .test_images import PNG
from .test_subscriptions import BLOG_PAGE

pytestmark = pytest.mark.install


@pytest.fixture(scope="module")
def archiver_command(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("plain-install") / "venv"
    # The base interpreter, not this test run's virtual environment: nothing of it may leak in.
    python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [venv / "bin" / "python", "-m", "pip", "install", "--quiet", str(REPO_ROOT)],
        check=True,
        cwd=venv,
    )
    return venv / "bin" / "archiver"


def archiver(command: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # Outside the checkout, so that only the installed package can be imported.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    return subprocess.run(
        [str(command), *args],
        check=False,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def rss(title: str, link: str, description: str) -> bytes:
    return (
        f"<rss version='2.0'><channel><title>{title}</title><item><title>{title}</title>"
        f"<link>{link}</link><pubDate>Mon, 01 Jan 2024 10:00:00 GMT</pubDate>"
        f"<description><![CDATA[{description}]]></description></item></channel></rss>"
    ).encode()


def front_matter(path: Path) -> dict[str, object]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8")[4:].split("\n---\n")[0])
    assert isinstance(loaded, dict)
    return loaded


def test_a_run_archives_full_text_images_and_every_flavour(
    archiver_command: Path, server: FeedServer, tmp_path: Path
) -> None:
    html = {"Content-Type": "text/html; charset=utf-8"}
    story = server.always("/story", Reply(200, page("Budget"), html))
    picture = server.always("/pic.png", Reply(200, PNG, {"Content-Type": "image/png"}))
    feeds = [
        ("fulltext", rss("budget", story, "The committee met."), "fulltext: true"),
        ("images", rss("pictured", server.url("/p"), f"<img src='{picture}'>"), "images: download"),
        *(
            (flavor, rss(flavor, server.url(f"/{flavor}"), "<p>text</p>"), f"flavor: {flavor}")
            for flavor in FLAVORS
        ),
    ]
    lines = ["defaults:", "  retries: 0", "  allow_private: true", "feeds:"]
    for name, body, setting in feeds:
        url = server.feed(f"/{name}.xml", body)
        lines += [f"  - name: {name}", f"    url: {url}", f"    {setting}"]
    write_config(tmp_path / "feeds.yaml", "\n".join(lines) + "\n")

    done = archiver(
        archiver_command, "run", "--config", "feeds.yaml", "--output", "out", cwd=tmp_path
    )

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    files = {
        name: next(p for p in (tmp_path / "out").rglob(f"{name}-*.md") if id_from_name(p.name))
        for name in ("budget", "pictured", *FLAVORS)
    }
    assert "Members argued for three hours" in files["budget"].read_text(encoding="utf-8")
    (asset,) = (tmp_path / "out" / "assets").rglob("*.png")
    assert asset.read_bytes() == PNG
    assert "assets/" in files["pictured"].read_text(encoding="utf-8")
    # Each flavour writes front matter of its own keys: proof that each one was rendered.
    keys = {flavor: frozenset(front_matter(files[flavor])) for flavor in FLAVORS}
    assert len(set(keys.values())) == len(FLAVORS), keys


def test_init_add_by_page_address_and_opml_both_ways(
    archiver_command: Path, server: FeedServer, tmp_path: Path
) -> None:
    feed_url = server.feed("/blog/feed.xml", rss("Loopback Blog", server.url("/blog/1"), "x"))
    server.always("/blog/", BLOG_PAGE)
    started = archiver(archiver_command, "init", cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    assert (tmp_path / "feeds.yaml").exists()

    added = archiver(archiver_command, "add", server.url("/blog/"), cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    assert feed_url in (tmp_path / "feeds.yaml").read_text(encoding="utf-8")

    exported = archiver(archiver_command, "export-opml", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert feed_url in exported.stdout
    (tmp_path / "subscriptions.opml").write_text(exported.stdout, encoding="utf-8")
    write_config(tmp_path / "other.yaml", "feeds:\n  - name: other\n    url: https://y.org/f\n")

    imported = archiver(
        archiver_command,
        "import-opml",
        "subscriptions.opml",
        "--config",
        "other.yaml",
        cwd=tmp_path,
    )
    assert imported.returncode == 0, imported.stderr
    other = (tmp_path / "other.yaml").read_text(encoding="utf-8")
    assert feed_url in other and "https://y.org/f" in other
