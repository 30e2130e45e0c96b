"""What pyproject.toml declares agrees with the code: the distribution's own name and page."""

from __future__ import annotations

import sys
from typing import Any

import archiver
from archiver.fetch import USER_AGENT
from archiver.index import ROOT_PAGE, render_pages
from archiver.models import CatalogEntry

from .conftest import REPO_ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest brings tomli where tomllib is missing
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]


def project() -> dict[str, Any]:
    loaded = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return dict(loaded["project"])


def test_the_distribution_has_a_page_of_its_own() -> None:
    # On the package index, `archiver` is an unrelated project: the distribution has
    # another name, and the code points people to that name's page.
    name = project()["name"]
    assert name != "archiver"
    assert archiver.HOMEPAGE == project()["urls"]["Homepage"]
    assert archiver.HOMEPAGE == f"https://pypi.org/project/{name}/"
    assert project()["version"] == archiver.__version__
    assert project()["scripts"] == {"archiver": "archiver:main"}


def test_the_archive_and_the_user_agent_link_to_that_page() -> None:
    entry = CatalogEntry(
        "0123456789abcdef", "2024/01/02/a-0123456789abcdef.md", "A", "f", "2024-01-02T00:00:00Z"
    )
    front_page = render_pages([entry])[ROOT_PAGE]
    assert f"[archiver]({archiver.HOMEPAGE})" in front_page
    assert f"+{archiver.HOMEPAGE}" in USER_AGENT
