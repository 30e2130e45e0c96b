"""What archiver says of itself: its version and where to read about it. Imports nothing, so
that every stage may import it without reaching back up the pipeline."""

__version__ = "0.1.0"
# The distribution is markdown-feed-archiver: on the package index, `archiver` is another
# project. The page the archive's README and the User-Agent point people to.
HOMEPAGE = "https://pypi.org/project/markdown-feed-archiver/"
