"""How the run's processes use memory: glibc's allocator told to give large blocks back."""

from __future__ import annotations

import contextlib
import ctypes

# glibc's mallopt parameter for the size from which blocks are mapped on their own.
_M_MMAP_THRESHOLD = -3


def return_large_blocks() -> None:
    """Have glibc give blocks of 1 MB and more back to the system when they are freed.

    After the first large block glibc raises that threshold (up to 32 MB) and keeps
    what a large feed left behind (its body, expat's and libxml2's buffers) for the rest
    of the run, in every process. 1 MB costs no measurable time; a lower threshold keeps
    less but costs CPU (BENCHMARKS.md, "Memory").
    """
    with contextlib.suppress(OSError, AttributeError):  # not glibc
        ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, 1024 * 1024)
