"""`make bench`: archiver against the bare libraries, on a corpus served over loopback.

Serves the feeds of ../shared/feeds and ../shared/seed, replicated with distinct links to
~200 feeds and ~10,000 entries, on 127.0.0.1 with a latency injected into every request,
then times whole `archiver run` processes:

  1 cold      an empty archive
  2 warm      every feed answers 304
  3 same      every feed answers 200 (no validators) with nothing new
  3b no-state as 3, with DIR/.archiver deleted (ids rebuilt from the files)
  4 big       cold again, with 100,000 files already in the archive

and, in this process, the bare library work for the same bytes: feedparser.parse with its
defaults plus markdownify.markdownify for every entry, in one loop. Prints a table and the
ratios the performance targets are written in, and writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import feedparser
import markdownify

from archiver.errors import ParseError
from archiver.parse import parse_feed
from archiver.pipeline import rebuild_index
from archiver.store import Archive

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
TARGET_FEEDS = 200
TARGET_ENTRIES = 10_000
FILLER_FILES = 100_000

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


class Server:
    """Serves feed i at /f/i after `latency` seconds; answers 304 to matching validators
    unless `validators` is off (then every request gets the full body, and no ETag)."""

    def __init__(self, bodies: list[bytes], latency: float) -> None:
        self.bodies = bodies
        self.etags = [f'"{hashlib.sha256(b).hexdigest()[:16]}"' for b in bodies]
        self.latency = latency
        self.validators = True
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                time.sleep(server.latency)
                index = int(self.path.rsplit("/", 1)[1])
                body, etag = server.bodies[index], server.etags[index]
                if server.validators and self.headers.get("If-None-Match") == etag:
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

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}/f/{index}"


@dataclass
class Measure:
    name: str
    wall: float
    cpu: float
    peak_mb: float
    new: int
    seen: int
    run_seconds: float  # from the run's own report: without interpreter start-up

    @property
    def entries_per_second(self) -> float:
        return (self.new + self.seen) / self.wall if self.wall else 0.0


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


def run_archiver(name: str, config: Path, output: Path, report: Path) -> Measure:
    # What the benchmark itself has just written (the 100,000 files of run 4) is flushed
    # first: a run's syncfs would flush it too, a cost a real archive, written long
    # before, does not have.
    os.sync()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    command = [sys.executable, "-m", "archiver", "run", "--config", str(config)]
    command += ["--output", str(output), "--report", str(report), "-q"]
    # The corpus keeps its broken feeds (they fail on purpose): their lines are dropped
    # here and counted from the report below.
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss_kb(process.pid))
        time.sleep(0.05)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    document = json.loads(report.read_text())
    summary = document["summary"]
    failed = [f for f in document["feeds"] if f["status"] == "failed"]
    print(f"run {name}: {wall:.1f} s, {len(failed)} feeds failed (the corpus's broken ones)")
    run_seconds = _seconds(document["started"], document["finished"])
    return Measure(
        name,
        wall,
        cpu,
        peak / 1024,
        summary["entries"]["new"],
        summary["entries"]["already_archived"],
        run_seconds,
    )


def _seconds(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def bare_loop(corpus: list[bytes]) -> Measure:
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
    return Measure("bare", wall, time.process_time() - cpu_before, peak, count, 0, wall)


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
    rebuild_index(archive, archive.scan_ids())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per request")
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results.json")
    parser.add_argument("--filler", type=int, default=FILLER_FILES)
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

    corpus = build_corpus()
    server = Server(corpus, args.latency)
    work = Path(tempfile.mkdtemp(prefix="archiver-bench-", dir=args.work))
    try:
        config = work / "feeds.yaml"
        lines = ["defaults:", "  concurrency: 8", "  per_host: 8", "  retries: 0", "feeds:"]
        for i in range(len(corpus)):
            lines += [f"  - name: feed-{i:03d}", f"    url: {server.url(i)}"]
        config.write_text("\n".join(lines) + "\n")
        output, report = work / "out", work / "report.json"

        runs = [run_archiver("1 cold", config, output, report)]
        runs.append(run_archiver("2 warm (304)", config, output, report))
        server.validators = False
        runs.append(run_archiver("3 200, nothing new", config, output, report))
        shutil.rmtree(output / ".archiver")
        runs.append(run_archiver("3b same, no state", config, output, report))
        shutil.rmtree(output)
        fill_archive(output, args.filler)
        server.validators = True
        runs.append(run_archiver(f"4 cold, {args.filler:,} files", config, output, report))
        bare = bare_loop(corpus)
    finally:
        server.httpd.shutdown()
        shutil.rmtree(work, ignore_errors=True)

    cold, warm, same, no_state, big = runs
    ideal_fetch = len(corpus) * args.latency / 8
    ratios = {
        "cold / bare (target <= 0.5)": cold.wall / bare.wall,
        "warm 304 / cold (target <= 0.03)": warm.wall / cold.wall,
        "200 nothing new / cold (target <= 0.15)": same.wall / cold.wall,
        "no state, nothing new / cold (target <= 0.30)": no_state.wall / cold.wall,
        "cold with 100k files / cold (target <= 1.2)": big.wall / cold.wall,
        "fetch phase (warm run) / ideal (target <= 1.5)": warm.run_seconds / ideal_fetch,
    }
    print(f"\n{len(corpus)} feeds, {bare.new:,} entries, latency {args.latency * 1000:.0f} ms\n")
    print(f"{'run':<26}{'wall s':>8}{'cpu s':>8}{'in-run s':>10}{'entries/s':>11}{'peak MB':>9}")
    for m in [*runs, bare]:
        print(
            f"{m.name:<26}{m.wall:>8.2f}{m.cpu:>8.2f}{m.run_seconds:>10.2f}"
            f"{m.entries_per_second:>11.0f}{m.peak_mb:>9.0f}"
        )
    print()
    for name, value in ratios.items():
        print(f"{name:<50}{value:>7.3f}")
    results = {
        "feeds": len(corpus),
        "entries": bare.new,
        "latency": args.latency,
        "ideal_fetch_seconds": ideal_fetch,
        "runs": [asdict(m) | {"entries_per_second": m.entries_per_second} for m in runs],
        "bare": asdict(bare),
        "ratios": ratios,
    }
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nfigures written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
