"""The feeds.yaml a new user starts from: what `archiver init` writes, and `archiver add`
when there is no config yet.

It teaches by its comments: every common default is there, commented out, with its
value and what it does, so uncommenting a line is how a setting is changed. A test
uncomments them all and compares the result with the code's defaults.
"""

from __future__ import annotations

import os
from pathlib import Path

from archiver.errors import ConfigError

CONFIG_TEMPLATE = """\
# The feeds archiver keeps: `archiver run` archives each of them into output/.
#
# Add a feed with `archiver add URL` (the address of a feed, or of a web page that
# advertises one), or write it under feeds: like this:
#
#   feeds:
#     - name: example                      # unique: names the feed in --feed and the state
#       url: https://example.org/feed.xml
#       categories: [news]                 # written first in each entry's categories
#
# A private feed's token or password belongs in an environment variable, not in this
# file: write url: https://example.org/feed?token=${FEED_TOKEN}, or a header value as
# ${NAME}; archiver never writes the value into the archive, the logs or the report.
#
# Everything under defaults: applies to every feed, and a feed may set any of it for
# itself. The values shown are the defaults: uncomment a line to change it. More keys
# (headers, secret_params, extra, include, exclude) are described in docs/configuration.md.
defaults:
  # timezone: UTC          # IANA time zone of the dated folders and of the dates written
  # path: "{year}/{month}/{day}/{slug}-{id}.md"  # where entries go; must end in {id}.md
  # flavor: default        # front matter for: default, hugo, jekyll, hexo or obsidian
  # images: link           # link: images stay remote; download: kept under assets/
  # fulltext: false        # true: archive each new entry's web page; auto: only for teasers
  # on_update: keep        # an archived entry that comes back changed: keep, overwrite, revisions
  # timeout: 20            # seconds to connect, and between two pieces of data
  # deadline: 60           # seconds one feed may take, retries included
  # retries: 2             # further tries after a network error, timeout, 408, 429 or 5xx
  # max_bytes: 20971520    # the largest feed accepted (20 MiB), counted after decompression
  # verify_tls: true       # false accepts a self-signed certificate
  # allow_private: false   # true lets images and pages on private or loopback addresses in
  # concurrency: 8         # feeds fetched at once (for the whole run, not per feed)
  # per_host: 2            # feeds fetched at once from one host (for the whole run)
  # index: true            # write README.md and monthly index.md pages into the archive
  # workers: 0             # processes that parse and convert; 0: one per core
feeds: []
"""


def write_starter_config(path: Path) -> None:
    """Write CONFIG_TEMPLATE to `path`; ConfigError if a file is there (it is never
    overwritten) or it cannot be written."""
    try:
        # O_EXCL: a file that appears meanwhile is not overwritten either.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise ConfigError(path, None, None, "already exists; not overwritten") from None
    except OSError as exc:
        raise ConfigError(path, None, None, f"cannot write: {exc.strerror}") from None
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(CONFIG_TEMPLATE)
