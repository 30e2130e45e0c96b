"""Secrets: ${NAME} from the environment, shown URLs, the Redactor, and the
config's access to a private feed, which only the fetcher reads."""

from __future__ import annotations

import asyncio
import io
import itertools
import pickle
from pathlib import Path

import httpx
import pytest

from archiver.archive.shard import Shard
from archiver.config.load import parse_config
from archiver.config.model import Config
from archiver.config.secrets import (
    MARKER,
    Redactor,
    configured_url,
    credential_hint,
    expand,
    placeholder_problem,
    redact_url,
    shown_url,
)
from archiver.errors import ConfigError, FetchError
from archiver.fetch.client import Fetcher, make_client
from archiver.pipeline.run import RunOptions, run_async
from archiver.report.console import redacted

from .conftest import FIXED_NOW, streamed


def feed_config(text: str, env: dict[str, str] | None = None) -> Config:
    return parse_config(f"feeds:\n  - name: f\n{text}", "feeds.yaml", env)


# --- ${NAME} ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("plain", "plain"),
        ("${A}", "1"),
        ("x${A}y${B_2}z", "x1y22z"),
        ("$$", "$"),
        ("$${A}", "${A}"),  # an escaped dollar, then the text {A}
        ("costs $5", "costs $5"),  # a lone dollar stays
    ],
)
def test_expand(template: str, expected: str) -> None:
    assert expand(template, {"A": "1", "B_2": "22"}.__getitem__) == expected


@pytest.mark.parametrize("template", ["${}", "${1A}", "${A-B}", "${A", "x${ A}"])
def test_malformed_placeholders_are_named(template: str) -> None:
    assert placeholder_problem(template) is not None


# --- shown URLs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/feed.xml",
        "https://Example.org/members/feed.xml?page=2&utm_source=x",
        "https://example.org/f?",
        "https://example.org/f?token=",  # no value: nothing to hide
        "https://example.org/f?tokens=1&monkey=2",
        "https://example.org/$5",
    ],
)
def test_a_url_without_secrets_is_shown_exactly_as_written(url: str) -> None:
    assert redact_url(url) == url
    assert shown_url(url) == url
    assert configured_url(url) == url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://e.org/f?token=abc", "https://e.org/f?token=***"),
        ("https://e.org/f?a=1&API_KEY=abc&b=2", "https://e.org/f?a=1&API_KEY=***&b=2"),
        ("https://bob:pw@e.org/f", "https://***:***@e.org/f"),
        ("https://bob@e.org/f", "https://***@e.org/f"),
        (
            "https://e.org/f.private.atom?token=abc#top",
            "https://e.org/f.private.atom?token=***#top",
        ),
    ],
)
def test_credentials_written_out_are_replaced_by_the_marker(url: str, shown: str) -> None:
    assert shown_url(url) == shown


def test_a_token_moved_into_the_environment_keeps_the_feeds_identity() -> None:
    literal = "https://bob:pw@e.org/f?token=abc&page=2"
    from_env = "https://${USER}:${PASSWORD}@e.org/f?token=${TOKEN}&page=2"
    assert shown_url(literal) == shown_url(from_env) == "https://***:***@e.org/f?token=***&page=2"


def test_a_variable_anywhere_is_shown_as_the_marker() -> None:
    assert shown_url("https://e.org/feeds/${ID}/rss?u=${ID}") == "https://e.org/feeds/***/rss?u=***"


def test_secret_params_add_credential_names() -> None:
    assert shown_url("https://e.org/f?hash=abc") == "https://e.org/f?hash=abc"
    assert shown_url("https://e.org/f?hash=abc", ["hash"]) == "https://e.org/f?hash=***"


def test_configured_url_keeps_placeholders_and_hides_what_is_written_out() -> None:
    assert configured_url("https://${U}:pw@e.org/f?token=${T}&key=abc") == (
        "https://${U}:***@e.org/f?token=${T}&key=***"
    )


