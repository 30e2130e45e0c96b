"""`make bench`: archiver against its peers and the bare libraries, on corpora served over
loopback, every system timed as whole processes in the same run.

The large corpus: the feeds of ../shared/feeds and ../shared/seed, replicated with distinct
links to ~200 feeds and ~10,000 entries, with a latency injected into every request
(100 ms). Whole `archiver run` processes:

  1 cold      an empty archive
  2 warm      every feed answers 304
  3 same      every feed answers 200 (no validators) with nothing new
  3b no-state as 3, with DIR/.archiver deleted (ids rebuilt from the files)
  4 big       cold again, with 100,000 files already in the archive

The small corpus: 50 feeds of 30 entries each (RSS 2.0 made from the large corpus's
entries), without latency, where fixed costs show. archiver cold, warm (304) and with
nothing new; lemon24/reader's `update_feeds(workers=8)` and rss2email's `r2e run
--no-send`, cold then warm. The peers live in a virtual environment of their own
(bench/.peers-venv, made on first use), never in the project's.

Then `archiver --version`, `--help` and `check`, and, in this process, the bare library
work for each corpus's bytes: feedparser.parse with its defaults plus
markdownify.markdownify for every entry, in one loop on one core. Prints the tables and
the ratios the performance targets are written in, and writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import email.utils
import hashlib
import io
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

import feedparser
import markdownify

from archiver.archive.pages import rebuild_pages
from archiver.archive.store import Archive
from archiver.errors import ParseError
from archiver.parse.feed import parse_feed

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
TARGET_FEEDS = 200
TARGET_ENTRIES = 10_000
FILLER_FILES = 100_000
SMALL_FEEDS = 50
SMALL_ENTRIES = 30
CONNECTIONS = 8  # archiver's concurrency and reader's workers
PEERS_VENV = REPO / "bench" / ".peers-venv"
# archiver as `make run` and `pip install .` give it to a user: the runtime dependencies of
# requirements.lock only. The development environment has more (click, rich and pygments,
# which httpx imports for its own command line whenever they are installed).
ARCHIVER_VENV = REPO / "bench" / ".archiver-venv"
# reader's own copy of feedparser imports sgmllib, which feedparser 6.0.12 and later no
# longer install.
PEERS = ("reader==3.26", "rss2email==3.14", "sgmllib3k==1.0.0")
STARTUP_RUNS = 10

# Namespace declarations name vocabularies, not documents: rewriting them breaks the feed.
_URL_OR_NAMESPACE = re.compile(rb"""(xmlns(?::[\w-]+)?\s*=\s*["'][^"']*["'])|://""")


def replicate(body: bytes, copy: int) -> bytes:
    """The feed with every URL on a host of its own (`://r3-`), so its entries get new ids."""
    if copy == 0:
        return body
    marker = f"://r{copy}-".encode()
    return _URL_OR_NAMESPACE.sub(lambda m: m.group(1) or marker, body)


def corpus_files() -> list[Path]:
    files = [p for p in sorted((SHARED / "feeds").glob("*/*")) if p.suffix not in (".md", ".tsv")]
    return [*files, SHARED / "seed" / "huxiu-rsshub.xml"]


def count_entries(body: bytes) -> int:
    try:
        return len(parse_feed(body, url="http://127.0.0.1/x", headers={}).entries)
    except ParseError:
        return 0


def build_corpus() -> list[bytes]:
    """~200 feeds with ~10,000 entries: every file twice, then the five largest again until
    there are enough entries, then small ones until there are enough feeds."""
    files = [(p, p.read_bytes()) for p in corpus_files()]
    sizes = {p: count_entries(b) for p, b in files}
    chosen = [p for p, _ in files] * 2
    by_size = sorted((p for p, _ in files if sizes[p]), key=lambda p: -sizes[p])
    i = 0
    while sum(sizes[p] for p in chosen) < TARGET_ENTRIES:
        chosen.append(by_size[i % 5])
        i += 1
    small = [p for p in by_size if sizes[p] <= 5] or by_size
    while len(chosen) < TARGET_FEEDS:
        chosen.append(small[len(chosen) % len(small)])
    bodies = dict(files)
    copies: dict[Path, int] = {}
    corpus = []
    for path in chosen:
        copy = copies.get(path, 0)
        copies[path] = copy + 1
        corpus.append(replicate(bodies[path], copy))
    return corpus


