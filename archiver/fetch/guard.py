"""The private-address guard: anyone can write a feed, and an address in its content must
not make archiver a way into the network it runs in."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from archiver.fetch.messages import Target


async def private_address_problem(url: str, target: Target) -> str | None:
    """Why `url` must not be fetched on a feed's say-so, or None: it names (or its host
    resolves to) a loopback, private, link-local, multicast or otherwise non-public address."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, parts.port or 443, type=socket.SOCK_STREAM
            )
        except OSError as exc:
            return f"cannot resolve {host}: {exc}"
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    for address in addresses:
        if not address.is_global or address.is_multicast:
            what = f"{host} is" if host == str(address) else f"{host} is {address},"
            return (
                f"refused: {what} a private or local address "
                f"(allow_private: true lets this feed's {target.noun}s through)"
            )
    return None
