"""archiver: keep every post of the feeds you care about as plain Markdown files."""

import sys

__version__ = "0.1.0"
# The distribution is markdown-feed-archiver: on the package index, `archiver` is another
# project. The page the archive's README and the User-Agent point people to.
HOMEPAGE = "https://pypi.org/project/markdown-feed-archiver/"


def main() -> int:
    """The `archiver` command (cli.main). Its modules take 0.3 s to import: a Ctrl-C
    meanwhile ends in the one line it ends in later, not in a traceback."""
    try:
        from archiver.cli import main as command  # noqa: PLC0415 (imported here to be caught)
    except KeyboardInterrupt:
        print("archiver: interrupted", file=sys.stderr)
        return 130  # 128 + SIGINT, as cli.EXIT_INTERRUPTED (importing signal takes time too)
    return command()
