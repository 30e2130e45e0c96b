"""Which lines of Markdown are fenced code, as CommonMark reads them.

The converter tidies prose and the site flavours escape marks in prose; both leave code as
it is, so both must find code exactly where a Markdown reader does."""

from __future__ import annotations

import re


def fenced_lines(lines: list[str], prefix: str = r"[ >]*") -> list[bool]:
    """For each line, whether it belongs to a fenced code block, its fences included.

    A run of three or more backticks or tildes after `prefix` opens a block, except a run
    of backticks followed on its line by another backtick: CommonMark reads that line as
    text with a code span (``` `` ``` shows two backticks). A run of the same character at
    least as long, alone on its line, closes the block; shorter runs are code."""
    fence_pattern = re.compile(prefix + r"(`{3,}|~{3,})")
    inside: list[bool] = []
    fence = ""
    for line in lines:
        run = fence_pattern.match(line)
        rest = line[run.end() :] if run else ""
        if fence:
            inside.append(True)
            if run and run[1][0] == fence[0] and len(run[1]) >= len(fence) and not rest.strip():
                fence = ""
        elif run and not (run[1][0] == "`" and "`" in rest):
            inside.append(True)
            fence = run[1]
        else:
            inside.append(False)
    return inside
