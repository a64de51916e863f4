"""A run's datasets on the compute side: inputs made local before the script starts,
output folders uploaded (and registered) after it succeeds.

The run's definition carries ``inputs`` and ``outputs`` (written at submit). Arguments
hold placeholders (``DatasetConsumptionConfig:<name>``, ``OutputFileDatasetConfig:<name>``)
that are replaced here with local paths, or with the dataset's id for tabular inputs.
The script finds everything in ``ATELIER_INPUT_DATASETS`` through
``Run.get_context().input_datasets``, and, as in azureml, each input's path (or a tabular
input's dataset id) in the variable named after the input (unless that name is already a
variable of the run or of this machine's environment: ``PATH`` stays ``PATH``) and each
file input's path in ``AZUREML_DATAREFERENCE_<name>``.

A file input's ``path_on_compute`` is where its files go; a relative one is below the
run's working directory (where the script starts).
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import IO, Any

from atelier.client import data_files
from atelier.client.backend import Backend
from atelier.core.data_records import DEFAULT_DATASTORE
from atelier.core.errors import AtelierError
from atelier.core.pipelines import EMPTY_OUTPUTS

ENV_INPUTS = "ATELIER_INPUT_DATASETS"
INPUT_PREFIX = "DatasetConsumptionConfig:"
OUTPUT_PREFIX = "OutputFileDatasetConfig:"
OUTPUTS_DIR = ".atelier-outputs"


def _label(entry: dict[str, Any]) -> str:
    return f"input {entry['name']!r}"


def prepare(
    backend: Backend,
    workspace: str,
    home: Path,
    workdir: Path,
    definition: dict[str, Any],
    log: IO[str],
) -> dict[str, Any]:
    """The definition with placeholders replaced and the inputs' variable set; file
    inputs are downloaded or mounted, output folders created."""
    inputs = definition.get("inputs") or []
    outputs = definition.get("outputs") or []
    if not inputs and not outputs:
        return definition
    result = copy.deepcopy(definition)
    values: dict[str, str] = {}
    described: dict[str, Any] = {}
    for entry in inputs:
        name = entry["name"]
        path: Path | None = None
        if entry["kind"] == "file":
            path = workdir / (entry.get("path_on_compute") or f"inputs/{name}")
            files = data_files.dataset_files(
                backend, workspace, entry["definition"], entry.get("dataset_id"), _label(entry)
            )
            log.write(f"input {name!r}: {entry['mode']} of {len(files)} file(s) to {path}\n")
            if entry["mode"] == "mount":
                data_files.mount_view(home, files, path)
            else:
                data_files.download(files, path, overwrite=True)
            values[f"{INPUT_PREFIX}{name}"] = str(path)
        else:
            values[f"{INPUT_PREFIX}{name}"] = entry.get("dataset_id") or name
        described[name] = {**entry, "path": None if path is None else str(path)}
    for entry in outputs:
        folder = Path(entry.get("source") or workdir / OUTPUTS_DIR / entry["name"])
        folder.mkdir(parents=True, exist_ok=True)
        values[f"{OUTPUT_PREFIX}{entry['name']}"] = str(folder)
    result["arguments"] = [values.get(str(a), str(a)) for a in result.get("arguments") or []]
    variables = dict(result.get("environment_variables") or {})
    variables[ENV_INPUTS] = json.dumps(described)
    for name, entry in described.items():
        value = entry["path"] or values[f"{INPUT_PREFIX}{name}"]
        if entry["path"] is not None:
            variables[f"AZUREML_DATAREFERENCE_{name}"] = value
        if name not in variables and name not in os.environ:
            variables[name] = value
    result["environment_variables"] = variables
    return result


def publish_outputs(
    backend: Backend,
    workspace: str,
    run_id: str,
    workdir: Path,
    definition: dict[str, Any],
    log: IO[str],
) -> dict[str, Any] | None:
    """Upload each output folder and register it when asked; an error dict on failure.
    Outputs that were left empty are named in the run's ``EMPTY_OUTPUTS`` property, so an
    empty output is known to have been written (a pipeline step reuses such a run)."""
    empty: list[str] = []
    for entry in definition.get("outputs") or []:
        name = entry["name"]
        folder = Path(entry.get("source") or workdir / OUTPUTS_DIR / name)
        store_name, prefix = entry.get("destination") or (None, None)
        try:
            if store_name is None:
                store_name = backend.datastores.get_default(workspace).name or DEFAULT_DATASTORE
                prefix = f"outputs/{run_id}/{name}"
            files = [
                (f"{prefix}/{p.relative_to(folder).as_posix()}".strip("/"), p)
                for p in sorted(folder.rglob("*"))
                if p.is_file() and not p.is_symlink()
            ]
            store = backend.datastores.files(workspace, store_name)
            store.upload_files(files, overwrite=bool(entry.get("overwrite")))
            log.write(f"output {name!r}: {len(files)} file(s) to {store_name}:{prefix}\n")
            if not files:
                empty.append(name)
            registration = entry.get("register")
            if registration and files:
                _register(backend, workspace, store_name, prefix or "", registration)
        except AtelierError as exc:
            log.write(f"output {name!r} failed: {exc.message}\n")
            return {"code": "OutputDatasetFailed", "message": f"output {name!r}: {exc.message}"}
    if empty:
        try:
            backend.runs.add_properties(workspace, run_id, {EMPTY_OUTPUTS: json.dumps(empty)})
        except AtelierError as exc:
            return {"code": "OutputDatasetFailed", "message": exc.message}
    return None


def _register(
    backend: Backend, workspace: str, store: str, prefix: str, registration: dict[str, Any]
) -> None:
    definition: dict[str, Any] = {
        "kind": "file",
        "sources": [{"datastore": store, "path": prefix or "**"}],
        "steps": [],
        "datastores": [store],
    }
    found = data_files.resolve(backend, workspace, definition["sources"])
    digests = data_files.digests(found)
    backend.datasets.register(
        workspace,
        registration["name"],
        kind="file",
        definition=definition,
        files=[f.as_record(d) for f, d in zip(found, digests, strict=True)],
        description=registration.get("description") or "",
        tags=registration.get("tags") or {},
        create_new_version=True,
    )
