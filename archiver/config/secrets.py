"""Secrets: what a private feed needs to be fetched, kept out of everything the archiver writes.

A feed's url and header values may name environment variables, `${NAME}`, filled in
only for the request (`$$` is a literal dollar). What identifies or shows a feed is its
*shown* URL: every `${NAME}`, the URL's user and password, and the values of query
parameters that carry credentials (`token=`, `key=`, …) replaced by MARKER. A token
can then be rotated without the feed's entries, state or shard changing, and the URL
committed to a public archive says nothing an attacker can use.

The values themselves are known to a Redactor, the last line of defence: it replaces
them (and their percent-, HTML- and JSON-escaped forms) wherever text leaves the process.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable
from urllib.parse import quote, quote_plus, urlsplit, urlunsplit

MARKER = "***"  # what GitHub Actions writes for its masked secrets, too

# Query parameters whose value is a credential, by lower-case name. A feed may name more
# under `secret_params:`.
CREDENTIAL_PARAMS = frozenset(
    {
        "token",
        "key",
        "apikey",
        "api_key",
        "api-key",
        "access_token",
        "auth",
        "auth_token",
        "private_token",
        "feed_token",
        "client_secret",
        "secret",
        "password",
        "passwd",
        "sig",
        "signature",
        "session",
        "sessionid",
    }
)

# Header names that carry credentials: sent to the feed's own origin only, their values
# secret. A header whose value names a ${VARIABLE} is treated the same way.
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
_CREDENTIAL_HEADER_WORDS = re.compile(r"auth|token|key|secret|session|password|signature")

# Shorter values cannot be told from ordinary text ("bob", "2024"): they are kept out of
# every URL shown, but not searched for in feed text or messages.
MIN_SEARCHED_LENGTH = 6

BODY_ENCODINGS = ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$\$")
_MALFORMED = re.compile(r"\$\{(?![A-Za-z_][A-Za-z0-9_]*\})")
_ONLY_PLACEHOLDERS = re.compile(r"(?:\$\{[A-Za-z_][A-Za-z0-9_]*\})+")


def placeholder_problem(template: str) -> str | None:
    """Why `template` is not a valid text with ${NAME} placeholders, or None."""
    if _MALFORMED.search(template):
        return "a '${' must start a ${NAME} of letters, digits and '_' (write '$$' for a '$')"
    return None


def variables(template: str) -> list[str]:
    """The environment variables `template` names, in order, each once."""
    names = (m[1] for m in _PLACEHOLDER.finditer(template) if m[1])
    return list(dict.fromkeys(names))


def expand(template: str, value_of: Callable[[str], str]) -> str:
    """`template` with each ${NAME} replaced by value_of(NAME), and each $$ by $."""
    return _PLACEHOLDER.sub(lambda m: value_of(m[1]) if m[1] else "$", template)


def is_credential_header(name: str, value_template: str) -> bool:
    lowered = name.lower()
    return (
        lowered in CREDENTIAL_HEADERS
        or bool(_CREDENTIAL_HEADER_WORDS.search(lowered))
        or bool(variables(value_template))
    )


def is_credential_param(name: str, extra: Iterable[str] = ()) -> bool:
    lowered = name.lower()
    return lowered in CREDENTIAL_PARAMS or lowered in {e.lower() for e in extra}


def redact_url(
    url: str, secret_params: Iterable[str] = (), *, keep: Callable[[str], bool] | None = None
) -> str:
    """`url` with its user, password and credential parameters' values replaced by MARKER
    (those `keep` accepts left as they are); `url` itself, unchanged, when it has none."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    kept = keep or (lambda value: False)
    changed = False

    def hide(value: str) -> str:
        nonlocal changed
        if not value or value == MARKER or kept(value):
            return value
        changed = True
        return MARKER

    netloc = parts.netloc
    userinfo, at, host = netloc.rpartition("@")
    if at:
        user, colon, password = userinfo.partition(":")
        netloc = f"{hide(user)}{colon}{hide(password)}@{host}"
    pairs = []
    for pair in parts.query.split("&"):
        name, equals, value = pair.partition("=")
        hidden = equals and is_credential_param(name, secret_params)
        pairs.append(f"{name}={hide(value)}" if hidden else pair)
    if not changed:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, "&".join(pairs), parts.fragment))


def shown_url(template: str, secret_params: Iterable[str] = ()) -> str:
    """The URL that identifies and shows a feed configured as `template`: the same for any
    value of its variables, and for a credential written out or moved to a variable."""
    return redact_url(expand(template, lambda name: MARKER), secret_params)


