"""The MLflow tracking protocol's rules over Atelier's experiments, runs and metrics.

How MLflow's notions map (docs/mlflow.md):

- an MLflow experiment is an Atelier experiment; its id is the experiment's id, and ``"0"``
  (MLflow's default experiment) is the experiment named ``Default``, created on first use;
  deleting one archives it;
- an MLflow run is an ordinary Atelier run (``run_type`` interactive); ``mlflow.runName`` is
  its display name and ``mlflow.parentRunId`` its parent;
- MLflow *params* are Atelier run *properties*: both are write-once key/value text, so
  logging a param again with another value is refused in both worlds;
- MLflow tags are run tags, metrics are scalar series (one point per ``log_metric``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from atelier.core.errors import AlreadyExistsError, NotFoundError, ValidationError
from atelier.core.mlflow_records import LatestMetric, MlflowRun
from atelier.core.names import MLFLOW_NAME_TAG, experiment_name_from_mlflow
from atelier.core.records import ExperimentRecord, MetricPoint, RunQuery, RunRecord
from atelier.core.status import RunStatus
from atelier.services import experiments, metrics, mlflow_search, runs, workspaces
from atelier.services._convert import experiment_record
from atelier.store.models import (
    ExperimentRow,
    MetricLatestRow,
    MlflowLoggedModelRow,
    RunRow,
    RunTagRow,
)

DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"
RUN_NAME_TAG = "mlflow.runName"
PARENT_TAG = "mlflow.parentRunId"
USER_TAG = "mlflow.user"

S = RunStatus
TO_MLFLOW_STATUS = {
    S.NOT_STARTED: "SCHEDULED",
    S.QUEUED: "SCHEDULED",
    S.PREPARING: "SCHEDULED",
    S.RUNNING: "RUNNING",
    S.FINALIZING: "RUNNING",
    S.CANCEL_REQUESTED: "RUNNING",
    S.COMPLETED: "FINISHED",
    S.FAILED: "FAILED",
    S.CANCELED: "KILLED",
}
FROM_MLFLOW_STATUS = {
    "RUNNING": S.RUNNING,
    "FINISHED": S.COMPLETED,
    "FAILED": S.FAILED,
    "KILLED": S.CANCELED,
    "SCHEDULED": S.NOT_STARTED,
}
MetricInput = tuple[str, float, int, int]  # key, value, timestamp_ms, step


# --- experiments ----------------------------------------------------------------------
def experiment_row(session: Session, workspace: str, experiment_id: str) -> ExperimentRow:
    """The experiment with this id in ``workspace`` (``"0"`` is ``Default``, made on demand)."""
    if experiment_id == DEFAULT_EXPERIMENT_ID:
        experiments.get_or_create(session, workspace, DEFAULT_EXPERIMENT_NAME)
        return experiments.get_row(session, workspace, DEFAULT_EXPERIMENT_NAME)
    ws = workspaces.get_row(session, workspace)
    row = session.scalar(
        select(ExperimentRow).where(
            ExperimentRow.workspace_id == ws.id, ExperimentRow.id == str(experiment_id)
        )
    )
    if row is None:
        raise NotFoundError(
            f"experiment id {experiment_id!r} not found in workspace {workspace!r}; "
            "mlflow.set_experiment(name) creates one"
        )
    return row


def get_experiment(session: Session, workspace: str, experiment_id: str) -> ExperimentRecord:
    return experiment_record(experiment_row(session, workspace, experiment_id))


def experiment_by_name(session: Session, workspace: str, name: str) -> ExperimentRecord:
    """The experiment of that name; ``NotFoundError`` for any absent name, well-formed or not
    (MLflow clients look a name up before creating it)."""
    ws = workspaces.get_row(session, workspace)
    stored = experiment_name_from_mlflow(name)
    row = session.scalar(
        select(ExperimentRow).where(
            ExperimentRow.workspace_id == ws.id, ExperimentRow.name == stored
        )
    )
    if row is None:
        raise NotFoundError(f"experiment {name!r} does not exist in workspace {workspace!r}")
    return experiment_record(row)


def mlflow_name(record: ExperimentRecord) -> str:
    """The name an MLflow client gave the experiment (spaces and '/' included)."""
    return record.tags.get(MLFLOW_NAME_TAG) or record.name


def create_experiment(
    session: Session, workspace: str, name: str, tags: dict[str, str]
) -> ExperimentRecord:
    """A new experiment; ``AlreadyExistsError`` if the name is taken (MLflow's rule). A name
    Atelier's rule does not take (spaces, '/') is stored changed, the original in a tag."""
    stored = experiment_name_from_mlflow(name)
    if experiments.list_all(session, workspace, "All", stored):
        raise AlreadyExistsError(
            f"experiment {name!r} already exists in workspace {workspace!r}; "
            "use mlflow.set_experiment to reuse it"
        )
    experiments.get_or_create(session, workspace, stored)
    tags = {**tags, MLFLOW_NAME_TAG: name} if stored != name else tags
    if tags:
        return experiments.set_tags(session, workspace, stored, dict(tags))
    return experiments.get(session, workspace, stored)


def search_experiments(
    session: Session, workspace: str, view_type: str, filter_text: str | None
) -> list[ExperimentRecord]:
    """Experiments filtered by ``name`` and ``tags.<key>`` clauses, newest first."""
    views = {"ACTIVE_ONLY": "ActiveOnly", "DELETED_ONLY": "ArchivedOnly", "ALL": "All"}
    if view_type not in views:
        raise ValidationError(f"view_type {view_type!r} is not one of {sorted(views)}")
    clauses = mlflow_search.parse_filter(filter_text)
    found = experiments.list_all(session, workspace, views[view_type])  # type: ignore[arg-type]

    def value(record: ExperimentRecord, entity: str, key: str) -> Any:
        if entity == "tags":
            return record.tags.get(key)
        if entity == "attributes" and key == "name":
            return mlflow_name(record)
        if entity == "attributes" and key in ("creation_time", "last_update_time"):
            return record.created_ms
        raise ValidationError(
            f"experiments can be searched by name and tags.<key>, not {entity}.{key}"
        )

    chosen = mlflow_search.keep(found, clauses, value)
    return sorted(chosen, key=lambda r: (-r.created_ms, r.name))


def set_experiment_deleted(
    session: Session, workspace: str, experiment_id: str, deleted: bool
) -> None:
    row = experiment_row(session, workspace, experiment_id)
    experiments.set_archived(session, workspace, row.name, deleted)


def set_experiment_tag(
    session: Session, workspace: str, experiment_id: str, key: str, value: str
) -> None:
    row = experiment_row(session, workspace, experiment_id)
    experiments.set_tags(session, workspace, row.name, {key: value})


# --- runs -----------------------------------------------------------------------------
def _latest_metrics(session: Session, run_ids: list[str]) -> dict[str, list[LatestMetric]]:
    found: dict[str, list[LatestMetric]] = {run_id: [] for run_id in run_ids}
    for start in range(0, len(run_ids), 500):
        chunk = run_ids[start : start + 500]
        query = select(
            MetricLatestRow.run_id,
            MetricLatestRow.name,
            MetricLatestRow.value,
            MetricLatestRow.step,
            MetricLatestRow.timestamp_ms,
        ).where(MetricLatestRow.run_id.in_(chunk))
        for run_id, name, stored, step, stamp in session.execute(query):
            value = math.nan if stored is None else stored  # NaN is kept as NULL
            found[run_id].append(LatestMetric(key=name, value=value, step=step, timestamp_ms=stamp))
    return found


def _outputs(session: Session, run_ids: list[str]) -> dict[str, list[tuple[str, int]]]:
    found: dict[str, list[tuple[str, int]]] = {}
    if not run_ids:
        return found
    query = select(MlflowLoggedModelRow.run_id, MlflowLoggedModelRow.id).where(
        MlflowLoggedModelRow.run_id.in_(run_ids)
    )
    for run_id, model_id in session.execute(query.order_by(MlflowLoggedModelRow.created_ms)):
        found.setdefault(run_id, []).append((model_id, 0))
    return found


def _views(session: Session, records: Sequence[RunRecord]) -> list[MlflowRun]:
    ids = [record.run_id for record in records]
    latest = _latest_metrics(session, ids)
    outputs = _outputs(session, ids)
    return [
        MlflowRun(
            run=record,
            metrics=latest.get(record.run_id, []),
            model_outputs=outputs.get(record.run_id, []),
        )
        for record in records
    ]


def get_run(session: Session, workspace: str, run_id: str) -> MlflowRun:
    return _views(session, [runs.get(session, workspace, run_id)])[0]


def create_run(
    session: Session,
    workspace: str,
    experiment_id: str,
    run_name: str | None,
    tags: dict[str, str],
) -> MlflowRun:
    """A running Atelier run in the experiment; the name comes from ``run_name`` or the
    ``mlflow.runName`` tag, the parent from ``mlflow.parentRunId``."""
    exp = experiment_row(session, workspace, experiment_id)
    name = run_name or tags.get(RUN_NAME_TAG) or ""
    if len(name) > 255:
        raise ValidationError(f"run name is {len(name)} characters long; the limit is 255")
    parent = tags.get(PARENT_TAG) or None
    record = runs.create(
        session,
        workspace,
        exp.name,
        parent_run_id=parent,
        display_name=name,
        tags={key: value for key, value in tags.items() if key != RUN_NAME_TAG},
    )
    return get_run(session, workspace, record.run_id)


def _rename(session: Session, workspace: str, run_id: str, name: str) -> None:
    if not name or len(name) > 255:
        raise ValidationError(f"run name {name!r} must be 1-255 characters long")
    run, _ = runs.get_rows(session, workspace, run_id)
    run.display_name = name
    session.flush()


def update_run(
    session: Session, workspace: str, run_id: str, status: str | None, run_name: str | None
) -> MlflowRun:
    """Apply MLflow's ``runs/update``: a new status (ending the run) and/or a new name."""
    if run_name:
        _rename(session, workspace, run_id, run_name)
    if status:
        if status not in FROM_MLFLOW_STATUS:
            raise ValidationError(
                f"status {status!r} is not one of {', '.join(sorted(FROM_MLFLOW_STATUS))}"
            )
        runs.transition(session, workspace, run_id, FROM_MLFLOW_STATUS[status])
    return get_run(session, workspace, run_id)


def log_batch(
    session: Session,
    workspace: str,
    run_id: str,
    metric_points: list[MetricInput],
    params: dict[str, str],
    tags: dict[str, str],
) -> None:
    """Metrics, params and tags in one transaction: all are stored or none."""
    if metric_points:
        series: dict[str, tuple[list[int], list[float], list[int]]] = {}
        for key, value, stamp, step in metric_points:
            steps, values, stamps = series.setdefault(key, ([], [], []))
            steps.append(step)
            values.append(value)
            stamps.append(stamp)
        metrics.log_scalars(session, workspace, run_id, series)  # type: ignore[arg-type]
    if params:
        runs.add_properties(session, workspace, run_id, params)
    if tags:
        set_tags(session, workspace, run_id, tags)


def set_tags(session: Session, workspace: str, run_id: str, tags: dict[str, str]) -> None:
    """Set run tags; ``mlflow.runName`` renames the run instead."""
    rest = dict(tags)
    name = rest.pop(RUN_NAME_TAG, None)
    if name is not None:
        _rename(session, workspace, run_id, name)
    if rest:
        runs.set_tags(session, workspace, run_id, rest)


def delete_tag(session: Session, workspace: str, run_id: str, key: str) -> None:
    """Remove a tag; ``NotFoundError`` if the run has no such tag (MLflow's rule)."""
    runs.get_rows(session, workspace, run_id)
    if session.get(RunTagRow, (run_id, key)) is None:
        raise NotFoundError(f"run {run_id!r} has no tag {key!r}")
    runs.remove_tags(session, workspace, run_id, [key])


def metric_history(session: Session, workspace: str, run_id: str, key: str) -> list[MetricPoint]:
    """Every point of a series in logged order; empty if the run never logged it."""
    try:
        history = metrics.get_history(session, workspace, run_id, key)
    except NotFoundError:
        runs.get_rows(session, workspace, run_id)  # an unknown run is still an error
        return []
    return [
        MetricPoint(step=step, value=value, timestamp_ms=stamp)
        for step, value, stamp in zip(
            history["steps"], history["values"], history["timestamps_ms"], strict=True
        )
    ]


def _run_value(view: MlflowRun, entity: str, key: str) -> Any:
    run = view.run
    if entity == "metrics":
        return next((m.value for m in view.metrics if m.key == key), None)
    if entity == "params":
        return run.properties.get(key)
    if entity == "tags":
        if key == RUN_NAME_TAG:
            return run.display_name
        return run.tags.get(key)
    attributes: dict[str, Any] = {
        "run_id": run.run_id,
        "run_name": run.display_name,
        "status": TO_MLFLOW_STATUS[run.status],
        "start_time": run.started_ms or run.created_ms,
        "created": run.started_ms or run.created_ms,
        "end_time": run.ended_ms,
        "user_id": run.tags.get(USER_TAG, ""),
        "lifecycle_stage": "active",
        "experiment_id": run.experiment_id,
    }
    if key not in attributes:
        raise ValidationError(
            f"runs can be searched by the attributes {', '.join(sorted(attributes))}, not {key!r}"
        )
    return attributes[key]


def search_runs(
    session: Session,
    workspace: str,
    experiment_ids: list[str],
    filter_text: str | None,
    order_by: list[str] | None,
    max_results: int,
    offset: int,
) -> tuple[list[MlflowRun], int | None]:
    """One page of the experiments' runs (children included) matching the filter, in
    ``order_by`` order (newest first by default), and the offset of the next page."""
    clauses = mlflow_search.parse_filter(filter_text)
    keys = mlflow_search.parse_order_by(order_by)
    query = RunQuery(include_children=True)
    records: list[RunRecord] = []
    for experiment_id in dict.fromkeys(experiment_ids):
        exp = experiment_row(session, workspace, experiment_id)
        records.extend(runs.list_runs(session, workspace, exp.name, query))
    views = _views(session, records)
    chosen = mlflow_search.keep(views, clauses, _run_value)
    chosen.sort(key=lambda v: (-(v.run.started_ms or v.run.created_ms), -v.run.number))
    mlflow_search.sort(chosen, keys, _run_value)
    page = chosen[offset : offset + max_results]
    following = offset + max_results if offset + max_results < len(chosen) else None
    return page, following


def require_run_rows(session: Session, workspace: str, run_id: str) -> RunRow:
    run, _ = runs.get_rows(session, workspace, run_id)
    return run
