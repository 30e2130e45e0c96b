"""Archive ../shared/feeds (and the seed) on loopback into DIR, once per flavour, through the
installed `archiver` command: the archive a change that should not alter output is checked
against.

    python bench/corpus_archive.py DIR [--archiver PATH]
    python bench/corpus_archive.py --compare BEFORE AFTER

Every feed is served from a fixed loopback port, so URLs, ids and paths are the same from one
call to the next; each flavour is run twice (the second run must write nothing) and then
`archiver index`. The commands' outputs go beside the archives, with times and durations
masked. What differs between two calls on the same tree, and what `--compare` therefore
masks: the dates of entries that have none (they take the run's time) and the digests of their
files, the times inside `.archiver/`, and the order of lines the concurrent run writes as feeds
finish (the catalog, the logs).
"""

from __future__ import annotations

import argparse
import fcntl
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
PORT = 18765
FLAVORS = ("default", "hugo", "jekyll", "hexo", "obsidian")


def sources() -> dict[str, Path]:
    """URL path → file: every corpus feed, the seed's feed and the hostile fixtures."""
    files = sorted(p for p in (SHARED / "feeds").glob("*/*") if p.suffix not in (".md", ".tsv"))
    files += [SHARED / "seed" / "huxiu-rsshub.xml"]
    files += sorted((REPO / "tests" / "fixtures").glob("hostile-*"))
    return {f"/{p.parent.name}/{p.name}": p for p in files}


def serve(routes: dict[str, Path]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = routes.get(self.path)
            if path is None:
                self.send_error(404)
                return
            body = path.read_bytes()
            kind = "application/json" if path.suffix == ".json" else "application/xml"
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def config_text(routes: dict[str, Path], flavor: str) -> str:
    lines = ["defaults:", "  retries: 0", f"  flavor: {flavor}", "feeds:"]
    for route in routes:
        name = route.strip("/").replace("/", "-")
        lines += [f"  - name: {name}", f"    url: http://127.0.0.1:{PORT}{route}"]
    return "\n".join(lines) + "\n"


TIMES = re.compile(r"\d+(\.\d+)? ?(ms|s)\b|\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d)?\S*")


def command(archiver: str, *args: str) -> str:
    done = subprocess.run([archiver, *args], capture_output=True, text=True, check=False)
    output = f"$ archiver {' '.join(args)}\nexit {done.returncode}\n{done.stdout}{done.stderr}"
    return TIMES.sub("<time>", output)


def run_time_pattern() -> re.Pattern[str]:
    """A time on today's or yesterday's date (UTC), in any of the flavours' spellings."""
    today = datetime.now(timezone.utc).date()
    days = "|".join(str(day) for day in (today, today - timedelta(days=1)))
    return re.compile(rf"(?:{days})[T ]\d\d:\d\d(?::\d\d)?(?:\.\d+)?(?: ?[+-]\d\d:?\d\d)?")


RUN_TIME = run_time_pattern()
ANY_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00")
DIGESTS = re.compile(r'"written": \{[^}]*\}')
RUN_DAY = re.compile(r"\b\d{4}/\d\d/\d\d/")
UNORDERED = ("catalog.jsonl", ".log")


def normalised(path: Path, root: Path) -> str:
    """The file's text with what legitimately differs between two runs masked."""
    text = path.read_text(encoding="utf-8", errors="replace").replace(str(root), "<out>")
    lines = [masked(line, path) for line in text.splitlines()]
    if path.name.endswith(UNORDERED):
        lines.sort()
    return "\n".join(lines)


def masked(line: str, path: Path) -> str:
    if RUN_TIME.search(line) and path.name == "catalog.jsonl":
        line = DIGESTS.sub('"written": <digests>', line)
    line = RUN_TIME.sub("<run time>", line)
    return ANY_TIME.sub("<time>", line) if ".archiver" in path.parts else line


def compare(before: Path, after: Path) -> int:
    """Print each file that differs (or is only on one side) after masking; 1 if any."""

    def files(root: Path) -> set[Path]:
        found = {p.relative_to(root) for p in root.rglob("*") if p.is_file()}
        return {p for p in found if p.name != "lock" and p.suffix != ".yaml"}

    left, right = files(before), files(after)
    differing = sorted(left ^ right)
    differing += sorted(
        p for p in left & right if normalised(before / p, before) != normalised(after / p, after)
    )
    for path in differing:
        print(path)
    print(f"{len(left)} and {len(right)} files; {len(differing)} differ")
    return 1 if differing else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, nargs="+")
    parser.add_argument("--archiver", default=str(Path(sys.executable).with_name("archiver")))
    parser.add_argument("--compare", action="store_true", help="compare the two archives given")
    args = parser.parse_args()
    if args.compare:
        return compare(*(path.resolve() for path in args.out))
    args.out = args.out[0]
    routes = sources()
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    # The port is fixed (it is in every URL, id and file); two calls at once take turns.
    with open(Path(tempfile.gettempdir()) / f"archiver-corpus-{PORT}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        archive_corpus(args.out, args.archiver, routes)
    return 0


def archive_corpus(out: Path, archiver: str, routes: dict[str, Path]) -> None:
    server = serve(routes)
    try:
        for flavor in FLAVORS:
            config = out / f"{flavor}.yaml"
            config.write_text(config_text(routes, flavor), encoding="utf-8")
            where = ["--config", str(config), "--output", str(out / flavor)]
            log = [command(archiver, verb, *where) for verb in ("run", "run", "index")]
            (out / f"{flavor}.log").write_text("\n".join(log), encoding="utf-8")
    finally:
        server.shutdown()


if __name__ == "__main__":
    sys.exit(main())
