"""Private feeds through the CLI against loopback servers: a token in the query,
an API key header and basic auth, from the environment or written out in feeds.yaml, never
in a file under the archive, the report, the step summary, standard output or error."""

from __future__ import annotations

import asyncio
import base64
import io
import string
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archiver.cli.main import EXIT_FEED_FAILED, EXIT_OK, EXIT_USAGE, main
from archiver.config.load import parse_config
from archiver.config.model import FeedConfig
from archiver.config.secrets import MARKER
from archiver.fetch.client import Fetcher, make_client

from .conftest import FeedServer, Handler, Reply, Request, write_config

TOKEN = "tok3n-Qx7Rv2"
API_KEY = "k3y-Wm4Pz8"
USER = "reader-Jd5"
PASSWORD = "pa55-Ns6Lt1"
SECRETS = (TOKEN, API_KEY, USER, PASSWORD)


def private_rss(secret: str, *titles: str) -> bytes:
    """A feed that, as private podcast feeds do, repeats its reader's token in its items."""
    items = "".join(
        f"<item><title>{t}</title><guid isPermaLink='false'>{t}</guid>"
        f"<link>https://members.example.org/{t}?token={secret}</link>"
        f"<enclosure url='https://cdn.example.org/{t}.mp3?token={secret}' type='audio/mpeg'"
        " length='1'/>"
        f"<description>&lt;p&gt;Listen: &lt;a href='https://cdn.example.org/{t}?key={secret}'"
        "&gt;here&lt;/a&gt;&lt;/p&gt;</description>"
        "<pubDate>Mon, 01 Jan 2024 10:00:00 GMT</pubDate></item>"
        for t in titles
    )
    return f"<rss version='2.0'><channel><title>members</title>{items}</channel></rss>".encode()


class PrivateSite:
    """Feeds that answer only the right token, API key or password (`expected` may change,
    as when a site rotates a token), each with an ETag."""

    def __init__(self, server: FeedServer) -> None:
        self.expected = {"token": TOKEN, "key": API_KEY, "password": PASSWORD}
        self.server = server
        server.route(
            "/query", self._guarded("query", lambda r: f"token={self.expected['token']}" in r.path)
        )
        server.route(
            "/header", self._guarded("header", lambda r: r.headers.get("x-api-key") == API_KEY)
        )
        server.route("/basic", self._guarded("basic", self._basic_auth))
        # Moved for good, to an address with the token in it.
        server.route(
            "/moved",
            lambda r: Reply(301, headers={"Location": f"/query?token={self.expected['token']}"}),
        )

    def _basic_auth(self, request: Request) -> bool:
        pair = f"{USER}:{self.expected['password']}".encode()
        return request.headers.get("authorization") == "Basic " + base64.b64encode(pair).decode()

    def _guarded(self, name: str, allowed: Callable[[Request], bool]) -> Handler:
        def handler(request: Request) -> Reply:
            if not allowed(request):
                return Reply(401, f"no: {request.path}".encode())
            if request.headers.get("if-none-match") == '"v1"':
                return Reply(304, headers={"ETag": '"v1"'})
            body = private_rss(self.expected["token"], f"{name}-first", f"{name}-second")
            return Reply(200, body, {"Content-Type": "application/rss+xml", "ETag": '"v1"'})

        return handler


def config_text(server: FeedServer, *, literal: bool) -> str:
    token, key = (TOKEN, API_KEY) if literal else ("${FEED_TOKEN}", "${FEED_API_KEY}")
    user, password = (USER, PASSWORD) if literal else ("${FEED_USER}", "${FEED_PASSWORD}")
    host = server.base.removeprefix("http://")
    return (
        "defaults:\n"
        "  retries: 0\n"
        "  workers: 1\n"
        "feeds:\n"
        "  - name: query\n"
        f"    url: {server.base}/query?token={token}\n"
        "  - name: header\n"
        f"    url: {server.base}/header\n"
        "    headers:\n"
        f"      X-Api-Key: {key}\n"
        "  - name: basic\n"
        f"    url: http://{user}:{password}@{host}/basic\n"
        "  - name: moved\n"
        f"    url: {server.base}/moved?token={token}\n"
    )


ENV = {
    "FEED_TOKEN": TOKEN,
    "FEED_API_KEY": API_KEY,
    "FEED_USER": USER,
    "FEED_PASSWORD": PASSWORD,
}


