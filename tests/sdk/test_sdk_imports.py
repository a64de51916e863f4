"""The SDK's import graph, computed from the code (function-level imports included, imports
under ``if TYPE_CHECKING:`` left out since they never run): no two modules import each
other, and the only cycles go through the upward imports that pyproject.toml names."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import atelier.sdk

SDK = Path(atelier.sdk.__file__).parent
PYPROJECT = SDK.parents[2] / "pyproject.toml"


def _module_name(path: Path) -> str:
    parts = ["atelier", "sdk", *path.relative_to(SDK).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            hidden.update(id(inner) for statement in node.body for inner in ast.walk(statement))
    return hidden


def _imported(module: str, node: ast.Import | ast.ImportFrom, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        parts = module.split(".") if is_package else module.split(".")[:-1]
        parts = parts[: len(parts) - (node.level - 1)]
        base = ".".join([*parts, *([node.module] if node.module else [])])
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def _graph() -> dict[str, set[str]]:
    files = {_module_name(path): path for path in SDK.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        tree = ast.parse(path.read_text())
        hidden = _type_checking_nodes(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in hidden:
                for target in _imported(name, node, path.name == "__init__.py"):
                    if target in files and target != name and not name.startswith(target + "."):
                        graph[name].add(target)
    return graph


def _allowed_upward() -> set[tuple[str, str]]:
    config = tomllib.loads(PYPROJECT.read_text())
    allowed: set[tuple[str, str]] = set()
    for contract in config["tool"]["importlinter"]["contracts"]:
        if contract.get("containers") == ["atelier.sdk"]:
            for line in contract.get("ignore_imports", []):
                source, _, target = (part.strip() for part in line.partition("->"))
                allowed.add((source, target))
    return allowed


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of ``graph`` as a list of modules, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_the_probe_sees_function_level_imports() -> None:
    graph = _graph()
    assert "atelier.sdk.workspace" in graph["atelier.sdk.tracking.run"]  # inside get_context
    assert "atelier.sdk.tracking.run" in graph["atelier.sdk.tracking.experiment"]


def test_no_two_sdk_modules_import_each_other() -> None:
    graph = _graph()
    pairs = sorted((a, b) for a in graph for b in graph[a] if a < b and a in graph[b])
    assert pairs == []


def test_the_only_cycles_go_through_the_named_upward_imports() -> None:
    allowed = _allowed_upward()
    assert allowed, "the SDK layers contract names its upward imports"
    graph = _graph()
    for source, target in allowed:
        assert target in graph[source], f"{source} -> {target} is named but not imported"
        graph[source].discard(target)
    assert _cycle(graph) is None