def configured_url(template: str, secret_params: Iterable[str] = ()) -> str:
    """`template` as a person may share it (export-opml): its ${NAME} placeholders kept,
    any credential written out in it replaced by MARKER."""
    return redact_url(template, secret_params, keep=_ONLY_PLACEHOLDERS.fullmatch)  # type: ignore[arg-type]


def url_credentials(url: str, secret_params: Iterable[str] = ()) -> list[str]:
    """The credentials written out in `url`: its user, its password, its credential
    parameters' values."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found = [v for v in (parts.username, parts.password) if v]
    for pair in parts.query.split("&"):
        name, equals, value = pair.partition("=")
        if equals and value and is_credential_param(name, secret_params):
            found.append(value)
    return found


def credential_hint(url: str) -> str | None:
    """For a URL that carries a credential: how to write it with the credential in the
    environment instead; None for a URL that carries none."""
    if not url_credentials(url):
        return None
    suggested = redact_url(url)
    suggested = suggested.replace(f"{MARKER}:{MARKER}@", "${FEED_USER}:${FEED_PASSWORD}@")
    suggested = suggested.replace(f"{MARKER}@", "${FEED_USER}@")
    suggested = re.sub(
        r"([?&])([^=&#]+)=" + re.escape(MARKER),
        lambda m: f"{m[1]}{m[2]}=${{FEED_{_variable_name(m[2])}}}",
        suggested,
    )
    return (
        "the URL carries a credential, which would be committed with feeds.yaml; "
        f"put it in an environment variable and write the url as {suggested}"
    )


def _variable_name(param: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", param).upper().strip("_") or "SECRET"


def header_secrets(value: str) -> list[str]:
    """The secret parts of a credential header's value: the value, the credentials after
    an Authorization scheme (`Bearer xyz`), the values of a cookie's pairs."""
    found = [value]
    scheme, space, credentials = value.strip().partition(" ")
    if space and scheme.isalpha():
        found.append(credentials.strip())
    for pair in value.split(";"):
        _, equals, cookie = pair.partition("=")
        if equals:
            found.append(cookie.strip())
    return [f for f in found if f]


def _forms(secret: str) -> set[str]:
    """The ways a value may be written where it turns up: in a URL, HTML, XML or JSON."""
    escaped_json = json.dumps(secret, ensure_ascii=False)[1:-1]
    percent = {quote(secret, safe=""), quote(secret), quote_plus(secret), quote_plus(secret, "/")}
    # Percent-encoding may be in either case (RFC 3986 2.1), and HTML may name any
    # character by its number.
    lower_percent = {re.sub(r"%[0-9A-F]{2}", lambda m: m[0].lower(), p) for p in percent}
    numbered = {
        "".join(c if c.isalnum() else pattern.format(ord(c)) for c in secret)
        for pattern in ("&#{};", "&#x{:x};", "&#x{:X};")
    }
    return {
        secret,
        *percent,
        *lower_percent,
        *numbered,
        html.escape(secret),
        html.escape(secret, quote=False),
        escaped_json,
        escaped_json.replace("/", "\\/"),
        json.dumps(secret)[1:-1],
    }


class Redactor:
    """Replaces known secret values, in every form they are written in, by MARKER."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        forms = {form for s in secrets if len(s) >= MIN_SEARCHED_LENGTH for form in _forms(s)}
        # Longest first: a secret that contains another is replaced whole.
        self._forms = sorted(forms, key=lambda f: (-len(f), f))
        # A body is bytes in whatever encoding the feed chose; the encodings in which an
        # ASCII token's bytes differ from UTF-8's are the wide ones.
        self._bytes = [
            (form.encode(encoding), MARKER.encode(encoding))
            for encoding in BODY_ENCODINGS
            for form in self._forms
        ]

    def __bool__(self) -> bool:
        return bool(self._forms)

    def text(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, MARKER)
        return text

    def data(self, data: bytes) -> bytes:
        for form, marker in self._bytes:
            if form in data:
                data = data.replace(form, marker)
        return data


def unsendable(value: str, *, in_header: bool) -> str | None:
    """Why `value` cannot go into a request's URL (or header, `in_header`), or None. The
    reason never quotes the value: it is a secret."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return "holds a control character (a line break, a tab?), which a request cannot carry"
    if in_header and not value.isascii():
        return "holds a character that is not ASCII, which an HTTP header cannot carry"
    return None


def without_userinfo(url: str) -> str:
    """`url` without a user and password."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