def test_credential_hint_shows_the_environment_way() -> None:
    hint = credential_hint("https://bob:pw@e.org/f?api_key=abc&page=2")
    assert hint is not None
    assert "https://${FEED_USER}:${FEED_PASSWORD}@e.org/f?api_key=${FEED_API_KEY}&page=2" in hint
    assert "abc" not in hint.replace("FEED_API_KEY", "")
    assert credential_hint("https://e.org/f?page=2") is None


# --- the Redactor ---------------------------------------------------------------------------


def test_the_redactor_finds_a_secret_in_each_form_it_is_written_in() -> None:
    secret = 'a/b c&d"e+f'
    redactor = Redactor([secret])
    for form in (
        secret,
        "a%2Fb%20c%26d%22e%2Bf",
        "a%2fb%20c%26d%22e%2bf",  # percent-encoding in lower case
        "a/b+c%26d%22e%2Bf",
        "a/b c&amp;d&quot;e+f",
        "a&#47;b&#32;c&#38;d&#34;e&#43;f",  # characters by their numbers
        "a&#x2f;b&#x20;c&#x26;d&#x22;e&#x2b;f",
    ):
        assert redactor.text(f"<{form}>") == f"<{MARKER}>", form
    assert redactor.text('{"s": "a\\/b c&d\\"e+f"}') == '{"s": "***"}'
    assert redactor.data(f"x{secret}x".encode()) == b"x***x"


def test_the_redactor_leaves_values_too_short_to_tell_from_text() -> None:
    assert Redactor(["bob", "2024"]).text("bob wrote in 2024") == "bob wrote in 2024"
    assert not Redactor(["bob"])


# --- the config -------------------------------------------------------------------------------


def test_a_private_feed_shows_its_marked_url_and_requests_the_real_one() -> None:
    config = feed_config(
        "    url: https://${FEED_USER}:${FEED_PASS}@e.org/f?token=${TOKEN}&page=2\n"
        "    headers:\n"
        "      X-Api-Key: ${KEY}\n"
        "      User-Agent: Mozilla/5.0\n",
        {"FEED_USER": "reader", "FEED_PASS": "p@ss:w/rd", "TOKEN": "tok3n-abc", "KEY": "k3y-xyz"},
    )
    feed = config.feeds[0]
    assert feed.url == "https://***:***@e.org/f?token=***&page=2"
    assert feed.configured_url == "https://${FEED_USER}:${FEED_PASS}@e.org/f?token=${TOKEN}&page=2"
    access = feed.request
    assert access.url == "https://e.org/f?token=tok3n-abc&page=2"  # no user in it: basic auth
    assert access.auth == ("reader", "p@ss:w/rd")
    assert access.headers == (("User-Agent", "Mozilla/5.0"),)
    assert access.credential_headers == (("X-Api-Key", "k3y-xyz"),)
    assert set(access.secrets) >= {"reader", "p@ss:w/rd", "tok3n-abc", "k3y-xyz"}
    assert config.unset == ()
    for shown in (repr(feed), str(feed), repr(config)):
        for secret in access.secrets:
            assert secret not in shown
    # What the worker processes are sent holds none of it either.
    assert b"tok3n-abc" not in pickle.dumps(feed.public())


def test_credentials_written_out_are_secrets_too() -> None:
    feed = feed_config(
        "    url: https://e.org/f?token=tok3n-abc\n"
        "    headers:\n"
        "      Cookie: session=c00kie-value; theme=dark\n"
    ).feeds[0]
    assert feed.url == "https://e.org/f?token=***"
    assert feed.request.url == "https://e.org/f?token=tok3n-abc"
    assert {"tok3n-abc", "c00kie-value"} <= set(feed.request.secrets)


def test_a_feed_without_secrets_has_no_credentials() -> None:
    feed = feed_config(
        "    url: https://e.org/f?page=2\n    headers:\n      User-Agent: Mozilla/5.0\n"
    ).feeds[0]
    assert feed.url == feed.request.url == "https://e.org/f?page=2"
    assert not feed.request.private


