"""URL normalisation and the ids derived from it.

Two links name the same article when they differ only in what a browser would
ignore (case of scheme and host, a default port, the fragment) or in what a
newsletter or social network appends to track clicks. The id is a prefix of the
SHA-256 of the normalised form, so it is stable across runs, machines and feeds.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import urljoin, urlsplit, urlunsplit

ID_HEX_DIGITS = 16

DEFAULT_PORTS = {"http": "80", "https": "443"}

# Parameters that identify a click, not a document. Kept deliberately short:
# dropping a parameter that selects content would merge distinct articles.
TRACKING_PARAMETERS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oly_enc_id",
        "oly_anon_id",
        "vero_id",
        "rb_clickid",
        "__s",
    }
)
TRACKING_PREFIXES = ("utm_",)

_NETLOC = re.compile(r"^(?P<userinfo>[^@]*@)?(?P<host>\[[^\]]*\]|[^:]*)(?::(?P<port>[^:]*))?$")


def normalise_url(url: str) -> str:
    """The canonical form of `url`; idempotent, and the identity on non-HTTP strings."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.netloc:
        return url
    netloc = _normalise_netloc(parts.netloc, scheme)
    query = "&".join(p for p in parts.query.split("&") if p and not _is_tracking(p))
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def _normalise_netloc(netloc: str, scheme: str) -> str:
    match = _NETLOC.match(netloc)
    if match is None:
        return netloc.lower()
    userinfo = match["userinfo"] or ""
    host = match["host"].lower().rstrip(".")
    port = match["port"]
    if port in (None, "", DEFAULT_PORTS[scheme]):
        return f"{userinfo}{host}"
    return f"{userinfo}{host}:{port}"


def _is_tracking(pair: str) -> bool:
    name = pair.split("=", 1)[0].lower()
    return name in TRACKING_PARAMETERS or name.startswith(TRACKING_PREFIXES)


def short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:ID_HEX_DIGITS]


def url_id(url: str) -> str:
    """The archive id of an article whose address is `url`."""
    return short_hash(normalise_url(url))


def is_web_url(url: str | None) -> bool:
    if not url:
        return False
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in DEFAULT_PORTS and bool(parts.netloc)


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def resolve(base: str | None, url: str) -> str:
    """`url` made absolute against `base`, or `url` unchanged when that cannot be done."""
    url = url.strip()
    if not base:
        return url
    try:
        return urljoin(base, url)
    except ValueError:
        return url


# Fragments that send a reader somewhere within an article (its comments, past
# the excerpt) rather than name a post of their own.
_NAVIGATION_FRAGMENT = re.compile(
    r"^(comments?|respond|reply|disqus_thread|more(-\d+)?|read-?more|continue(-reading)?"
    r"|content|main|main-content|top|article|rd)?$",
    re.IGNORECASE,
)


def article_key(url: str | None, home_url: str | None = None) -> str | None:
    """The normalised URL that names the article at `url`, or None when it names none.

    Normalisation drops the fragment, with one exception: sites such as Scripting
    News, Hatena and tDiary publish many posts on one page, each at its own
    anchor (`2017/06/26.html#a080605`), and there the fragment is the post.
    A site's front page (or the feed's own home page, which some feeds give every
    item) names no article at all.
    """
    if not url or not is_web_url(url):
        return None
    normal = normalise_url(url)
    fragment = urlsplit(url.strip()).fragment
    if fragment and not _NAVIGATION_FRAGMENT.match(fragment):
        return f"{normal}#{fragment}"
    parts = urlsplit(normal)
    if (parts.path == "/" and not parts.query) or (home_url and normal == normalise_url(home_url)):
        return None
    return normal


def entry_id(
    *,
    link: str | None,
    guid: str | None,
    feed_url: str,
    home_url: str | None,
    fallback_fields: tuple[str, ...],
) -> str:
    """The id of an entry: its article URL, else its guid, else a hash of its fields.

    A guid that is not a URL is only unique within its feed, so it is hashed
    together with the feed's URL.
    """
    for candidate in (link, guid):
        key = article_key(candidate, home_url)
        if key:
            return short_hash(key)
    if guid:
        return short_hash("\n".join(("guid", normalise_url(feed_url), guid)))
    return short_hash("\n".join(("fields", normalise_url(feed_url), *fallback_fields)))
