"""Imports run one way, as STRUCTURE.md draws it: a stage imports from itself, the stages to
its left and the foundation (the root modules), never from a stage to its right or from the
pipeline and the CLI on top."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import archiver

PACKAGE = Path(archiver.__file__).parent
STAGES = ("config", "fetch", "parse", "convert", "archive", "report")
ON_TOP = ("pipeline", "cli")


def archiver_imports(module: Path) -> set[str]:
    """The first name under `archiver.` of each archiver module `module` imports."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            continue
        names.update(m.split(".")[1] for m in modules if m.startswith("archiver."))
    return names


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_imports_nothing_to_its_right(stage: str) -> None:
    right = set(STAGES[STAGES.index(stage) + 1 :]) | set(ON_TOP)
    modules = sorted((PACKAGE / stage).rglob("*.py"))
    assert modules
    wrong = {
        f"{module.relative_to(PACKAGE)} imports archiver.{name}"
        for module in modules
        for name in archiver_imports(module) & right
    }
    assert wrong == set()