class Session:
    """The CLI run as a user runs it, every word it prints kept."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.out = tmp_path / "out"
        self.config = tmp_path / "feeds.yaml"
        self.summary = tmp_path / "step-summary.md"
        self.env = env | {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(self.summary)}
        self.printed: list[str] = []
        self.reports: list[Path] = []

    def __call__(self, *args: str) -> tuple[int, str, str]:
        stdout, stderr = io.StringIO(), io.StringIO()
        code = main(
            ["--version"] if not args else list(args), stdout=stdout, stderr=stderr, env=self.env
        )
        self.printed += [stdout.getvalue(), stderr.getvalue()]
        return code, stdout.getvalue(), stderr.getvalue()

    def run(self, *extra: str) -> tuple[int, str, str]:
        report = self.out.parent / f"report-{len(self.reports)}.json"
        self.reports.append(report)
        return self(
            "run",
            "--config",
            str(self.config),
            "--output",
            str(self.out),
            "--report",
            str(report),
            *extra,
        )

    def written(self) -> Iterator[tuple[str, bytes]]:
        """(name, content) of everything written: the archive's files (their paths too),
        the reports, the step summary, and what was printed."""
        for path in sorted(self.out.rglob("*")):
            yield f"path {path}", str(path).encode()
            if path.is_file():
                yield str(path), path.read_bytes()
        for path in [*self.reports, self.summary]:
            if path.exists():
                yield str(path), path.read_bytes()
        for number, text in enumerate(self.printed):
            yield f"printed #{number}", text.encode()


def leaks(session: Session, secrets: tuple[str, ...]) -> list[str]:
    return [
        f"{secret!r} in {name}"
        for name, content in session.written()
        for secret in secrets
        if secret.encode() in content
    ]


@pytest.mark.parametrize("literal", [False, True], ids=["from-env", "written-out"])
def test_no_secret_reaches_the_archive_the_report_or_the_logs(
    server: FeedServer, tmp_path: Path, literal: bool
) -> None:
    site = PrivateSite(server)
    session = Session(tmp_path, {} if literal else ENV)
    write_config(session.config, config_text(server, literal=literal))

    code, stdout, stderr = session.run("--log-format", "json", "-v", "--apply-redirects")
    assert code == EXIT_OK, stderr
    assert stdout.count('"event": "feed"') == 4
    assert stdout.count('"new": 2') == 3  # query, header and basic; "moved" is query's twin
    assert f"/query?token={MARKER}; update its url" in stdout  # moved permanently
    assert "its url carries a secret, so change it by hand" in stdout  # not applied

    assert session.run()[0] == EXIT_OK  # 304s

    # The site rotates its token and password: 401s, with the old ones in the requests.
    site.expected = {"token": "n3w-t0ken-Zz9", "key": API_KEY, "password": "n3w-pa55-Yy8"}
    code, _, stderr = session.run()
    assert code == EXIT_FEED_FAILED
    assert "HTTP 401 Unauthorized" in stderr
    site.expected = {"token": TOKEN, "key": API_KEY, "password": PASSWORD}

    session("status", "--config", str(session.config), "--output", str(session.out))
    session("status", "--json", "--config", str(session.config), "--output", str(session.out))
    code, opml, _ = session("export-opml", "--config", str(session.config))
    session("check", "--config", str(session.config), "--output", str(session.out))

    entries = [p for p in session.out.rglob("*.md") if p.parent != session.out]
    assert len([p for p in entries if p.name != "index.md"]) == 6
    front = next(p for p in entries if p.name.startswith("query-first")).read_text()
    assert f"  url: {server.base}/query?token={MARKER}\n" in front  # the feed's
    assert f"url: https://members.example.org/query-first?token={MARKER}\n" in front
    if not literal:
        assert f'xmlUrl="{server.base}/query?token=${{FEED_TOKEN}}"' in opml
    assert leaks(session, SECRETS) == []
    # The requests carried them: the test would see a leak if there were one.
    assert any(f"token={TOKEN}" in r.path for r in server.requests)


def test_rotating_the_token_archives_nothing_twice(server: FeedServer, tmp_path: Path) -> None:
    site = PrivateSite(server)
    session = Session(tmp_path, ENV)
    write_config(session.config, config_text(server, literal=False))
    assert session.run()[0] == EXIT_OK
    files = sorted(session.out.rglob("*.md"))
    site.expected = {"token": "r0tated-T0ken", "key": API_KEY, "password": PASSWORD}
    session.env["FEED_TOKEN"] = "r0tated-T0ken"
    code, stdout, _ = session.run()
    assert code == EXIT_OK
    assert "query: not modified" in stdout  # the state's validators still apply
    assert sorted(session.out.rglob("*.md")) == files


def test_an_unset_variable_stops_the_run_before_any_request(
    server: FeedServer, tmp_path: Path
) -> None:
    PrivateSite(server)
    session = Session(tmp_path, {"FEED_TOKEN": TOKEN})
    write_config(session.config, config_text(server, literal=False))
    code, stdout, stderr = session.run()
    assert code == EXIT_USAGE
    assert stdout == ""
    assert (
        f"archiver: {session.config}:10: feeds[1].headers.X-Api-Key: feed 'header' needs the "
        "environment "
        "variable FEED_API_KEY, which is not set\n"
    ) in stderr
    assert "feeds[2].url: feed 'basic' needs the environment variable FEED_USER" in stderr
    assert server.requests == []
    # check validates without them, and says which are missing.
    code, stdout, stderr = session("check", "--config", str(session.config))
    assert code == EXIT_OK
    assert "configuration OK" in stdout
    assert "FEED_PASSWORD, which is not set (archiver run needs it)" in stdout
    assert TOKEN not in stdout + stderr


def test_a_run_of_some_feeds_needs_only_their_variables(server: FeedServer, tmp_path: Path) -> None:
    PrivateSite(server)
    session = Session(tmp_path, {"FEED_TOKEN": TOKEN})
    write_config(session.config, config_text(server, literal=False))
    code, stdout, stderr = session.run("--feed", "query")
    assert code == EXIT_OK, stderr
    assert "query: 2 new" in stdout
    code, _, stderr = session("backfill", "--config", str(session.config), "--feed", "header")
    assert code == EXIT_USAGE
    assert "feed 'header' needs the environment variable FEED_API_KEY" in stderr


def test_a_literal_token_from_add_or_import_opml_is_flagged(
    server: FeedServer, tmp_path: Path
) -> None:
    PrivateSite(server)
    session = Session(tmp_path, {})
    write_config(session.config, "feeds:\n  - name: other\n    url: https://example.org/f\n")
    code, stdout, stderr = session(
        "add", f"{server.base}/query?token={TOKEN}", "--config", str(session.config)
    )
    assert code == EXIT_OK, stderr
    assert f"/query?token={MARKER}" in stdout
    assert "put it in an environment variable and write the url as" in stderr
    assert "/query?token=${FEED_TOKEN}" in stderr
    opml = tmp_path / "subscriptions.opml"
    opml.write_text(
        "<opml version='2.0'><body>"
        f"<outline text='basic' xmlUrl='https://{USER}:{PASSWORD}@example.org/basic'/>"
        "</body></opml>"
    )
    code, stdout, stderr = session("import-opml", str(opml), "--config", str(session.config))
    assert code == EXIT_OK
    assert "https://${FEED_USER}:${FEED_PASSWORD}@example.org/basic" in stderr
    assert TOKEN not in stdout + stderr and PASSWORD not in stdout + stderr


# --- where credentials may go ------------------------------------------------------------------


@pytest.fixture
def elsewhere() -> Iterator[FeedServer]:
    """Another origin: the same loopback address on another port."""
    with FeedServer() as other:
        yield other


CREDENTIAL_HEADERS = ("x-api-key", "authorization", "cookie")


def private_feed(url: str) -> FeedConfig:
    return parse_config(
        "feeds:\n  - name: p\n"
        f"    url: {url.replace('http://', 'http://${U}:${P}@')}\n"
        "    allow_private: true\n"
        "    retries: 0\n"
        "    headers:\n"
        "      X-Api-Key: ${KEY}\n"
        "      Cookie: session=${KEY}\n"
        "      User-Agent: Mozilla/5.0 (archiver test)\n",
        "feeds.yaml",
        {"U": USER, "P": PASSWORD, "KEY": API_KEY},
    ).feeds[0]


async def _fetch_all(feed: FeedConfig, urls: list[str]) -> None:
    async with make_client() as client:
        fetcher = Fetcher(client, concurrency=2, per_host=2)
        await fetcher.fetch(feed, None)
        for url in urls:
            await fetcher.fetch_image(url, feed)


def test_credentials_go_to_the_feeds_own_origin_only(
    server: FeedServer, elsewhere: FeedServer
) -> None:
    png = Reply(200, b"\x89PNG\r\n\x1a\n", {"Content-Type": "image/png"})
    for host in (server, elsewhere):
        host.always("/feed", Reply(200, private_rss("-"), {"Content-Type": "application/rss+xml"}))
        host.always("/img.png", png)
    # The feed redirects to the other origin, which redirects back (as the spec's A1 → B → A2).
    server.always("/start", Reply(302, headers={"Location": elsewhere.url("/hop")}))
    elsewhere.always("/hop", Reply(302, headers={"Location": server.url("/feed")}))
    elsewhere.always("/away", Reply(302, headers={"Location": server.url("/img.png")}))
    feed = private_feed(server.url("/start"))
    asyncio.run(
        _fetch_all(
            feed, [server.url("/img.png"), elsewhere.url("/img.png"), elsewhere.url("/away")]
        )
    )

    def sent(host: FeedServer, path: str) -> list[dict[str, str]]:
        return [r.headers for r in host.hits(path)]

    own = sent(server, "/start") + sent(server, "/feed") + sent(server, "/img.png")
    assert len(own) == 4
    for headers in own:
        assert headers["x-api-key"] == API_KEY
        assert headers["cookie"] == f"session={API_KEY}"
        assert headers["authorization"].startswith("Basic ")
    for headers in sent(elsewhere, "/hop") + sent(elsewhere, "/img.png") + sent(elsewhere, "/away"):
        assert headers["user-agent"] == "Mozilla/5.0 (archiver test)"
        assert not set(CREDENTIAL_HEADERS) & set(headers), headers
    assert len(sent(elsewhere, "/img.png")) == 1
    for request in server.requests + elsewhere.requests:
        assert USER not in request.path and PASSWORD not in request.path


# --- a property: no secret of any config in anything written ---------------------------------

# Random text, prefixed: hypothesis also tries the strings it finds in archiver's code
# ("catalog.", "README"), which the archive holds whether a secret is leaked or not.
SECRET_TEXT = st.text(string.ascii_letters + string.digits + "-_.~", min_size=6, max_size=20).map(
    lambda core: f"sk-{core}"
)
PLACES = st.sampled_from(["token", "path", "other-param", "header", "cookie", "user", "password"])


@pytest.fixture(scope="module")
def shared_server() -> Iterator[FeedServer]:
    with FeedServer() as feed_server:
        yield feed_server


def random_config(
    server: FeedServer, feeds: list[tuple[str, str, bool, int]]
) -> tuple[str, dict[str, str]]:
    env: dict[str, str] = {}
    lines = ["defaults:", "  retries: 0", "  workers: 1", "feeds:"]
    for number, (place, secret, literal, _) in enumerate(feeds):
        value = secret if literal and place not in ("path", "other-param") else f"${{S{number}}}"
        env[f"S{number}"] = secret
        path, query, headers, userinfo = f"/p{number}", "", [], ""
        if place == "token":
            query = f"?token={value}"
        elif place == "path":
            path = f"/p{number}/{value}/rss"
        elif place == "other-param":
            query = f"?id={value}"
        elif place == "header":
            headers = [f"      Authorization: Bearer {value}"]
        elif place == "cookie":
            headers = [f"      Cookie: sid={value}"]
        elif place == "user":
            userinfo = f"{value}@"
        else:
            userinfo = f"reader:{value}@"
        host = server.base.removeprefix("http://")
        lines += [f"  - name: f{number}", f"    url: http://{userinfo}{host}{path}{query}"]
        lines += ["    headers:", *headers] if headers else []
    return "\n".join(lines) + "\n", env


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    feeds=st.lists(
        st.tuples(PLACES, SECRET_TEXT, st.booleans(), st.sampled_from([200, 301, 302, 401, 500])),
        min_size=1,
        max_size=3,
    )
)
def test_no_secret_of_a_random_config_appears_in_anything_written(
    shared_server: FeedServer, feeds: list[tuple[str, str, bool, int]]
) -> None:
    secrets = tuple(secret for _, secret, _, _ in feeds)
    for number, (_, secret, _, status) in enumerate(feeds):
        body = private_rss(secret, f"post-{number}", f"another-{number}")
        ok = Reply(200, body, {"Content-Type": "application/rss+xml"})
        if status in (301, 302):
            # To the same place, with every secret in the new address.
            target = f"/p{number}-moved?token={secret}&key={secret}"
            shared_server.always(f"/p{number}", Reply(status, headers={"Location": target}))
            shared_server.always(f"/p{number}-moved", ok)
        else:
            reply = ok if status == 200 else Reply(status, f"no {secret}".encode())
            shared_server.always(f"/p{number}", reply)
        shared_server.routes[f"/p{number}/{secret}/rss"] = shared_server.routes[f"/p{number}"]
    text, env = random_config(shared_server, feeds)
    with tempfile.TemporaryDirectory() as folder:
        session = Session(Path(folder), env)
        write_config(session.config, text)
        session.run("--log-format", "json", "-v")
        session.run()
        session("status", "--json", "--config", str(session.config), "--output", str(session.out))
        session("export-opml", "--config", str(session.config))
        assert leaks(session, secrets) == [], text
