"""MLflow's logged models and model registry over Atelier's runs and model registry.

- A *logged model* is a folder of the run's files, ``mlflow-models/<model id>/<name>``;
  the mlflow client uploads the model there through the artifact proxy.
- A *registered model version* is an ordinary Atelier model version registered from that
  run folder (the run's blobs are shared, nothing is copied), so ``Model(ws, name)`` sees
  it. Its MLflow ``source`` and ``model_id`` are kept as model properties.
- A *registered model* (description, tags, aliases) has its own row, created with its
  first version if the client did not create it first.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from atelier.core.errors import AlreadyExistsError, NotFoundError, ValidationError
from atelier.core.mlflow_records import LoggedModelRecord, RegisteredModelRecord
from atelier.core.names import check_key, check_model_name, check_text_value
from atelier.core.records import ModelQuery, ModelRecord, ModelSpec
from atelier.core.timeutil import now_ms
from atelier.services import mlflow_artifacts, mlflow_search, models, runs, workspaces
from atelier.services.mlflow_tracking import experiment_row
from atelier.store.models import MlflowLoggedModelRow, MlflowRegisteredModelRow

SOURCE_PROPERTY = "mlflow.source"
MODEL_ID_PROPERTY = "mlflow.model_id"
LOGGED_MODEL_FOLDER = "mlflow-models"
STATUSES = ("LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED")
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


def _tag_dict(kind: str, values: dict[str, Any]) -> dict[str, str]:
    return {check_key(kind, k): check_text_value(kind, k, v) for k, v in values.items()}


# --- logged models --------------------------------------------------------------------
def _logged(row: MlflowLoggedModelRow) -> LoggedModelRecord:
    return LoggedModelRecord(
        id=row.id,
        experiment_id=row.experiment_id,
        run_id=row.run_id,
        name=row.name,
        model_type=row.model_type,
        status=row.status,
        artifact_path=row.artifact_path,
        tags=dict(row.tags or {}),
        params=dict(row.params or {}),
        created_ms=row.created_ms,
        updated_ms=row.updated_ms,
    )


def _logged_row(session: Session, workspace: str, model_id: str) -> MlflowLoggedModelRow:
    ws = workspaces.get_row(session, workspace)
    row = session.get(MlflowLoggedModelRow, model_id)
    if row is None or row.workspace_id != ws.id:
        raise NotFoundError(f"logged model {model_id!r} not found in workspace {workspace!r}")
    return row


def create_logged_model(
    session: Session,
    workspace: str,
    experiment_id: str,
    name: str,
    run_id: str | None,
    model_type: str | None,
    tags: dict[str, str],
    params: dict[str, str],
) -> LoggedModelRecord:
    """A pending logged model whose files will be the run's ``mlflow-models/<id>/<name>``."""
    if not run_id:
        raise ValidationError(
            "Atelier keeps a logged model's files in its run: log models inside a run "
            "(with mlflow.start_run(): ...)"
        )
    exp = experiment_row(session, workspace, experiment_id)
    run, run_exp = runs.get_rows(session, workspace, run_id)
    if run_exp.id != exp.id:
        raise ValidationError(f"run {run_id!r} is not in experiment {experiment_id!r}")
    model_id = f"m-{uuid.uuid4().hex}"
    folder = name if _SAFE_NAME.fullmatch(name or "") else "model"
    stamp = now_ms()
    row = MlflowLoggedModelRow(
        id=model_id,
        workspace_id=exp.workspace_id,
        experiment_id=exp.id,
        run_id=run.run_id,
        name=name or "model",
        model_type=model_type,
        status=STATUSES[0],
        artifact_path=f"{LOGGED_MODEL_FOLDER}/{model_id}/{folder}",
        tags=_tag_dict("tag", tags),
        params=_tag_dict("param", params),
        created_ms=stamp,
        updated_ms=stamp,
    )
    session.add(row)
    session.flush()
    return _logged(row)


def get_logged_model(session: Session, workspace: str, model_id: str) -> LoggedModelRecord:
    return _logged(_logged_row(session, workspace, model_id))


def finalize_logged_model(
    session: Session, workspace: str, model_id: str, status: str
) -> LoggedModelRecord:
    if status not in STATUSES:
        raise ValidationError(f"status {status!r} is not one of {', '.join(STATUSES)}")
    row = _logged_row(session, workspace, model_id)
    row.status = status
    row.updated_ms = now_ms()
    session.flush()
    return _logged(row)


def update_logged_model(
    session: Session,
    workspace: str,
    model_id: str,
    tags: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    remove_tag: str | None = None,
) -> LoggedModelRecord:
    """Merge tags or params into the logged model, or drop one tag."""
    row = _logged_row(session, workspace, model_id)
    if tags:
        row.tags = {**(row.tags or {}), **_tag_dict("tag", tags)}
    if params:
        row.params = {**(row.params or {}), **_tag_dict("param", params)}
    if remove_tag is not None:
        row.tags = {k: v for k, v in (row.tags or {}).items() if k != remove_tag}
    row.updated_ms = now_ms()
    session.flush()
    return _logged(row)


