"""Step reuse: the key that says whether a step would do the same work again, and the
earlier run that did it.

The key hashes the step's kind, source snapshot (content-addressed), script or command,
arguments and variables with the parameter values in, environment spec, compute kind,
the declared outputs, and a fingerprint (content digests) of every file each input
reads now. A completed run with the same key is reused only while all its outputs still
exist. The parts of the key are kept on the step run, so ``get_details()`` shows why a
step did or did not rerun.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from atelier.client import data_files
from atelier.client.backend import Backend
from atelier.core.errors import AtelierError
from atelier.core.pipelines import EMPTY_OUTPUTS, OUTPUT_LOCATIONS, REUSE_KEY, REUSED_RUN
from atelier.core.records import RunQuery, RunRecord
from atelier.core.status import RunStatus

_CANDIDATES = 20


class Resolver:
    """Files that dataset sources match, looked up once per runner pass: a producer's
    output is both checked (for reuse) and fingerprinted (as its consumer's input)."""

    def __init__(self, backend: Backend, workspace: str) -> None:
        self.backend = backend
        self.workspace = workspace
        self._found: dict[str, list[data_files.ResolvedFile]] = {}
        self._digests: dict[str, str] = {}

    def files(self, sources: list[dict[str, Any]]) -> list[data_files.ResolvedFile]:
        key = json.dumps(sources, sort_keys=True)
        if key not in self._found:
            self._found[key] = data_files.resolve(self.backend, self.workspace, sources)
        return self._found[key]

    def digests(self, files: list[data_files.ResolvedFile]) -> list[str]:
        missing = [f for f in files if f.key not in self._digests]
        if missing:
            self._digests.update(
                zip((f.key for f in missing), data_files.digests(missing), strict=True)
            )
        return [self._digests[f.key] for f in files]


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def fingerprint(resolver: Resolver, entry: dict[str, Any]) -> str:
    """A digest of the content an input reads now ('missing' when it matches nothing)."""
    definition = entry["definition"]
    try:
        if entry.get("dataset_id") is None and not definition.get("steps"):
            files = resolver.files(definition.get("sources", []))
        else:
            files = data_files.dataset_files(
                resolver.backend, resolver.workspace, definition, entry.get("dataset_id"),
                entry["name"],
            )  # fmt: skip
        digests = resolver.digests(files)
    except AtelierError:
        return "missing"
    return _digest(sorted(zip((f.relative for f in files), digests, strict=True)))


def components(
    resolver: Resolver,
    step: dict[str, Any],
    definition: dict[str, Any],
    declared_outputs: list[dict[str, Any]],
) -> dict[str, Any]:
    """What the key is made of, readable."""
    parts = {
        "kind": step["kind"],
        "snapshot_id": step["snapshot_id"],
        "script": definition.get("script"),
        "command": definition.get("command"),
        "arguments": definition.get("arguments") or [],
        "environment_variables": definition.get("environment_variables") or {},
        "environment": _digest((definition.get("environment") or {}).get("spec")),
        "compute_kind": step["compute_kind"],
        "inputs": {
            e["name"]: {
                "mode": e["mode"],
                "kind": e["kind"],
                "fingerprint": fingerprint(resolver, e),
            }
            for e in definition.get("inputs") or []
        },
        "outputs": [
            {
                "name": o["name"],
                "datastore": o.get("datastore"),
                "destination": o.get("destination"),
            }
            for o in declared_outputs
        ],
    }
    if step.get("hyperdrive"):
        # the seed is drawn afresh at each submission: a sweep reruns only for real changes
        parts["sweep"] = {k: v for k, v in step["hyperdrive"].items() if k != "seed"}
    return parts


def key_of(parts: dict[str, Any]) -> str:
    return _digest(parts)


def output_sources(
    definition: dict[str, Any], properties: dict[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """Each output's folder as a dataset source, by output name: where the run's definition
    put it, unless its ``OUTPUT_LOCATIONS`` property says otherwise."""
    places = {e["name"]: e["destination"] for e in definition.get("outputs") or []}
    moved = (properties or {}).get(OUTPUT_LOCATIONS)
    if moved:
        places.update(json.loads(moved))
    found = {}
    for name, (store, prefix) in places.items():
        found[name] = {"datastore": store, "path": f"{prefix}/**" if prefix else "**"}
    return found


def _outputs_exist(resolver: Resolver, record: RunRecord) -> bool:
    sources = output_sources(record.definition or {}, record.properties)
    empty = set(json.loads(record.properties.get(EMPTY_OUTPUTS) or "[]"))
    try:
        for name, source in sources.items():
            if name not in empty:
                resolver.files([source])
    except AtelierError:
        return False
    return True


def find_reusable(resolver: Resolver, key: str) -> RunRecord | None:
    """The newest completed step run with this key whose outputs all still exist."""
    query = RunQuery(
        status=(RunStatus.COMPLETED,),
        properties={REUSE_KEY: key},
        include_children=True,
        limit=_CANDIDATES,
    )
    for record in resolver.backend.runs.list(resolver.workspace, None, query):
        if _outputs_exist(resolver, record):
            return record
    return None


def original_of(record: RunRecord) -> str:
    """The run that did the work: itself, or the run it reused."""
    return record.properties.get(REUSED_RUN) or record.run_id
