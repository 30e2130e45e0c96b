"""Sharding: `archiver run --shard K/N` archives only the feeds whose URL hash falls in shard K,
so a CI matrix (or any scheduler's parallel jobs) can split thousands of feeds.

A feed's shard depends on its normalised URL alone, so it stays put when other
feeds are added or removed. Each shard keeps its own state, catalog, health
and lock files (`state.shard-2-of-4.json`, …), so parallel shards never write
the same file except where two of their feeds carry the same article.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from archiver.urls import normalise_url

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based, as people count
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        match = _SPEC.match(text)
        if not match:
            raise ValueError(f"expected K/N such as 1/4, got {text!r}")
        index, count = int(match[1]), int(match[2])
        if not 1 <= index <= count:
            raise ValueError(f"expected 1 <= K <= N in K/N, got {text!r}")
        return cls(index, count)

    def holds(self, feed_url: str) -> bool:
        digest = hashlib.sha256(normalise_url(feed_url).encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index - 1

    @property
    def suffix(self) -> str:
        """What the shard's own files carry in their names."""
        return f".shard-{self.index}-of-{self.count}"
