"""The model registry: named, auto-versioned sets of files with tags, properties and lineage.

A model version's files are content-addressed blobs, like a run's files. Registering from
a run points the model at the run's own blobs (nothing is copied) and records the run id.
Every file path of a model starts with its *asset* name: the registered file's name, or
the registered folder's name followed by the path inside it, as azureml lays them out.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import Select, and_, delete, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from atelier.core.errors import ConflictError, NotFoundError, StoreError, ValidationError
from atelier.core.ids import new_id
from atelier.core.names import (
    check_key,
    check_model_name,
    check_relative_path,
    check_run_id,
    check_text_value,
    check_version,
)
from atelier.core.records import ModelFileRecord, ModelQuery, ModelRecord, ModelSpec
from atelier.core.timeutil import now_ms
from atelier.services import artifacts, endpoints, workspaces
from atelier.storage.blobstore import BlobStore
from atelier.store.models import (
    ModelFileRow,
    ModelPropertyRow,
    ModelRow,
    ModelTagRow,
    WorkspaceRow,
)

#: each failed attempt means another registration of the name committed meanwhile
_REGISTER_ATTEMPTS = 20
_FRAMEWORK_MAX = 255
_IN_CHUNK = 500

#: (path inside the model, digest, size)
StoredFile = tuple[str, str, int]


# --- reading ------------------------------------------------------------------------
def _not_found(workspace: str, name: str) -> NotFoundError:
    return NotFoundError(
        f"model {name!r} not found in workspace {workspace!r}; register it with "
        f"Model.register(ws, model_path, {name!r}), run.register_model({name!r}, path) or "
        f"'atelier model register -w {workspace} --name {name} --path PATH'"
    )


def _get_row(session: Session, workspace: str, name: str, version: int | None = None) -> ModelRow:
    """The model version (the latest when ``version`` is None); ``NotFoundError`` if absent."""
    number = None if version is None else check_version("model", version)
    ws = workspaces.get_row(session, workspace)
    latest = session.scalar(
        select(ModelRow)
        .where(ModelRow.workspace_id == ws.id, ModelRow.name == name)
        .order_by(ModelRow.version.desc())
        .limit(1)
    )
    if latest is None:
        check_model_name(name)
        raise _not_found(workspace, name)
    if number is None or number == latest.version:
        return latest
    row = session.scalar(
        select(ModelRow).where(
            ModelRow.workspace_id == ws.id, ModelRow.name == name, ModelRow.version == number
        )
    )
    if row is None:
        raise NotFoundError(
            f"model {name!r} has no version {number} in workspace {workspace!r}; the latest "
            f"is {latest.version} (omit the version to get it; list them with "
            f"'atelier model list -w {workspace} --name {name}')"
        )
    return row


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(ids), _IN_CHUNK):
        yield ids[start : start + _IN_CHUNK]


def _key_values(
    session: Session, table: type[ModelTagRow] | type[ModelPropertyRow], ids: list[str]
) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for chunk in _chunks(ids):
        query = select(table.model_id, table.key, table.value).where(table.model_id.in_(chunk))
        for model_id, key, value in session.execute(query.order_by(table.key)):
            found.setdefault(model_id, {})[key] = value
    return found


def _records(session: Session, rows: list[ModelRow]) -> list[ModelRecord]:
    """Records with their tags and properties, loaded in a few set-wise queries."""
    ids = [row.id for row in rows]
    tags = _key_values(session, ModelTagRow, ids)
    props = _key_values(session, ModelPropertyRow, ids)
    return [
        ModelRecord(
            id=row.id,
            name=row.name,
            version=row.version,
            description=row.description,
            framework=row.framework,
            framework_version=row.framework_version,
            run_id=row.run_id,
            created_ms=row.created_ms,
            tags=tags.get(row.id, {}),
            properties=props.get(row.id, {}),
        )
        for row in rows
    ]


def get(session: Session, workspace: str, name: str, version: int | None = None) -> ModelRecord:
    """The model's latest version, or ``version``; ``NotFoundError`` saying how to register."""
    return _records(session, [_get_row(session, workspace, name, version)])[0]