def test_an_unset_variable_names_file_line_feed_key_and_variable_not_a_value() -> None:
    config = parse_config(
        "defaults:\n"
        "  headers:\n"
        "    Authorization: Bearer ${API_TOKEN}\n"
        "feeds:\n"
        "  - name: patreon\n"
        "    url: https://e.org/f?token=${FEED_TOKEN}\n",
        "feeds.yaml",
        {"API_TOKEN": "set-and-secret"},
    )
    assert [str(e) for e in config.unset] == [
        "feeds.yaml:6: feeds[0].url: feed 'patreon' needs the environment variable "
        "FEED_TOKEN, which is not set"
    ]
    assert config.feeds[0].request.unset == ("FEED_TOKEN",)
    no_env = parse_config(
        "defaults:\n  headers:\n    Authorization: Bearer ${API_TOKEN}\n"
        "feeds:\n  - name: p\n    url: https://e.org/f\n",
        "feeds.yaml",
    )
    assert [str(e) for e in no_env.unset] == [
        "feeds.yaml:3: defaults.headers.Authorization: feed 'p' needs the environment variable "
        "API_TOKEN, "
        "which is not set"
    ]


@pytest.mark.parametrize(
    ("value", "key", "reason"),
    [
        pytest.param("tok3n-abc\nX", "url", "holds a control character", id="line-break-in-url"),
        pytest.param("tök3n-abc", "headers.X-Api-Key", "not ASCII", id="non-ascii-in-header"),
    ],
)
def test_a_value_no_request_can_carry_names_the_variable_not_the_value(
    value: str, key: str, reason: str
) -> None:
    config = parse_config(
        "feeds:\n  - name: p\n    url: https://e.org/f?token=${TOKEN}\n"
        "    headers:\n      X-Api-Key: ${TOKEN}\n"
        if key != "url"
        else "feeds:\n  - name: p\n    url: https://e.org/f?token=${TOKEN}\n",
        "feeds.yaml",
        {"TOKEN": value},
    )
    (problem,) = config.unset_for(config.feeds)
    assert f"feeds[0].{key}: feed 'p' cannot be fetched: the environment variable TOKEN" in str(
        problem
    )
    assert reason in str(problem)
    assert value not in str(problem)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("${URL}", "expected an http:// or https:// URL"),
        ("https://${HOST}/f", "not for the scheme or the host"),
        ("https://e.org:${PORT}/f", "not for the scheme or the host"),
        ("https://e.org/f?t=${bad-name}", "a '${' must start a ${NAME}"),
    ],
)
def test_variables_only_where_a_secret_can_stand(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=r"feeds\.yaml:3: feeds\[0\]\.url: ") as caught:
        feed_config(f"    url: {url}\n")
    assert message in str(caught.value)


def test_a_malformed_placeholder_in_a_header_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"feeds\[0\]\.headers\.Authorization: a '\$\{'"):
        feed_config("    url: https://e.org/f\n    headers:\n      Authorization: ${a b}\n")


def test_secret_params_is_a_feed_and_defaults_key() -> None:
    config = parse_config(
        "defaults:\n  secret_params: [hash]\nfeeds:\n  - name: f\n    url: https://e.org/f?hash=x1\n"
    )
    assert config.feeds[0].url == "https://e.org/f?hash=***"


# --- ids, state and shard ----------------------------------------------------------------------

GUID_ONLY = (
    b"<rss version='2.0'><channel><title>t</title><item><title>A post</title>"
    b"<guid isPermaLink='false'>post-1</guid><pubDate>Mon, 01 Jan 2024 10:00:00 GMT</pubDate>"
    b"</item></channel></rss>"
)


RUNS = itertools.count()


def archive(out: Path, url: str, env: dict[str, str] | None = None) -> list[str]:
    text = f"defaults:\n  workers: 1\nfeeds:\n  - name: f\n    url: {url}\n"
    # A body never sent before, so it is read again rather than known by its digest.
    body = GUID_ONLY + f"<!-- {next(RUNS)} -->".encode()
    transport = httpx.MockTransport(lambda request: streamed(200, content=body))
    report = asyncio.run(
        run_async(
            parse_config(text, "feeds.yaml", env),
            RunOptions(output=out),
            transport=transport,
            clock=lambda: FIXED_NOW,
        )
    )
    assert not report.failed
    assert report.new + report.already_archived == 1
    return sorted(p.name for p in out.rglob("*.md") if p.name[0].isdigit() or "-" in p.name)


