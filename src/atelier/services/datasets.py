"""Dataset versions and lineage: which data a run consumed, which data a model came from.

A version is immutable: its definition (sources and steps) and the files it read at
registration, each with size, modification time and content hash.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from atelier.core.data_names import check_dataset_name, check_input_name
from atelier.core.data_records import (
    DataFile,
    DatasetRecord,
    ModelDatasetRecord,
    RunInputRecord,
)
from atelier.core.errors import AlreadyExistsError, NotFoundError, StoreError, ValidationError
from atelier.core.ids import new_id
from atelier.core.names import check_key, check_relative_path, check_text_value, check_version
from atelier.core.timeutil import now_ms
from atelier.services import models, runs, workspaces
from atelier.store.models import DatasetFileRow, DatasetRow, ModelDatasetRow, ModelRow, RunInputRow

_MODES = ("direct", "download", "mount")


def _record(row: DatasetRow) -> DatasetRecord:
    return DatasetRecord(
        id=row.id,
        name=row.name,
        version=row.version,
        kind=row.kind,
        definition=dict(row.definition or {}),
        description=row.description,
        tags={str(k): str(v) for k, v in (row.tags or {}).items()},
        file_count=row.file_count,
        total_size=row.total_size,
        created_ms=row.created_ms,
    )


def _check_location(text: object, what: str) -> None:
    """A dataset names files as ``<datastore>:<relative path>`` or, for a local source
    (embedded mode), ``file:<absolute path>``; neither may climb out with '..'."""
    if not isinstance(text, str):
        raise ValidationError(f"{what} must be a string, not {type(text).__name__}")
    scheme, _, rest = text.partition(":")
    if scheme == "file" and rest.startswith("/"):
        if ".." in rest.split("/"):
            raise ValidationError(f"{what} {text!r} contains '..'; give the plain path")
        return
    if not rest or scheme in ("", "file"):
        raise ValidationError(
            f"{what} {text!r} names no datastore; use '<datastore>:<relative path>'"
        )
    check_relative_path(rest, what=what)


def check_locations(definition: dict[str, Any], files: list[DataFile]) -> None:
    """Every path a dataset version records stays inside its datastore (or is an absolute
    local path): ``ValidationError`` naming the first that does not."""
    for source in definition.get("sources") or []:
        if isinstance(source, dict) and "datastore" in source:
            pattern = str(source.get("path") or "**").strip("/") or "**"
            check_relative_path(pattern, what="dataset source path")
        elif isinstance(source, dict) and "local" in source:
            _check_location(f"file:{source['local']}", "dataset source path")
    for item in files:
        _check_location(item.path, "dataset file path")


def _latest(session: Session, workspace_id: str, name: str) -> DatasetRow | None:
    return session.scalar(
        select(DatasetRow)
        .where(DatasetRow.workspace_id == workspace_id, DatasetRow.name == name)
        .order_by(DatasetRow.version.desc())
        .limit(1)
    )


def register(
    session: Session,
    workspace: str,
    name: str,
    *,
    kind: str,
    definition: dict[str, Any],
    files: list[DataFile],
    description: str,
    tags: dict[str, Any],
    create_new_version: bool,
) -> DatasetRecord:
    """Register ``name``: version 1, or the next version with ``create_new_version``.

    A name already taken without ``create_new_version`` raises ``AlreadyExistsError``.
    """
    check_dataset_name(name)
    if kind not in ("tabular", "file"):
        raise ValidationError(f"dataset kind must be 'tabular' or 'file', not {kind!r}")
    check_locations(definition, files)
    clean_tags = {check_key("tag", k): check_text_value("tag", k, v) for k, v in tags.items()}
    ws = workspaces.get_row(session, workspace)
    latest = _latest(session, ws.id, name)
    if latest is not None and not create_new_version:
        raise AlreadyExistsError(
            f"dataset {name!r} already exists in workspace {workspace!r} (latest version "
            f"{latest.version}); pass create_new_version=True to add a version, or choose "
            "another name"
        )
    row = DatasetRow(
        id=new_id(),
        workspace_id=ws.id,
        name=name,
        version=(latest.version + 1) if latest is not None else 1,
        kind=kind,
        definition=definition,
        description=description or "",
        tags=clean_tags,
        file_count=len(files),
        total_size=sum(f.size for f in files),
        created_ms=now_ms(),
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        raise AlreadyExistsError(
            f"dataset {name!r} was registered by someone else at the same moment; try again"
        ) from exc
    if files:
        session.execute(
            insert(DatasetFileRow),
            [
                {
                    "dataset_id": row.id,
                    "position": index,
                    "path": f.path,
                    "size": f.size,
                    "mtime_ms": f.mtime_ms,
                    "digest": f.digest,
                }
                for index, f in enumerate(files)
            ],
        )
    return _record(row)


def get(session: Session, workspace: str, name: str, version: int | None = None) -> DatasetRecord:
    ws = workspaces.get_row(session, workspace)
    latest = _latest(session, ws.id, name)
    if latest is None:
        check_dataset_name(name)
        raise NotFoundError(
            f"dataset {name!r} not found in workspace {workspace!r}; register it with "
            f"dataset.register(ws, {name!r}) or list them with 'atelier dataset list'"
        )
    if version is None or check_version("dataset", version) == latest.version:
        return _record(latest)
    row = session.scalar(
        select(DatasetRow).where(
            DatasetRow.workspace_id == ws.id,
            DatasetRow.name == name,
            DatasetRow.version == int(version),
        )
    )
    if row is None:
        raise NotFoundError(
            f"dataset {name!r} has no version {version} in workspace {workspace!r}; the "
            f"latest is {latest.version} (use version='latest')"
        )
    return _record(row)


def _row_by_id(session: Session, workspace: str, dataset_id: str) -> DatasetRow:
    ws = workspaces.get_row(session, workspace)
    row = session.get(DatasetRow, dataset_id)
    if row is None or row.workspace_id != ws.id:
        raise NotFoundError(f"no dataset with id {dataset_id!r} in workspace {workspace!r}")
    return row


def get_by_id(session: Session, workspace: str, dataset_id: str) -> DatasetRecord:
    return _record(_row_by_id(session, workspace, dataset_id))


def list_latest(session: Session, workspace: str) -> list[DatasetRecord]:
    """The latest version of each dataset, by name."""
    ws = workspaces.get_row(session, workspace)
    newest = (
        select(DatasetRow.name, func.max(DatasetRow.version).label("version"))
        .where(DatasetRow.workspace_id == ws.id)
        .group_by(DatasetRow.name)
        .subquery()
    )
    rows = session.scalars(
        select(DatasetRow)
        .join(
            newest,
            (newest.c.name == DatasetRow.name) & (newest.c.version == DatasetRow.version),
        )
        .where(DatasetRow.workspace_id == ws.id)
        .order_by(DatasetRow.name)
    )
    return [_record(row) for row in rows]


def files(session: Session, workspace: str, dataset_id: str) -> list[DataFile]:
    _row_by_id(session, workspace, dataset_id)
    found = session.scalars(
        select(DatasetFileRow)
        .where(DatasetFileRow.dataset_id == dataset_id)
        .order_by(DatasetFileRow.position)
    )
    return [DataFile(path=f.path, size=f.size, mtime_ms=f.mtime_ms, digest=f.digest) for f in found]


# --- lineage ----------------------------------------------------------------------------
def record_run_inputs(
    session: Session, workspace: str, run_id: str, inputs: list[dict[str, Any]]
) -> None:
    """Record the datasets a run consumes: ``{"name", "mode", "dataset_id" | "definition"}``."""
    runs.get_rows(session, workspace, run_id)
    seen: set[str] = set()
    for entry in inputs:
        name = check_input_name(entry.get("name"))
        if name in seen:
            raise ValidationError(f"two inputs of the run are named {name!r}; rename one")
        seen.add(name)
        mode = entry.get("mode") or "direct"
        if mode not in _MODES:
            raise ValidationError(f"input mode must be one of {_MODES}, not {mode!r}")
        dataset_id = entry.get("dataset_id")
        if dataset_id is not None:
            _row_by_id(session, workspace, dataset_id)
        session.add(
            RunInputRow(
                run_id=run_id,
                name=name,
                mode=mode,
                dataset_id=dataset_id,
                definition=None if dataset_id else entry.get("definition"),
            )
        )
    try:
        session.flush()
    except IntegrityError as exc:
        raise StoreError(f"recording the inputs of run {run_id!r} failed: {exc}") from exc


def _input_records(session: Session, condition: Any) -> list[RunInputRecord]:
    query = (
        select(RunInputRow, DatasetRow.name, DatasetRow.version)
        .outerjoin(DatasetRow, DatasetRow.id == RunInputRow.dataset_id)
        .where(condition)
        .order_by(RunInputRow.run_id, RunInputRow.name)
    )
    return [
        RunInputRecord(
            run_id=row.run_id,
            name=row.name,
            mode=row.mode,
            dataset_id=row.dataset_id,
            dataset_name=ds_name,
            dataset_version=ds_version,
        )
        for row, ds_name, ds_version in session.execute(query)
    ]


def run_inputs(session: Session, workspace: str, run_id: str) -> list[RunInputRecord]:
    runs.get_rows(session, workspace, run_id)
    return _input_records(session, RunInputRow.run_id == run_id)


def definition_of_input(
    session: Session, workspace: str, run_id: str, name: str
) -> dict[str, Any] | None:
    runs.get_rows(session, workspace, run_id)
    row = session.get(RunInputRow, (run_id, name))
    return None if row is None else row.definition


def runs_using(session: Session, workspace: str, dataset_id: str) -> list[RunInputRecord]:
    _row_by_id(session, workspace, dataset_id)
    return _input_records(session, RunInputRow.dataset_id == dataset_id)


def link_model(
    session: Session,
    workspace: str,
    model_name: str,
    model_version: int,
    datasets: list[tuple[str, str]],
) -> None:
    """Record ``(scenario, dataset_id)`` pairs behind a model version."""
    model = models._get_row(session, workspace, model_name, model_version)
    for scenario, dataset_id in datasets:
        if not isinstance(scenario, str) or not scenario.strip() or len(scenario) > 255:
            raise ValidationError(
                f"a model dataset's scenario must be a short text like 'training data', "
                f"not {scenario!r}"
            )
        _row_by_id(session, workspace, dataset_id)
        if session.get(ModelDatasetRow, (model.id, dataset_id, scenario)) is None:
            session.add(
                ModelDatasetRow(model_id=model.id, dataset_id=dataset_id, scenario=scenario)
            )
    session.flush()


def _model_records(session: Session, condition: Any) -> list[ModelDatasetRecord]:
    query = (
        select(ModelDatasetRow.scenario, ModelRow, DatasetRow)
        .join(ModelRow, ModelRow.id == ModelDatasetRow.model_id)
        .join(DatasetRow, DatasetRow.id == ModelDatasetRow.dataset_id)
        .where(condition)
        .order_by(ModelRow.name, ModelRow.version, DatasetRow.name, DatasetRow.version)
    )
    return [
        ModelDatasetRecord(
            model_name=model.name,
            model_version=model.version,
            scenario=scenario,
            dataset_id=dataset.id,
            dataset_name=dataset.name,
            dataset_version=dataset.version,
        )
        for scenario, model, dataset in session.execute(query)
    ]


def model_datasets(
    session: Session, workspace: str, model_name: str, model_version: int
) -> list[ModelDatasetRecord]:
    model = models._get_row(session, workspace, model_name, model_version)
    return _model_records(session, ModelDatasetRow.model_id == model.id)


def models_using(session: Session, workspace: str, dataset_id: str) -> list[ModelDatasetRecord]:
    _row_by_id(session, workspace, dataset_id)
    return _model_records(session, ModelDatasetRow.dataset_id == dataset_id)
