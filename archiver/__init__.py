"""archiver: keep every post of the feeds you care about as plain Markdown files."""

__version__ = "0.1.0"