def test_a_feed_without_secrets_keeps_todays_id_shard_and_front_matter(tmp_path: Path) -> None:
    # Pinned from the archiver before secrets: an entry whose id hashes the feed's URL.
    url = "https://Example.org/members/feed.xml?page=2&utm_source=x"
    assert archive(tmp_path, url) == ["a-post-7416d3ed77ea89c4.md"]
    text = next(tmp_path.rglob("a-post-*.md")).read_text()
    assert f"  url: {url}\n" in text
    assert [k for k in range(1, 8) if Shard(k, 7).holds(url)] == [5]


def test_rotating_a_token_keeps_ids_state_and_shard(tmp_path: Path) -> None:
    url = "https://e.org/members/feed.xml?token=${TOKEN}"
    first = archive(tmp_path, url, {"TOKEN": "first-t0ken"})
    state = (tmp_path / ".archiver" / "state.json").read_text()
    assert archive(tmp_path, url, {"TOKEN": "second-t0ken"}) == first  # no duplicate
    assert (tmp_path / ".archiver" / "state.json").read_text() == state
    # Written out in feeds.yaml, the same token gives the same identity.
    assert archive(tmp_path, "https://e.org/members/feed.xml?token=third-t0ken") == first
    shown = parse_config(f"feeds:\n  - name: f\n    url: {url}\n").feeds[0].url
    assert shown == "https://e.org/members/feed.xml?token=***"
    assert '"url": "https://e.org/members/feed.xml?token=***"' in state


# --- the last line of defence --------------------------------------------------------------------


def test_what_the_cli_prints_goes_through_the_redactor() -> None:
    sink = io.StringIO()
    stream = redacted(sink, Redactor(["tok3n-abc"]))
    print("failed: https://e.org/f?token=tok3n-abc (tok3n%2Dabc is not it)", file=stream)
    assert sink.getvalue() == "failed: https://e.org/f?token=*** (tok3n%2Dabc is not it)\n"
    assert redacted(sink, Redactor()) is sink


def test_an_httpx_message_that_quotes_the_url_is_redacted() -> None:
    feed = feed_config(
        "    url: https://e.org/f?token=${T}\n    retries: 0\n", {"T": "tok3n-abc"}
    ).feeds[0]

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

    async def fetch() -> None:
        async with make_client(httpx.MockTransport(refuse)) as client:
            await Fetcher(client, concurrency=1, per_host=1).fetch(feed, None)

    with pytest.raises(FetchError) as caught:
        asyncio.run(fetch())
    assert str(caught.value) == "cannot connect to e.org: cannot reach https://e.org/f?token=***"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-16-be", "utf-32"])
def test_a_token_the_feed_repeats_is_replaced_whatever_its_encoding(
    tmp_path: Path, encoding: str
) -> None:
    token = "tok3n-secret-1"
    body = (
        f"<?xml version='1.0' encoding='{encoding}'?><rss version='2.0'><channel><title>t"
        f"</title><item><title>Post {token}</title><link>https://e.org/p?token={token}</link>"
        "<description>x</description></item></channel></rss>"
    ).encode(encoding)
    transport = httpx.MockTransport(
        lambda request: streamed(200, body, {"Content-Type": "application/rss+xml"})
    )
    config = parse_config(
        "defaults:\n  workers: 1\nfeeds:\n  - name: f\n    url: https://e.org/f?token=${T}\n",
        "feeds.yaml",
        {"T": token},
    )
    report = asyncio.run(run_async(config, RunOptions(output=tmp_path), transport=transport))
    assert report.new == 1
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(f"url: https://e.org/p?token={MARKER}" in p.read_text() for p in written)
    for path in written:
        assert token not in str(path) and token.encode() not in path.read_bytes(), path
