"""No import cycles inside ``atelier``, computed from the code, not kept by hand.

Every module under ``src/atelier`` is parsed with :mod:`ast` (nothing is imported) and
each ``import`` / ``from ... import`` becomes an edge, wherever it stands: at module
level, inside a function or method, inside ``try``. A cycle is a strongly connected
component of that graph with more than one module.

What counts as an edge from module ``m``:

* ``import a.b.c`` and ``from a.b.c import name`` lead to ``a.b.c``; ``from a.b import
  c`` leads to ``a.b.c`` when ``c`` is a submodule, else to ``a.b`` (the name lives in
  the package's ``__init__``). Relative imports are resolved against ``m``'s package.
* Importing ``a.b.c`` first runs the ``__init__`` of ``a`` and ``a.b``, so those are
  edges too, except for packages that contain ``m`` itself: Python has started those
  before ``m`` runs, so passing through them starts nothing. Hence a package's
  ``__init__`` importing its submodules is no cycle by itself, and a submodule taking a
  sibling (``from atelier.sdk import run`` inside ``atelier.sdk.model``) leads to the
  sibling only; but a submodule taking a *name* from its package's ``__init__`` while
  that ``__init__`` imports the submodule is a cycle (it only works if the name happens
  to be defined before the import line).
* Imports under ``if TYPE_CHECKING:`` never run and are not edges. Names loaded from
  strings at run time (``importlib.import_module`` in a registry) are not edges either:
  the registry, not the import graph, owns that link.
* Imports of modules outside ``atelier`` are ignored.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import atelier

SOURCE_ROOT = Path(atelier.__file__).resolve().parent
PACKAGE = "atelier"


def module_files(root: Path = SOURCE_ROOT) -> dict[str, Path]:
    """Every module of the package: dotted name -> file (``__init__`` names the package)."""
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _run_time_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements that can run: everywhere except the body of ``if TYPE_CHECKING:``."""
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            pending.extend(node.orelse)
        else:
            pending.extend(ast.iter_child_nodes(node))


def _package_of(module: str, is_package: bool) -> str:
    return module if is_package else module.rpartition(".")[0]


def _targets(
    module: str, is_package: bool, node: ast.Import | ast.ImportFrom, known: set[str]
) -> Iterator[str]:
    """The modules one import statement names (before adding the packages it passes)."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
        return
    base = node.module or ""
    if node.level:
        package = _package_of(module, is_package)
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{base}" if base else package
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        yield submodule if submodule in known else base


def _ancestors(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:end]) for end in range(1, len(parts))]


def import_graph(files: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the ``atelier`` modules it imports, by the rules of this file's docstring."""
    known = set(files)
    graph: dict[str, set[str]] = {name: set() for name in files}
    for module, path in files.items():
        is_package = path.name == "__init__.py"
        # the packages that contain this module: started before it runs
        own = {*_ancestors(module), module}
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _run_time_imports(tree):
            for target in _targets(module, is_package, node, known):
                if target.split(".")[0] != PACKAGE:
                    continue
                passed = [name for name in _ancestors(target) if name not in own]
                for name in [*passed, target]:
                    if name in known and name != module:
                        graph[module].add(name)
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; components of more than one module, sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def a_cycle(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """One closed path through a component (first module ... first module), for the report."""
    members = set(component)
    start = component[0]
    # breadth-first from each successor of start back to start, inside the component
    paths: dict[str, list[str]] = {start: [start]}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for child in sorted(graph[node] & members):
                if child == start:
                    return [*paths[node], start]
                if child not in paths:
                    paths[child] = [*paths[node], child]
                    following.append(child)
        frontier = following
    return component


def describe(graph: dict[str, set[str]], components: list[list[str]]) -> str:
    lines = []
    for component in components:
        lines.append(f"{len(component)} modules: {', '.join(component)}")
        lines.append("    e.g. " + " -> ".join(a_cycle(graph, component)))
    return "\n".join(lines)


def test_the_rules_on_a_small_package(tmp_path: Path) -> None:
    """The rules of the docstring, each on a case that has or has not a cycle."""
    root = tmp_path / PACKAGE
    (root / "pkg").mkdir(parents=True)
    sources = {
        "__init__.py": "from atelier.pkg import api\n",
        "pkg/__init__.py": "from .inner import Inner\nVALUE = 1\n",
        # a submodule importing a sibling through its package: no edge to the package
        "pkg/inner.py": "from atelier.pkg import api\nclass Inner: ...\n",
        "pkg/api.py": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from atelier.pkg.inner import Inner\n"
            "def late():\n    from atelier.cyc import b\n"
        ),
        # a cycle hidden in a function
        "cyc/__init__.py": "",
        "cyc/a.py": "def f():\n    from . import b\n",
        "cyc/b.py": "import atelier.cyc.a\n",
        # a submodule taking a name from the __init__ that imports it
        "named/__init__.py": "from .part import thing\nNAME = 1\n",
        "named/part.py": "from atelier.named import NAME\nthing = NAME\n",
    }
    for relative, text in sources.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    graph = import_graph(module_files(root))
    assert graph["atelier.pkg.inner"] == {"atelier.pkg.api"}
    assert graph["atelier.pkg.api"] == {"atelier.cyc", "atelier.cyc.b"}
    assert strongly_connected(graph) == [
        ["atelier.cyc.a", "atelier.cyc.b"],
        ["atelier.named", "atelier.named.part"],
    ]


def test_no_import_cycles() -> None:
    graph = import_graph(module_files())
    components = strongly_connected(graph)
    assert not components, "import cycles:\n" + describe(graph, components)
