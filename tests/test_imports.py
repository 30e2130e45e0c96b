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


FOUNDATION = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__", "__main__", "subscriptions"}


def test_the_foundation_imports_only_the_foundation() -> None:
    wrong = {
        f"{name}.py imports archiver.{imported}"
        for name in sorted(FOUNDATION)
        for imported in archiver_imports(PACKAGE / f"{name}.py") - FOUNDATION
    }
    assert wrong == set()


def test_the_pipeline_and_subscriptions_import_no_command() -> None:
    modules = [*sorted((PACKAGE / "pipeline").rglob("*.py")), PACKAGE / "subscriptions.py"]
    wrong = {
        f"{module.relative_to(PACKAGE)} imports archiver.cli"
        for module in modules
        if "cli" in archiver_imports(module)
    }
    assert wrong == set()


def module_graph() -> dict[str, set[str]]:
    """Each archiver module's name → the archiver modules it imports, at any depth of its
    code (an import inside a function still ties the two modules)."""

    def module_of(dotted: str) -> str | None:
        path = PACKAGE.parent / dotted.replace(".", "/")
        if path.with_suffix(".py").is_file():
            return dotted
        return dotted if (path / "__init__.py").is_file() else None

    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                for alias in node.names:
                    found = module_of(f"{node.module}.{alias.name}") or module_of(node.module)
                    if found:
                        targets.add(found)
            elif isinstance(node, ast.Import):
                targets.update(filter(None, (module_of(a.name) for a in node.names)))
        graph[name] = {t for t in targets if t.startswith("archiver") and t != name}
    return graph


def test_no_module_imports_one_that_imports_it_back() -> None:
    graph = module_graph()
    # The package's __init__ only starts the command: every module "imports" it through
    # its dotted name, which is no cycle of code.
    graph = {m: {t for t in ts if t != "archiver"} for m, ts in graph.items()}
    cycles = []
    for start in sorted(graph):
        stack, seen = [(start, [start])], set()
        while stack:
            module, path = stack.pop()
            for target in graph.get(module, ()):
                if target == start:
                    cycles.append(" → ".join([*path, start]))
                elif target not in seen:
                    seen.add(target)
                    stack.append((target, [*path, target]))
    assert cycles == []