def build_small_corpus() -> list[bytes]:
    """SMALL_FEEDS RSS 2.0 feeds of SMALL_ENTRIES entries each, made of the large corpus's
    entries with content (each entry used once), so that every entry is new to every
    system and the feeds cost about the same to parse."""
    entries = []
    links: set[str] = set()
    for path in corpus_files():
        for entry in feedparser.parse(path.read_bytes()).entries:
            content = entry.get("content") or [{}]
            html = content[0].get("value") or entry.get("summary") or ""
            link = entry.get("link") or ""
            if html and link.startswith("http") and link not in links:
                links.add(link)
                entries.append((entry.get("title") or link, link, html))
    needed = SMALL_FEEDS * SMALL_ENTRIES
    if len(entries) < needed:
        raise SystemExit(f"the corpus has {len(entries)} entries with content, not {needed}")
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    corpus = []
    for feed in range(SMALL_FEEDS):
        items = []
        for number in range(SMALL_ENTRIES):
            title, link, html = entries[feed * SMALL_ENTRIES + number]
            date = email.utils.format_datetime(start - timedelta(hours=feed + 50 * number))
            items.append(
                f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
                f'<guid isPermaLink="true">{escape(link)}</guid><pubDate>{date}</pubDate>'
                f"<description>{escape(html)}</description></item>"
            )
        corpus.append(
            (
                '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
                f"<title>Small feed {feed}</title><link>https://small-{feed}.example/</link>"
                f"<description>bench</description>{''.join(items)}</channel></rss>\n"
            ).encode()
        )
    return corpus


class _Listener(ThreadingHTTPServer):
    # Room for every connection a run opens at once: with socketserver's backlog of 5,
    # the kernel dropped the 6th to 8th connection's SYN when they came together, and
    # the client sent it again a second later (a run over 50 feeds without latency:
    # 1.3 s instead of 0.4 s, two feeds taking 1.04 s each).
    request_queue_size = 128


class Server:
    """Serves feed i at /f/i after `latency` seconds; answers 304 to matching validators
    unless `validators` is off (then every request gets the full body, and no ETag).
    Counts the requests and the 304s, so that a run's figures show what it asked."""

    def __init__(self, bodies: list[bytes], latency: float) -> None:
        self.bodies = bodies
        self.etags = [f'"{hashlib.sha256(b).hexdigest()[:16]}"' for b in bodies]
        self.latency = latency
        self.validators = True
        self.requests = 0
        self.not_modified = 0
        self._count = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                time.sleep(server.latency)
                index = int(self.path.rsplit("/", 1)[1])
                body, etag = server.bodies[index], server.etags[index]
                fresh = server.validators and self.headers.get("If-None-Match") == etag
                with server._count:
                    server.requests += 1
                    server.not_modified += fresh
                if fresh:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                kind = "application/json" if body.lstrip()[:1] == b"{" else "application/xml"
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                if server.validators:
                    self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = _Listener(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}/f/{index}"

    def urls(self) -> list[str]:
        return [self.url(i) for i in range(len(self.bodies))]

    def reset_counts(self) -> None:
        with self._count:
            self.requests = self.not_modified = 0


@dataclass
class Measure:
    name: str
    wall: float
    cpu: float
    peak_mb: float
    new: int = 0
    already_archived: int = 0
    run_seconds: float = 0.0  # from archiver's own report: without interpreter start-up
    requests: int = 0  # what the server answered during the run
    not_modified: int = 0


