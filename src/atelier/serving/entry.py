"""Load an entry script (``init()`` / ``run(data)``) and call it the way the runtime needs.

It raises :class:`~atelier.core.errors.EntryScriptError` when the script cannot be
imported or lacks ``init``/``run``, and :class:`~atelier.core.errors.InputError` when a
request does not fit ``run``.

An entry script is an ordinary Python file. Its source directory goes on ``sys.path`` so
it can import its neighbours; it is loaded under a private module name, so two scripts
called ``score.py`` do not collide.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from atelier.core.errors import EntryScriptError, InputError
from atelier.serving.schema import ParameterType, input_schemas_of, output_schema_of

__all__ = ["EntryScript", "import_entry_module", "load_entry_script"]

MODEL_DIR_VARIABLES = ("ATELIER_MODEL_DIR", "AZUREML_MODEL_DIR")


@dataclass(frozen=True)
class EntryScript:
    """A loaded entry script: its module, ``init`` and ``run``, and ``run``'s schemas."""

    path: Path
    module: ModuleType
    init: Callable[[], Any]
    run: Callable[..., Any]
    input_schemas: dict[str, ParameterType]
    output_schema: ParameterType | None

    def call_init(self, model_dir: Path | None) -> None:
        """Set ``ATELIER_MODEL_DIR`` and ``AZUREML_MODEL_DIR`` to ``model_dir``; call ``init()``."""
        if model_dir is not None:
            for variable in MODEL_DIR_VARIABLES:
                os.environ[variable] = str(model_dir)
        self.init()

    def arguments(self, body: bytes) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The arguments ``run`` gets for a request ``body``.

        Without input schemas ``run`` receives the body as a ``str``; with them, the
        members of the JSON object as keyword arguments. Raises :class:`InputError`
        for a body that is not UTF-8 JSON or lacks a parameter ``run`` needs.
        """
        try:
            text = body.decode("utf-8")
            document = json.loads(text)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"the request body is not valid JSON: {exc}") from None
        if not self.input_schemas:
            return (text,), {}
        if not isinstance(document, dict):
            names = ", ".join(repr(name) for name in self.input_schemas)
            raise InputError(f"the request body must be a JSON object with the members {names}")
        keywords: dict[str, Any] = {}
        for name, parameter_type in self.input_schemas.items():
            if name in document:
                keywords[name] = parameter_type.deserialize(document[name])
            elif not self._has_default(name):
                raise InputError(f"the request body lacks the member {name!r} that run() needs")
        return (), keywords

    def _has_default(self, name: str) -> bool:
        try:
            parameter = inspect.signature(self.run).parameters.get(name)
        except (TypeError, ValueError):
            return False
        return parameter is not None and parameter.default is not inspect.Parameter.empty


#: what a web service's entry script needs, said when one lacks it
SERVING_HOW = "an entry script needs init() (load the model once) and run(data) (score one request)"


def import_entry_module(
    path: Path,
    source_directory: Path,
    *,
    prefix: str = "_atelier_entry",
    reuse: bool = False,
    how: str = SERVING_HOW,
) -> ModuleType:
    """Import the entry script at ``path`` (``source_directory`` on ``sys.path``) under a
    private module name, ``<prefix>_<stem>_<digest of its path>``, so two ``score.py``
    never collide; its ``init`` and ``run`` are callable.

    With ``reuse``, a module already imported under that name (by a parent process before
    it forked this one) is returned as it is. Raises :class:`EntryScriptError`, ending with
    ``how``, when the file cannot be imported or lacks ``init``/``run``."""
    folder = str(source_directory.resolve())
    if folder not in sys.path:
        sys.path.insert(0, folder)
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    module_name = f"{prefix}_{path.stem}_{digest}"
    loaded = sys.modules.get(module_name) if reuse else None
    if loaded is not None:
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
        raise EntryScriptError(f"entry script {str(path)!r} does not define {wanted}; {how}")
    return module


def load_entry_script(entry_script: Path, source_directory: Path) -> EntryScript:
    """Import ``entry_script`` with ``source_directory`` on ``sys.path``.

    Raises :class:`EntryScriptError` when the file is missing, fails to import, or does
    not define callable ``init`` and ``run``.
    """
    path = entry_script if entry_script.is_absolute() else source_directory / entry_script
    if not path.is_file():
        raise EntryScriptError(
            f"entry script {str(path)!r} not found; "
            "pass a Python file that defines init() and run(data)"
        )
    module = import_entry_module(path, source_directory)
    run: Callable[..., Any] = module.run
    return EntryScript(
        path=path,
        module=module,
        init=module.init,
        run=run,
        input_schemas=input_schemas_of(run),
        output_schema=output_schema_of(run),
    )