def _filtered(query: Select[Any], spec: ModelQuery) -> Select[Any]:
    if spec.name is not None:
        query = query.where(ModelRow.name == spec.name)
    if spec.run_id is not None:
        query = query.where(ModelRow.run_id == spec.run_id)
    if spec.framework is not None:
        query = query.where(ModelRow.framework == spec.framework)
    for table, wanted in ((ModelTagRow, spec.tags), (ModelPropertyRow, spec.properties)):
        for key, value in wanted.items():
            condition = and_(table.model_id == ModelRow.id, table.key == key)
            if value is not None:
                condition = and_(condition, table.value == value)
            query = query.where(exists().where(condition))
    return query


def list_models(session: Session, workspace: str, spec: ModelQuery) -> list[ModelRecord]:
    """Models matching ``spec``, by name then newest version first.

    With ``spec.latest`` only the newest version of each name among the matches is kept
    (so ``tags=['prod'], latest=True`` is the newest prod-tagged version of each model).
    """
    ws = workspaces.get_row(session, workspace)
    query = _filtered(select(ModelRow).where(ModelRow.workspace_id == ws.id), spec)
    if spec.latest:
        ranked = _filtered(
            select(
                ModelRow.id,
                func.row_number()
                .over(partition_by=ModelRow.name, order_by=ModelRow.version.desc())
                .label("rank"),
            ).where(ModelRow.workspace_id == ws.id),
            spec,
        ).subquery()
        query = query.join(ranked, ranked.c.id == ModelRow.id).where(ranked.c.rank == 1)
    rows = list(session.scalars(query.order_by(ModelRow.name, ModelRow.version.desc())))
    return _records(session, rows)


def files(
    session: Session,
    workspace: str,
    name: str,
    version: int | None = None,
    path: str | None = None,
) -> list[ModelFileRecord]:
    """The files of the model version, sorted by path; with ``path``, only the file of that
    path (one index lookup, for a download, instead of listing every file)."""
    row = _get_row(session, workspace, name, version)
    query = select(ModelFileRow).where(ModelFileRow.model_id == row.id)
    if path is not None:
        query = query.where(ModelFileRow.path == path)
    found = session.scalars(query.order_by(ModelFileRow.path))
    return [ModelFileRecord(path=f.path, digest=f.digest, size=f.size) for f in found]


# --- registering -----------------------------------------------------------------------
def _clean(kind: str, values: object) -> dict[str, str]:
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ValidationError(
            f"{kind}s must be a dict of names to values, not {type(values).__name__}"
        )
    return {check_key(kind, k): check_text_value(kind, k, v) for k, v in values.items()}


