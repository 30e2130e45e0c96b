"""Images kept with the archive (`images: download`): stored once by content, linked relatively.

Each image is named by the SHA-256 of its bytes under `assets/`, so the same
picture in two entries (or two feeds) is stored once, and a relative link from
the entry's folder finds it on GitHub, in a site's source and in a vault alike.
An image that cannot be had keeps its remote address; the entry is written all
the same.
"""

from __future__ import annotations

import asyncio
import hashlib
import posixpath
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from archiver.config.model import FeedConfig
from archiver.errors import FetchError
from archiver.fetch.client import Fetcher
from archiver.models import Document

ASSETS_DIR = "assets"
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/avif": "avif",
    "image/svg+xml": "svg",
    "image/bmp": "bmp",
    "image/tiff": "tif",
    "image/x-icon": "ico",
    "image/vnd.microsoft.icon": "ico",
}


def asset_path(data: bytes, media_type: str) -> str:
    digest = hashlib.sha256(data).hexdigest()
    extension = EXTENSIONS.get(media_type, "img")
    return f"{ASSETS_DIR}/{digest[:2]}/{digest[:20]}.{extension}"


def relink(document: Document, local: dict[str, str]) -> Document:
    """The document with each downloaded image's address replaced by a relative path,
    in the body and in the front matter alike."""
    # Imported here: the main process of a run imports this module, and a run in which
    # no feed has anything new never needs the converter.
    from archiver.convert.markdown import markdown_destination  # noqa: PLC0415

    folder = posixpath.dirname(document.relpath) or "."
    text = document.text
    for url, asset in local.items():
        relative = posixpath.relpath(asset, folder)
        for form in dict.fromkeys((markdown_destination(url), url)):
            # Only the whole address: not the start of a longer one (`a.png?size=2`).
            pattern = re.escape(form) + r"(?=[)\s'\"\]]|$)"
            # A literal replacement: a posix path holds no backslash to escape.
            text = re.sub(pattern, relative, text)
    return replace(document, text=text)


class ImageKeeper:
    """Downloads the images of a run's documents, each address once per run."""

    def __init__(self, fetcher: Fetcher, store: AssetStore) -> None:
        self._fetcher = fetcher
        self._store = store
        # By address and by what the feed allows: one feed's refusal is not another's.
        self._known: dict[tuple[str, bool, bool], asyncio.Task[str | FetchError]] = {}

    async def _download(self, url: str, feed: FeedConfig) -> str | FetchError:
        try:
            data, media_type = await self._fetcher.fetch_image(url, feed)
        except FetchError as exc:
            return exc
        return self._store.store_asset(asset_path(data, media_type), data)

    async def keep(
        self, documents: Sequence[Document], feed: FeedConfig
    ) -> tuple[list[Document], list[str]]:
        """The documents relinked to local copies, and a warning per image kept remote."""
        urls = dict.fromkeys(url for d in documents for url in d.images if url.startswith("http"))
        keys = [(url, feed.allow_private, feed.verify_tls) for url in urls]
        for key in keys:
            if key not in self._known:
                self._known[key] = asyncio.ensure_future(self._download(key[0], feed))
        downloads = await asyncio.gather(*(self._known[key] for key in keys))
        results = dict(zip(urls, downloads, strict=True))
        local = {url: r for url, r in results.items() if isinstance(r, str)}
        warnings = [
            f"image {url} kept remote: {r}"
            for url, r in results.items()
            if isinstance(r, FetchError)
        ]
        return [
            relink(d, {u: local[u] for u in d.images if u in local}) for d in documents
        ], warnings


class AssetStore(Protocol):
    """What ImageKeeper needs of the archive: somewhere to put an image once."""

    def store_asset(self, relpath: str, data: bytes) -> str: ...
