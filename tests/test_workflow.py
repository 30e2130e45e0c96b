"""The shipped GitHub Actions workflow runs what the README tells people to run."""

from __future__ import annotations

import re
from typing import Any

import yaml

from .conftest import REPO_ROOT

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "archive.yml"
README = REPO_ROOT / "README.md"


def workflow() -> dict[Any, Any]:
    loaded = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(loaded, dict)
    return loaded


def steps() -> list[dict[str, Any]]:
    (job,) = workflow()["jobs"].values()
    return list(job["steps"])


def step(name: str) -> dict[str, Any]:
    return next(s for s in steps() if s.get("name") == name)


def readme_commands() -> list[str]:
    """The lines of the README's shell code blocks."""
    blocks = re.findall(r"```(?:sh|yaml)\n(.*?)```", README.read_text(), re.DOTALL)
    return [line.strip() for block in blocks for line in block.splitlines()]


def test_it_runs_on_a_schedule_and_by_hand_never_twice_at_once() -> None:
    triggers = workflow()[True]  # YAML 1.1 reads the key `on` as true
    assert re.fullmatch(r"[\d*/,-]+ [\d*/,-]+ \* \* \*", triggers["schedule"][0]["cron"])
    assert "workflow_dispatch" in triggers
    assert workflow()["concurrency"]["cancel-in-progress"] is False


def test_the_archive_step_is_the_readmes_make_run() -> None:
    command = step("Archive")["run"].strip()
    assert command.startswith("make run ")
    assert command in readme_commands()
    assert "make run" in README.read_text() and "make test" in README.read_text()


def test_python_is_set_up_with_pip_caching() -> None:
    setup = next(s for s in steps() if str(s.get("uses", "")).startswith("actions/setup-python"))
    assert setup["with"]["cache"] == "pip"
    # `make run` installs from the lock: the cache is good while the lock is the same.
    assert setup["with"]["cache-dependency-path"] == "requirements.lock"


def test_commits_only_output_and_only_when_something_changed() -> None:
    commit = step("Commit and push what changed")
    script = commit["run"]
    assert commit["if"] == "always()"  # a failing feed must not cost the others' entries
    assert "git add output" in script
    assert "git diff --cached --quiet" in script
    assert "entries from" in script and "report.json" in script


def test_the_schedule_is_kept_alive_without_touching_the_archive() -> None:
    keep_alive = step("Keep the schedule alive")
    assert "/enable" in keep_alive["run"]
    assert not re.search(r"\bgit\s", keep_alive["run"])
    assert workflow()["permissions"]["actions"] == "write"


def test_health_is_carried_between_runs_by_the_cache() -> None:
    cache = step("Restore feed health")
    assert cache["with"]["path"] == "output/.archiver/health.json"


def test_the_workflow_file_is_in_the_readme() -> None:
    assert ".github/workflows/archive.yml" in README.read_text()