def search_logged_models(
    session: Session, workspace: str, experiment_ids: list[str], filter_text: str | None
) -> list[LoggedModelRecord]:
    """Logged models of the experiments, filtered by ``name``, ``source_run_id``,
    ``model_id``, ``status`` or ``tags.<key>``, newest first."""
    clauses = mlflow_search.parse_filter(filter_text)
    ids = [experiment_row(session, workspace, e).id for e in experiment_ids]
    query = select(MlflowLoggedModelRow).where(MlflowLoggedModelRow.experiment_id.in_(ids))
    found = [_logged(r) for r in session.scalars(query)]

    def value(record: LoggedModelRecord, entity: str, key: str) -> Any:
        if entity == "tags":
            return record.tags.get(key)
        if entity == "params":
            return record.params.get(key)
        known = {
            "name": record.name,
            "source_run_id": record.run_id,
            "model_id": record.id,
            "status": record.status,
            "creation_timestamp": record.created_ms,
        }
        if entity != "attributes" or key not in known:
            raise ValidationError(f"logged models cannot be searched by {entity}.{key}")
        return known[key]

    chosen = mlflow_search.keep(found, clauses, value, absent_differs=True)
    return sorted(chosen, key=lambda r: -r.created_ms)


# --- registered models ----------------------------------------------------------------
def _registered_row(session: Session, workspace: str, name: str) -> MlflowRegisteredModelRow | None:
    ws = workspaces.get_row(session, workspace)
    return session.get(MlflowRegisteredModelRow, (ws.id, name))


def _latest(session: Session, workspace: str, name: str) -> ModelRecord | None:
    try:
        return models.get(session, workspace, name)
    except NotFoundError:
        return None


def get_registered_model(session: Session, workspace: str, name: str) -> RegisteredModelRecord:
    """The registered model: its own row, or one made up from Atelier versions alone."""
    row = _registered_row(session, workspace, name)
    latest = _latest(session, workspace, name)
    if row is None and latest is None:
        check_model_name(name)
        raise NotFoundError(f"registered model {name!r} not found in workspace {workspace!r}")
    if row is None:
        assert latest is not None
        return RegisteredModelRecord(
            name=name, created_ms=latest.created_ms, updated_ms=latest.created_ms, latest=latest
        )
    return RegisteredModelRecord(
        name=row.name,
        description=row.description,
        tags=dict(row.tags or {}),
        aliases={k: int(v) for k, v in (row.aliases or {}).items()},
        created_ms=row.created_ms,
        updated_ms=row.updated_ms,
        latest=latest,
    )


def create_registered_model(
    session: Session, workspace: str, name: str, description: str, tags: dict[str, str]
) -> RegisteredModelRecord:
    """A registered model; ``AlreadyExistsError`` if one of that name exists (with or
    without versions)."""
    check_model_name(name)
    ws = workspaces.get_row(session, workspace)
    if session.get(MlflowRegisteredModelRow, (ws.id, name)) is not None:
        raise AlreadyExistsError(f"registered model {name!r} already exists")
    if _latest(session, workspace, name) is not None:
        raise AlreadyExistsError(
            f"registered model {name!r} already exists (it has Atelier versions)"
        )
    stamp = now_ms()
    session.add(
        MlflowRegisteredModelRow(
            workspace_id=ws.id,
            name=name,
            description=description,
            tags=_tag_dict("tag", tags),
            aliases={},
            created_ms=stamp,
            updated_ms=stamp,
        )
    )
    session.flush()
    return get_registered_model(session, workspace, name)


def _ensure_registered_row(session: Session, workspace: str, name: str) -> MlflowRegisteredModelRow:
    row = _registered_row(session, workspace, name)
    if row is None:
        check_model_name(name)
        ws = workspaces.get_row(session, workspace)
        stamp = now_ms()
        row = MlflowRegisteredModelRow(
            workspace_id=ws.id,
            name=name,
            description="",
            tags={},
            aliases={},
            created_ms=stamp,
            updated_ms=stamp,
        )
        session.add(row)
        session.flush()
    return row


def update_registered_model(
    session: Session,
    workspace: str,
    name: str,
    *,
    description: str | None = None,
    tags: dict[str, str] | None = None,
    remove_tag: str | None = None,
    alias: tuple[str, int | None] | None = None,
) -> RegisteredModelRecord:
    """Change the description, merge tags, drop a tag, or set/remove an alias."""
    get_registered_model(session, workspace, name)
    row = _ensure_registered_row(session, workspace, name)
    if description is not None:
        row.description = description
    if tags:
        row.tags = {**(row.tags or {}), **_tag_dict("tag", tags)}
    if remove_tag is not None:
        row.tags = {k: v for k, v in (row.tags or {}).items() if k != remove_tag}
    if alias is not None:
        label, version = alias
        check_key("alias", label)
        aliases = dict(row.aliases or {})
        if version is None:
            aliases.pop(label, None)
        else:
            models.get(session, workspace, name, version)
            aliases[label] = version
        row.aliases = aliases
    row.updated_ms = now_ms()
    session.flush()
    return get_registered_model(session, workspace, name)