def _tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and all its descendants, from /proc."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
            for task in Path(f"/proc/{current}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, AttributeError, ValueError):
            continue
    return total


def timed(
    name: str,
    command: Sequence[str | Path],
    server: Server | None = None,
    env: Mapping[str, str] | None = None,
) -> Measure:
    """One whole process: wall time, CPU time of it and its children, peak resident
    memory of its process tree (sampled every 50 ms)."""
    # What the benchmark itself has just written (the 100,000 files of run 4) is flushed
    # first: a run's syncfs would flush it too, a cost a real archive, written long
    # before, does not have.
    os.sync()
    if server:
        server.reset_counts()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(part) for part in command],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    # The memory is sampled beside the wait, so that the wall time is the process's own
    # and not rounded up to the next sample.
    peaks = [0]
    finished = threading.Event()

    def sample() -> None:
        while not finished.is_set():
            peaks.append(max(peaks[-1], _tree_rss_kb(process.pid)))
            finished.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    process.wait()
    wall = time.perf_counter() - started
    finished.set()
    sampler.join()
    peak = peaks[-1]
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    errors = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if process.returncode not in (0, 1):  # 1: archiver's corpus has broken feeds on purpose
        raise SystemExit(f"{name}: exit status {process.returncode}\n{errors[-3000:]}")
    measure = Measure(name, wall, cpu, peak / 1024)
    if server:
        measure.requests, measure.not_modified = server.requests, server.not_modified
    return measure


def run_archiver(name: str, config: Path, output: Path, report: Path, server: Server) -> Measure:
    command: list[str | Path] = [ARCHIVER_VENV / "bin" / "archiver", "run", "--config", config]
    # The corpus keeps its broken feeds (they fail on purpose): their lines are dropped
    # and counted from the report below.
    measure = timed(name, [*command, "--output", output, "--report", report, "-q"], server)
    document = json.loads(report.read_text())
    summary = document["summary"]
    failed = [f for f in document["feeds"] if f["status"] == "failed"]
    print(f"  {name}: {measure.wall:.2f} s, {len(failed)} feeds failed")
    measure.new = summary["entries"]["new"]
    measure.already_archived = summary["entries"]["already_archived"]
    measure.run_seconds = _seconds(document["started"], document["finished"])
    return measure


