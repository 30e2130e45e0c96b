"""archiver: keep every post of the feeds you care about as plain Markdown files."""

import sys

from archiver.about import HOMEPAGE, __version__

__all__ = ["HOMEPAGE", "__version__", "main"]


def main() -> int:
    """The `archiver` command (cli.main), which stops its worker processes once done
    with them, being about to exit. Its modules take 0.3 s to import: a Ctrl-C meanwhile
    ends in the one line it ends in later, not in a traceback."""
    try:
        from archiver.cli.main import main as command  # noqa: PLC0415 (imported here to be caught)
    except KeyboardInterrupt:
        print("archiver: interrupted", file=sys.stderr)
        return 130  # 128 + SIGINT, as cli.EXIT_INTERRUPTED (importing signal takes time too)
    return command(release_workers=True)
