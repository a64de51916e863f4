"""A batch-scoring entry script: checked before anything runs, loaded in each worker.

The check reads the script's syntax tree (nothing of it runs on the submitting machine,
whose packages may differ from the run's), so a script without ``run(mini_batch)`` is
refused at ``ParallelRunConfig(...)``. Workers import it under a private module name
with its source directory on ``sys.path``.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from atelier.core.errors import EntryScriptError

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
    """Import the script (its folder on ``sys.path``); its ``init`` and ``run`` are callable.

    Raises :class:`EntryScriptError` when it fails to import or lacks them."""
    folder = str(source_directory.resolve())
    if folder not in sys.path:
        sys.path.insert(0, folder)
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    module_name = f"_atelier_batch_{path.stem}_{digest}"
    loaded = sys.modules.get(module_name)
    if loaded is not None:  # imported by the driver before this worker was forked
        return loaded
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise EntryScriptError(f"entry script {str(path)!r} cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        raise EntryScriptError(
            f"entry script {str(path)!r} failed to import: {type(exc).__name__}: {exc}"
        ) from exc
    missing = [name for name in ("init", "run") if not callable(getattr(module, name, None))]
    if missing:
        wanted = " and ".join(f"{name}()" for name in missing)
        raise EntryScriptError(f"entry script {str(path)!r} does not define {wanted}; {HOW}")
    return module