def search_registered_models(
    session: Session, workspace: str, filter_text: str | None
) -> list[RegisteredModelRecord]:
    """Registered models (with rows or Atelier versions) filtered by ``name``/``tags``."""
    clauses = mlflow_search.parse_filter(filter_text)
    ws = workspaces.get_row(session, workspace)
    names = set(
        session.scalars(
            select(MlflowRegisteredModelRow.name).where(
                MlflowRegisteredModelRow.workspace_id == ws.id
            )
        )
    )
    names.update(m.name for m in models.list_models(session, workspace, ModelQuery(latest=True)))
    found = [get_registered_model(session, workspace, n) for n in sorted(names)]

    def value(record: RegisteredModelRecord, entity: str, key: str) -> Any:
        if entity == "tags":
            return record.tags.get(key)
        if entity == "attributes" and key == "name":
            return record.name
        raise ValidationError(f"registered models can be searched by name and tags, not {key}")

    return mlflow_search.keep(found, clauses, value, absent_differs=True)


# --- model versions -------------------------------------------------------------------
def _source_location(session: Session, workspace: str, source: str) -> tuple[str, str, str | None]:
    """(run id, folder in the run, logged model id) that a version's ``source`` names."""
    if source.startswith("models:/m-"):
        logged = get_logged_model(session, workspace, source.removeprefix("models:/").strip("/"))
        return logged.run_id, logged.artifact_path, logged.id
    if source.startswith("runs:/"):
        run_id, _, path = source.removeprefix("runs:/").partition("/")
        return run_id, mlflow_artifacts.check_proxy_path(path), None
    if source.startswith("mlflow-artifacts:"):
        where = mlflow_artifacts.locate(session, workspace, source.split(":", 1)[1].lstrip("/"))
        if where.run_id is not None and where.path:
            return where.run_id, where.path, None
    raise ValidationError(
        f"cannot register from source {source!r}: use models:/<logged model id>, "
        "runs:/<run id>/<path> or an mlflow-artifacts: URI of a run folder"
    )


def create_model_version(
    session: Session,
    workspace: str,
    name: str,
    source: str,
    description: str,
    tags: dict[str, str],
) -> ModelRecord:
    """Register the source's run folder as the name's next Atelier model version."""
    check_model_name(name)
    if not isinstance(source, str) or not source:
        raise ValidationError("a model version needs a source, e.g. models:/<logged model id>")
    run_id, path, model_id = _source_location(session, workspace, source)
    _ensure_registered_row(session, workspace, name)
    properties = {SOURCE_PROPERTY: source}
    if model_id:
        properties[MODEL_ID_PROPERTY] = model_id
    spec = ModelSpec(description=description, framework="MLflow", tags=tags, properties=properties)
    return models.register_from_run(session, workspace, name, run_id, path, spec)


def search_model_versions(
    session: Session, workspace: str, filter_text: str | None
) -> list[ModelRecord]:
    """Versions filtered by ``name``, ``run_id``, ``version`` or ``tags.<key>``."""
    clauses = mlflow_search.parse_filter(filter_text)
    found = models.list_models(session, workspace, ModelQuery())

    def value(record: ModelRecord, entity: str, key: str) -> Any:
        if entity == "tags":
            return record.tags.get(key)
        known = {"name": record.name, "run_id": record.run_id, "version": str(record.version)}
        if entity != "attributes" or key not in known:
            raise ValidationError(f"model versions cannot be searched by {entity}.{key}")
        return known[key]

    return mlflow_search.keep(found, clauses, value, absent_differs=True)


def download_path(session: Session, workspace: str, name: str, version: int) -> str:
    """The artifact-proxy path of the version's asset folder when it is an MLflow model;
    else the version's own folder, which also holds a generated ``MLmodel``."""
    if mlflow_artifacts.generated_mlmodel(session, workspace, name, version) is not None:
        return f"{mlflow_artifacts.REGISTRY}/{name}/{version}"
    files = models.files(session, workspace, name, version)
    asset = files[0].path.split("/", 1)[0]
    return f"{mlflow_artifacts.REGISTRY}/{name}/{version}/{asset}"


def aliases_of(session: Session, workspace: str, name: str) -> dict[str, int]:
    row = _registered_row(session, workspace, name)
    return {k: int(v) for k, v in ((row.aliases if row else None) or {}).items()}
