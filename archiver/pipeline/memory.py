"""How the run's processes use memory: glibc's allocator told to give large blocks back."""

from __future__ import annotations

import contextlib
import ctypes

# glibc's mallopt parameter for the size from which blocks are mapped on their own.
_M_MMAP_THRESHOLD = -3


def return_large_blocks() -> None:
    """Have glibc give blocks of 1 MB and more back to the system when they are freed.

    After the first large block glibc raises that threshold (up to 32 MB) and keeps
    what a large feed left behind (its body, expat's and libxml2's buffers): about
    10 MB per process for the rest of the run. A lower threshold saved more but cost
    time (256 KB: 4 % more CPU in a cold run; 1 MB: none measurable).
    """
    with contextlib.suppress(OSError, AttributeError):  # not glibc
        ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, 1024 * 1024)
