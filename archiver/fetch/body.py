"""Reading a response's body within a size limit, compressed or not."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import httpx

from archiver.errors import FetchError
from archiver.fetch.messages import Target, too_large

# Encodings we can inflate in bounded pieces; the only ones we ask for.
DECODABLE_ENCODINGS = ("gzip", "x-gzip", "deflate")
DECODE_PIECE = 64 * 1024


async def read_body(response: httpx.Response, limit: int, target: Target) -> bytes:
    """The decoded body, or FetchError as soon as it is known to pass `limit` bytes."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit, target)
    decoder = BoundedDecoder(response.headers.get("content-encoding", ""))
    body = bytearray()
    async for raw in response.aiter_raw():
        for piece in decoder.decode(raw):
            body += piece
            if len(body) > limit:
                raise too_large(limit, target)
    return bytes(body)


class BoundedDecoder:
    """Undoes a Content-Encoding in pieces of at most DECODE_PIECE bytes.

    httpx inflates each network read whole, and 64 KB of gzip can inflate to
    64 MB: a compression bomb would be in memory before any cap could stop it.
    Here every piece is handed over as soon as it exists, so the caller's
    cap stops the inflation itself.
    """

    def __init__(self, content_encoding: str) -> None:
        encoding = content_encoding.strip().lower()
        if encoding not in ("", "identity", *DECODABLE_ENCODINGS):
            raise FetchError(f"the server sent a Content-Encoding we did not ask for: {encoding}")
        self._encoding = encoding
        self._inflater = self._new_inflater()
        self._first = True

    def _new_inflater(self) -> zlib._Decompress | None:
        if self._encoding in ("gzip", "x-gzip"):
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        if self._encoding == "deflate":
            return zlib.decompressobj()
        return None

    def decode(self, data: bytes) -> Iterator[bytes]:
        if self._inflater is None:
            yield data
            return
        if self._first and self._encoding == "deflate":
            # "deflate" should be zlib-wrapped; some servers send it raw.
            self._first = False
            try:
                zlib.decompressobj().decompress(data[:2])
            except zlib.error:
                self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            while data:
                yield self._inflater.decompress(data, DECODE_PIECE)
                data = self._inflater.unconsumed_tail
                if self._inflater.eof and self._inflater.unused_data:
                    data = self._inflater.unused_data  # the next gzip member
                    self._inflater = self._new_inflater()
                    assert self._inflater is not None
        except zlib.error as exc:
            raise FetchError(f"the compressed response is corrupt: {exc}") from None
