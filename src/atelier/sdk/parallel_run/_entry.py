"""A batch-scoring entry script: checked before anything runs, loaded in each worker.

The check reads the script's syntax tree (nothing of it runs on the submitting machine,
whose packages may differ from the run's), so a script without ``run(mini_batch)`` is
refused at ``ParallelRunConfig(...)``. Workers import it with the web services' loader
(``atelier.serving.entry``), under a private module name of their own.
"""

from __future__ import annotations

import ast
from pathlib import Path
from types import ModuleType

from atelier.core.errors import EntryScriptError
from atelier.serving.entry import import_entry_module

HOW = (
    "a batch-scoring entry script defines init() (load the model once per process) and "
    "run(mini_batch) (score one mini-batch, return a list or a pandas DataFrame)"
)


def _defined_names(body: list[ast.stmt]) -> set[str]:
    names: set[str] = set()
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.If | ast.Try):
            # definitions under a module-level if/try still define the name
            names |= _defined_names([*node.body, *node.orelse])
    return names


def check_entry_script(path: Path) -> None:
    """Raise :class:`EntryScriptError` unless ``path`` is a Python file defining
    ``init`` and ``run`` at its top level."""
    if not path.is_file():
        raise EntryScriptError(f"entry script {str(path)!r} not found; {HOW}")
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError) as exc:
        raise EntryScriptError(f"entry script {str(path)!r} is not valid Python: {exc}") from None
    missing = [name for name in ("init", "run") if name not in _defined_names(tree.body)]
    if missing:
        wanted = " and ".join(f"{name}()" for name in missing)
        raise EntryScriptError(f"entry script {str(path)!r} does not define {wanted}; {HOW}")


def load_entry_script(path: Path, source_directory: Path) -> ModuleType:
    """Import the script (its folder on ``sys.path``) once per process, or take the module
    the driver imported before this worker was forked; its ``init`` and ``run`` are callable.

    Raises :class:`EntryScriptError` when it fails to import or lacks them."""
    return import_entry_module(path, source_directory, prefix="_atelier_batch", reuse=True, how=HOW)