def _seconds(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def bare_loop(name: str, corpus: list[bytes]) -> Measure:
    """What feedparser and markdownify cost alone, with their defaults, on the same bytes."""
    cpu_before = time.process_time()
    started = time.perf_counter()
    count = 0
    for body in corpus:
        parsed = feedparser.parse(io.BytesIO(body))
        for entry in parsed.entries:
            content = entry.get("content") or [{}]
            markdownify.markdownify(content[0].get("value") or entry.get("summary") or "")
            count += 1
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  {name}: {wall:.2f} s")
    return Measure(name, wall, time.process_time() - cpu_before, peak, new=count)


def fill_archive(output: Path, files: int) -> None:
    """`files` archived entries in dated folders, with the catalog and index pages archiver
    would have made."""
    catalog = []
    for i in range(files):
        entry_id = hashlib.sha256(f"filler-{i}".encode()).hexdigest()[:16]
        folder = f"20{10 + i % 10}/{1 + i // 10 % 12:02d}/{1 + i // 120 % 28:02d}"
        relpath = f"{folder}/filler-{i}-{entry_id}.md"
        path = output / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        date = f"20{10 + i % 10}-{1 + i // 10 % 12:02d}-{1 + i // 120 % 28:02d}T00:00:00+00:00"
        path.write_text(f"---\ntitle: filler {i}\nid: {entry_id}\ndate: '{date}'\n---\n\nold\n")
        record = {"date": date, "feed": "old", "id": entry_id, "path": relpath}
        catalog.append(json.dumps(record | {"title": f"filler {i}"}, sort_keys=True))
    (output / ".archiver").mkdir(parents=True, exist_ok=True)
    (output / ".archiver" / "catalog.jsonl").write_text("\n".join(catalog) + "\n")
    archive = Archive(output)
    rebuild_pages(archive, archive.scan_ids())


def write_config(path: Path, server: Server) -> Path:
    lines = ["defaults:", f"  concurrency: {CONNECTIONS}", f"  per_host: {CONNECTIONS}"]
    lines += ["  retries: 0", "feeds:"]
    for i, url in enumerate(server.urls()):
        lines += [f"  - name: feed-{i:03d}", f"    url: {url}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def install_archiver() -> None:
    """This checkout into ARCHIVER_VENV as a user installs it; the dependencies once per
    lock file, archiver itself every time (pip compiles its bytecode, as for a user)."""
    python = ARCHIVER_VENV / "bin" / "python"
    stamp = ARCHIVER_VENV / ".installed"
    lock = (REPO / "requirements.lock").read_text()
    pip: list[str | Path] = [python, "-m", "pip", "install", "--quiet"]
    pip.append("--disable-pip-version-check")
    if not (stamp.exists() and stamp.read_text() == lock):
        print(f"installing archiver's runtime dependencies into {ARCHIVER_VENV}")
        subprocess.run([sys.executable, "-m", "venv", "--clear", ARCHIVER_VENV], check=True)
        subprocess.run([*pip, "--require-hashes", "-r", REPO / "requirements.lock"], check=True)
        stamp.write_text(lock)
    subprocess.run([*pip, "--no-deps", "--force-reinstall", REPO], check=True)


def peers_python() -> Path:
    """The peers' interpreter, in a virtual environment of their own, made on first use."""
    python = PEERS_VENV / "bin" / "python"
    stamp = PEERS_VENV / ".installed"
    wanted = "\n".join(PEERS) + "\n"
    if not (stamp.exists() and stamp.read_text() == wanted):
        print(f"installing {', '.join(PEERS)} into {PEERS_VENV} (once)")
        subprocess.run([sys.executable, "-m", "venv", "--clear", PEERS_VENV], check=True)
        pip: list[str | Path] = [
            python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ]
        subprocess.run([*pip, *PEERS], check=True)
        stamp.write_text(wanted)
    return python


# lemon24/reader as a user's cron job would call it: every feed (scheduled=False: the
# warm run follows the cold one within the hour reader would otherwise wait), parsed
# and stored in SQLite, no Markdown written.
READER_DRIVER = """
import sys
from reader import make_reader
reader = make_reader(sys.argv[1])
for url in sys.argv[2:]:
    reader.add_feed(url, exist_ok=True)
if len(sys.argv) == 2:
    reader.update_feeds(workers={workers}, scheduled=False)
reader.close()
""".replace("{workers}", str(CONNECTIONS))


def reader_commands(work: Path, server: Server) -> list[str | Path]:
    """The command of a reader update, on a database that knows every feed."""
    python = peers_python()
    database = work / "reader.sqlite"
    subprocess.run([python, "-c", READER_DRIVER, database, *server.urls()], check=True)
    return [python, "-c", READER_DRIVER, database]


def rss2email_command(work: Path, server: Server) -> tuple[list[str | Path], dict[str, str]]:
    """`r2e run --no-send`, which fetches, parses and turns every new entry into a
    message (html2text) that it does not send, and its environment: config, data and
    lock in `work`."""
    r2e = peers_python().parent / "r2e"
    home = work / "rss2email"
    env = {"XDG_CONFIG_HOME": str(home), "XDG_CONFIG_DIRS": str(home)}
    env |= {"XDG_DATA_HOME": str(home), "XDG_RUNTIME_DIR": str(home)}
    home.mkdir()
    opml = home / "feeds.opml"
    outlines = "".join(
        f'<outline type="rss" text="feed-{i:03d}" xmlUrl="{url}"/>'
        for i, url in enumerate(server.urls())
    )
    opml.write_text(f'<opml version="2.0"><head/><body>{outlines}</body></opml>\n')
    environment = {**os.environ, **env}
    for setup in (["new", "bench@example.invalid"], ["opmlimport", str(opml)]):
        subprocess.run([r2e, *setup], env=environment, check=True, capture_output=True)
    return [r2e, "run", "--no-send"], env


def median_of(name: str, runs: list[Measure]) -> Measure:
    """One row for repeated runs: the median wall and CPU time, the highest peak."""
    last = runs[-1]
    return Measure(
        f"{name}, median of {len(runs)}",
        statistics.median(m.wall for m in runs),
        statistics.median(m.cpu for m in runs),
        max(m.peak_mb for m in runs),
        last.new,
        last.already_archived,
        statistics.median(m.run_seconds for m in runs),
        last.requests,
        last.not_modified,
    )


def startup(config: Path) -> list[Measure]:
    """`archiver --version`, `--help` and `check` as a user types them: the median of
    STARTUP_RUNS whole processes each."""
    archiver = ARCHIVER_VENV / "bin" / "archiver"
    commands: dict[str, list[str | Path]] = {
        "archiver --version": [archiver, "--version"],
        "archiver --help": [archiver, "--help"],
        "archiver check": [archiver, "check", "--config", config],
    }
    measures = []
    for name, command in commands.items():
        runs = [timed(name, command) for _ in range(STARTUP_RUNS)]
        wall = statistics.median(m.wall for m in runs)
        cpu = statistics.median(m.cpu for m in runs)
        measures.append(Measure(name, wall, cpu, max(m.peak_mb for m in runs)))
        print(f"  {name}: {wall:.3f} s (median of {STARTUP_RUNS})")
    return measures


def large_runs(
    corpus: list[bytes], latency: float, filler: int, repeats: int, work: Path
) -> list[Measure]:
    server = Server(corpus, latency)
    try:
        config = write_config(work / "feeds.yaml", server)
        output, report = work / "out", work / "report.json"
        runs = [run_archiver("1 cold", config, output, report, server)]
        warm = [
            run_archiver("2 warm (304)", config, output, report, server) for _ in range(repeats)
        ]
        runs.append(median_of("2 warm (304)", warm))
        server.validators = False
        same = [
            run_archiver("3 200, nothing new", config, output, report, server)
            for _ in range(repeats)
        ]
        runs.append(median_of("3 200, nothing new", same))
        shutil.rmtree(output / ".archiver")
        runs.append(run_archiver("3b same, no state", config, output, report, server))
        shutil.rmtree(output)
        fill_archive(output, filler)
        server.validators = True
        runs.append(run_archiver(f"4 cold, {filler:,} files", config, output, report, server))
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
    return runs


def small_runs(corpus: list[bytes], repeats: int, work: Path) -> list[Measure]:
    """Each system's cold run, then `repeats` rounds of the warm runs, one of each system
    in turn, so that a busy moment of the machine falls on all of them alike."""
    server = Server(corpus, 0.0)
    try:
        config = write_config(work / "small.yaml", server)
        output, report = work / "small-out", work / "small-report.json"
        cold = run_archiver("archiver cold", config, output, report, server)
        # Runs with nothing new have an archive of their own: without validators they
        # leave none in the state, and the warm runs need them.
        same_output = work / "small-out-same"
        shutil.copytree(output, same_output)
        reader = reader_commands(work, server)
        reader_cold = timed("reader cold", reader, server)
        r2e, r2e_env = rss2email_command(work, server)
        r2e_cold = timed("rss2email cold", r2e, server, r2e_env)
        print(f"  reader cold: {reader_cold.wall:.2f} s, rss2email cold: {r2e_cold.wall:.2f} s")
        rounds: dict[str, list[Measure]] = {}
        for _ in range(repeats):
            server.validators = True
            warm = run_archiver("archiver warm", config, output, report, server)
            rounds.setdefault("archiver warm (304)", []).append(warm)
            rounds.setdefault("reader warm (304)", []).append(timed("reader", reader, server))
            r2e_warm = timed("rss2email", r2e, server, r2e_env)
            rounds.setdefault("rss2email warm (304)", []).append(r2e_warm)
            server.validators = False
            same = run_archiver("archiver nothing new", config, same_output, report, server)
            rounds.setdefault("archiver nothing new", []).append(same)
        server.validators = True
        medians = {name: median_of(name, runs) for name, runs in rounds.items()}
        for measure in medians.values():
            print(f"  {measure.name}: {measure.wall:.2f} s")
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
    return [
        cold,
        medians["archiver warm (304)"],
        medians["archiver nothing new"],
        reader_cold,
        medians["reader warm (304)"],
        r2e_cold,
        medians["rss2email warm (304)"],
    ]


def print_table(title: str, measures: list[Measure]) -> None:
    print(f"\n{title}\n")
    print(f"{'run':<38}{'wall s':>8}{'cpu s':>8}{'in-run s':>10}{'peak MB':>9}{'GET/304':>12}")
    for m in measures:
        fetched = f"{m.requests}/{m.not_modified}" if m.requests else ""
        in_run = f"{m.run_seconds:.2f}" if m.run_seconds else ""
        print(f"{m.name:<38}{m.wall:>8.3f}{m.cpu:>8.2f}{in_run:>10}{m.peak_mb:>9.0f}{fetched:>12}")


@dataclass
class Target:
    name: str
    value: float
    limit: float  # met when value <= limit, or < limit when strict
    strict: bool = False

    @property
    def met(self) -> bool:
        return self.value < self.limit if self.strict else self.value <= self.limit


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per request")
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results.json")
    parser.add_argument("--filler", type=int, default=FILLER_FILES)
    parser.add_argument(
        "--small-only", action="store_true", help="the small corpus and start-up only"
    )
    parser.add_argument(
        "--repeats", type=int, default=5, help="runs of each warm run (the median is kept)"
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=None,
        help="folder to hold the archive (default: the system's temporary folder); "
        "/dev/shm leaves the disk out of the figures",
    )
    args = parser.parse_args()
    if not (SHARED / "feeds").is_dir():
        print(f"{SHARED / 'feeds'} is absent: the benchmark corpus sits beside the repo")
        return 2

    install_archiver()
    peers_python()
    small = build_small_corpus()
    corpus = [] if args.small_only else build_corpus()
    work = Path(tempfile.mkdtemp(prefix="archiver-bench-", dir=args.work))
    try:
        print(f"small corpus: {len(small)} feeds x {SMALL_ENTRIES} entries, no latency")
        small_measures = small_runs(small, args.repeats, work)
        small_bare = bare_loop("bare loop, one core", small)
        print("start-up")
        starts = startup(work / "small.yaml")
        large: list[Measure] = []
        if corpus:
            print(f"large corpus: {len(corpus)} feeds, latency {args.latency * 1000:.0f} ms")
            large = large_runs(corpus, args.latency, args.filler, max(1, args.repeats // 2), work)
            large.append(bare_loop("bare loop, one core", corpus))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    archiver_cold, archiver_warm, archiver_same, reader_cold, reader_warm, _, r2e_warm = (
        small_measures
    )
    targets = [
        Target("--version, s", starts[0].wall, 0.15),
        Target("--help, s", starts[1].wall, 0.15),
        Target("check, s", starts[2].wall, 0.3),
        Target("small: warm / reader warm", archiver_warm.wall / reader_warm.wall, 1, True),
        Target("small: warm / rss2email warm", archiver_warm.wall / r2e_warm.wall, 1, True),
        Target("small: nothing new / reader warm", archiver_same.wall / reader_warm.wall, 1, True),
        Target("small: nothing new / rss2email warm", archiver_same.wall / r2e_warm.wall, 1, True),
        Target("small: cold / reader cold", archiver_cold.wall / reader_cold.wall, 1, True),
        Target("small: cold / bare loop", archiver_cold.wall / small_bare.wall, 0.5),
    ]
    ideal_fetch = len(corpus) * args.latency / CONNECTIONS
    if large:
        cold, warm, same, no_state, big, bare = large
        targets += [
            Target("large: all 304 / ideal fetch", warm.wall / ideal_fetch, 1.2),
            Target("large: nothing new / ideal fetch", same.wall / ideal_fetch, 1.5),
            Target("large: no state, nothing new / ideal", no_state.wall / ideal_fetch, 2.2),
            Target("large: 100,000 files / cold", big.wall / cold.wall, 1.2),
            Target("large: peak memory, MB", max(m.peak_mb for m in large[:5]), 250),
            Target("large: cold / bare loop (no target)", cold.wall / bare.wall, float("inf")),
        ]

    print_table(
        f"small corpus: {len(small)} feeds x {SMALL_ENTRIES} entries, no latency",
        [*small_measures, small_bare],
    )
    print_table("start-up (median of whole processes)", starts)
    if large:
        entries = large[-1].new
        print_table(
            f"large corpus: {len(corpus)} feeds, {entries:,} entries, latency "
            f"{args.latency * 1000:.0f} ms, ideal fetch {ideal_fetch:.2f} s",
            large,
        )
    print(f"\n{'target':<42}{'value':>8}{'limit':>8}  met")
    for target in targets:
        limit = (
            "-"
            if target.limit == float("inf")
            else f"{'<' if target.strict else '≤'}{target.limit:g}"
        )
        print(f"{target.name:<42}{target.value:>8.3f}{limit:>8}  {'yes' if target.met else 'NO'}")
    results = {
        "load_average": os.getloadavg(),
        "small": [asdict(m) for m in [*small_measures, small_bare]],
        "startup": [asdict(m) for m in starts],
        "large": [asdict(m) for m in large],
        "ideal_fetch_seconds": ideal_fetch,
        "targets": [asdict(t) | {"met": t.met} for t in targets],
    }
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
