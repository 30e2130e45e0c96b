"""What pyproject.toml declares agrees with the code and the lock files: the distribution's own
name and page, and the pinned versions `make run` and `make test` install."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

import archiver
from archiver.archive.pages import ROOT_PAGE, render_pages
from archiver.fetch.client import USER_AGENT
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
    assert project()["urls"]["Homepage"] == archiver.HOMEPAGE
    assert f"https://pypi.org/project/{name}/" == archiver.HOMEPAGE
    assert project()["version"] == archiver.__version__
    assert project()["scripts"] == {"archiver": "archiver:main"}


def test_the_archive_and_the_user_agent_link_to_that_page() -> None:
    entry = CatalogEntry(
        "0123456789abcdef", "2024/01/02/a-0123456789abcdef.md", "A", "f", "2024-01-02T00:00:00Z"
    )
    front_page = render_pages([entry])[ROOT_PAGE]
    assert f"[archiver]({archiver.HOMEPAGE})" in front_page
    assert f"+{archiver.HOMEPAGE}" in USER_AGENT


def pins(lock: str) -> dict[str, set[Version]]:
    """The versions a lock file pins, by package name (a package may have one per Python)."""
    pinned: dict[str, set[Version]] = {}
    text = (REPO_ROOT / lock).read_text(encoding="utf-8")
    for line in text.splitlines():
        if line and not line.startswith((" ", "#")):
            requirement = Requirement(line.rstrip(" \\"))
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", line
            name = canonicalize_name(requirement.name)
            pinned.setdefault(name, set()).add(Version(specifier.version))
    assert "--hash=sha256:" in text
    return pinned


@pytest.mark.parametrize(
    ("lock", "extras"), [("requirements.lock", []), ("requirements-dev.lock", ["dev"])]
)
def test_the_locks_pin_what_pyproject_asks_for(lock: str, extras: list[str]) -> None:
    # A dependency added to pyproject.toml, or a range moved past the pinned version, needs
    # `make lock`: `make run` and `make test` install from the locks alone.
    pinned = pins(lock)
    wanted = [
        *project()["dependencies"],
        *(r for extra in extras for r in project()["optional-dependencies"][extra]),
    ]
    for line in wanted:
        requirement = Requirement(line)
        versions = pinned.get(canonicalize_name(requirement.name))
        assert versions, f"{requirement.name} is not in {lock}: run `make lock`"
        assert all(v in requirement.specifier for v in versions), f"{lock}: run `make lock`"


def test_the_development_lock_pins_the_runtime_packages_alike() -> None:
    # `make run` and `make test` share one virtual environment: the same versions.
    runtime, development = pins("requirements.lock"), pins("requirements-dev.lock")
    assert {name: development[name] for name in runtime} == runtime


def make_would_run(target: str) -> str:
    """The commands `make TARGET` runs from scratch (-B), printed, not run (-n)."""
    done = subprocess.run(
        ["make", "-n", "-B", target], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    return done.stdout


def test_make_run_installs_the_runtime_lock_and_a_regular_copy() -> None:
    commands = make_would_run("run")
    assert "install --require-hashes --requirement requirements.lock" in commands
    assert "install --no-deps .\n" in commands
    assert "requirements-dev.lock" not in commands and "--editable" not in commands


@pytest.mark.parametrize("target", ["test", "lint"])
def test_make_test_and_lint_install_the_development_lock(target: str) -> None:
    commands = make_would_run(target)
    assert "install --require-hashes --requirement requirements-dev.lock" in commands
    assert "install --no-deps --editable ." in commands


def test_the_locks_are_resolved_from_the_oldest_python_pyproject_allows() -> None:
    # uv's universal resolution covers the versions from --python-version up: below the
    # oldest one supported, a Python would install versions nobody resolved for it.
    oldest = re.fullmatch(r">=\s*([\d.]+)", project()["requires-python"])
    assert oldest, "requires-python should be a lower bound"
    (resolved,) = set(re.findall(r"--python-version (\S+)", make_would_run("lock")))
    assert resolved == oldest.group(1)