def _optional_text(what: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > _FRAMEWORK_MAX:
        raise ValidationError(
            f"{what} must be a string of at most {_FRAMEWORK_MAX} characters, not {value!r}"
        )
    return value


def _check_spec(spec: ModelSpec) -> tuple[dict[str, str], dict[str, str]]:
    if not isinstance(spec.description, str):
        raise ValidationError(f"description must be a string, not {spec.description!r}")
    _optional_text("model_framework", spec.framework)
    _optional_text("model_framework_version", spec.framework_version)
    return _clean("tag", spec.tags), _clean("property", spec.properties)


def check_model_paths(paths: list[str]) -> list[str]:
    """Normalized model paths, refused unless they form one asset: a single top-level file,
    or files below one top-level folder."""
    if not paths:
        raise ValidationError("a model needs at least one file; the folder given is empty")
    clean = [check_relative_path(p) for p in paths]
    if len(set(clean)) != len(clean):
        raise ValidationError("two of the model's files map to the same path")
    roots = {p.split("/", 1)[0] for p in clean}
    if len(roots) != 1 or (len(clean) > 1 and any("/" not in p for p in clean)):
        raise ValidationError(
            "a model's files must all lie below one folder, or be a single file; "
            f"got {sorted(clean)[:3]}"
        )
    return clean


def _insert(
    session: Session,
    ws: WorkspaceRow,
    name: str,
    spec: ModelSpec,
    stored: list[StoredFile],
    run_id: str | None,
) -> ModelRecord:
    """Add the model as the name's next version, retrying when another writer took it."""
    tags, properties = _check_spec(spec)
    # Registrations in one workspace take turns from here to their commit on PostgreSQL
    # (SQLite serializes writers by itself): without it, N writers racing for one name all
    # try the same next version and do N² retries. The retry stays for what slips through.
    session.execute(
        select(WorkspaceRow.id).where(WorkspaceRow.id == ws.id).with_for_update(key_share=True)
    )
    for _ in range(_REGISTER_ATTEMPTS):
        latest = session.scalar(
            select(func.max(ModelRow.version)).where(
                ModelRow.workspace_id == ws.id, ModelRow.name == name
            )
        )
        row = ModelRow(
            id=new_id(),
            workspace_id=ws.id,
            name=name,
            version=(latest or 0) + 1,
            description=spec.description,
            framework=spec.framework,
            framework_version=spec.framework_version,
            run_id=run_id,
            created_ms=now_ms(),
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            # another process registered this version between our read and write; look again
            continue
        session.add_all(ModelTagRow(model_id=row.id, key=k, value=v) for k, v in tags.items())
        session.add_all(
            ModelPropertyRow(model_id=row.id, key=k, value=v) for k, v in properties.items()
        )
        session.add_all(
            ModelFileRow(model_id=row.id, path=path, digest=digest, size=size)
            for path, digest, size in stored
        )
        session.flush()
        return _records(session, [row])[0]
    raise StoreError(f"model {name!r} kept getting new versions while registering it; try again")


def register(
    session: Session,
    blobs: BlobStore,
    workspace: str,
    name: str,
    local_files: list[tuple[str, Path]],
    spec: ModelSpec,
) -> ModelRecord:
    """Store local files ``(path inside the model, local path)`` as the name's next version.

    Names, paths and metadata are checked before any byte is stored, and the rows are
    added in the caller's single transaction (all or nothing). Raises ``ValidationError``
    for a bad name, path or value and ``NotFoundError`` for an unknown workspace.
    """
    check_model_name(name)
    ws = workspaces.get_row(session, workspace)
    paths = check_model_paths([path for path, _ in local_files])
    _check_spec(spec)
    stored = []
    for path, (_, local) in zip(paths, local_files, strict=True):
        digest, size = blobs.put_file(local)
        stored.append((path, digest, size))
    return _insert(session, ws, name, spec, stored, run_id=None)


def register_from_run(
    session: Session, workspace: str, name: str, run_id: str, path: str, spec: ModelSpec
) -> ModelRecord:
    """Register the run's file ``path``, or every file below the folder ``path``, reusing
    the run's blobs; the model records ``run_id`` as its lineage.

    Raises ``NotFoundError`` if the run has no such file or folder.
    """
    check_model_name(name)
    check_run_id(run_id)
    ws = workspaces.get_row(session, workspace)
    clean = check_relative_path(path, what="model path")
    below = artifacts.list_files(session, workspace, run_id, clean)
    found = [record for record in below if record.path == clean]  # a file wins over a folder
    if not found:
        found = [record for record in below if record.path.startswith(clean + "/")]
    if not found:
        raise NotFoundError(
            f"run {run_id!r} has no file or folder {clean!r}; see run.get_file_names() for "
            "what it has (files a script writes to ./outputs are uploaded when it ends: "
            "register after the run completes, or upload them first with run.upload_file)"
        )
    asset = clean.rsplit("/", 1)[-1]
    stored = [(asset + record.path[len(clean) :], record.digest, record.size) for record in found]
    return _insert(session, ws, name, spec, stored, run_id=run_id)


# --- changing -------------------------------------------------------------------------
def set_tags(
    session: Session, workspace: str, name: str, version: int, tags: dict[str, Any]
) -> ModelRecord:
    """Add tags, replacing the value of keys the model already has."""
    row = _get_row(session, workspace, name, version)
    for key, value in _clean("tag", tags).items():
        existing = session.get(ModelTagRow, (row.id, key))
        if existing is None:
            session.add(ModelTagRow(model_id=row.id, key=key, value=value))
        else:
            existing.value = value
    session.flush()
    return _records(session, [row])[0]


def remove_tags(
    session: Session, workspace: str, name: str, version: int, keys: list[str]
) -> ModelRecord:
    """Remove the tags with these keys; keys the model does not have are ignored."""
    row = _get_row(session, workspace, name, version)
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ValidationError(f"tag keys to remove must be a list of strings, not {keys!r}")
    session.execute(
        delete(ModelTagRow).where(ModelTagRow.model_id == row.id, ModelTagRow.key.in_(keys))
    )
    return _records(session, [row])[0]


def add_properties(
    session: Session, workspace: str, name: str, version: int, properties: dict[str, Any]
) -> ModelRecord:
    """Add properties; a property is immutable, so another value for a key raises
    ``ConflictError`` (and nothing of the call is kept)."""
    row = _get_row(session, workspace, name, version)
    for key, value in _clean("property", properties).items():
        existing = session.get(ModelPropertyRow, (row.id, key))
        if existing is None:
            session.add(ModelPropertyRow(model_id=row.id, key=key, value=value))
        elif existing.value != value:
            raise ConflictError(
                f"property {key!r} of model {name}:{row.version} is already "
                f"{existing.value!r}; properties are immutable, record a changing value "
                "with model.add_tags() instead"
            )
    session.flush()
    return _records(session, [row])[0]


def update(
    session: Session,
    workspace: str,
    name: str,
    version: int,
    *,
    description: str | None = None,
    tags: dict[str, Any] | None = None,
) -> ModelRecord:
    """Set the description and/or replace all tags (None leaves either unchanged)."""
    row = _get_row(session, workspace, name, version)
    if description is not None:
        if not isinstance(description, str):
            raise ValidationError(f"description must be a string, not {description!r}")
        row.description = description
    if tags is not None:
        clean = _clean("tag", tags)
        session.execute(delete(ModelTagRow).where(ModelTagRow.model_id == row.id))
        session.add_all(ModelTagRow(model_id=row.id, key=k, value=v) for k, v in clean.items())
    session.flush()
    return _records(session, [row])[0]


def _check_not_deployed(session: Session, workspace: str, name: str, version: int) -> ModelRow:
    """The model version, if nothing stops deleting it: ``ConflictError`` naming the
    deployments that serve it (DESIGN.md section 3: a model used by a live deployment
    cannot be deleted)."""
    row = _get_row(session, workspace, name, version)
    using = endpoints.deployments_using(session, row.id)
    if using:
        raise ConflictError(
            f"model {name}:{row.version} is served by deployment(s) {', '.join(using)} "
            f"(endpoint/deployment); update or delete them first, e.g. "
            f"'atelier endpoint delete -w {workspace} {using[0].split('/')[0]}'"
        )
    return row


def delete_version(session: Session, workspace: str, name: str, version: int) -> set[str]:
    """Delete one model version with its tags, properties and file rows; return the blob
    digests it referenced (a run's files may still use them)."""
    row = _check_not_deployed(session, workspace, name, version)
    digests = set(
        session.scalars(select(ModelFileRow.digest).where(ModelFileRow.model_id == row.id))
    )
    session.delete(row)
    session.flush()
    return digests
