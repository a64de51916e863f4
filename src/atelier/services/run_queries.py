"""Queries over many runs: a workspace's or experiment's runs filtered and ordered as a
:class:`RunQuery` says, a run's descendants, and the runs whose supervisor went silent.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, exists, select
from sqlalchemy.orm import Session

from atelier.core.errors import ValidationError
from atelier.core.names import check_metric_name
from atelier.core.records import RunQuery, RunRecord
from atelier.core.status import TERMINAL_STATUSES
from atelier.services import experiments, workspaces
from atelier.services.run_records import get_rows, records
from atelier.store.models import ExperimentRow, MetricLatestRow, RunPropertyRow, RunRow, RunTagRow

__all__ = ["descendants", "list_runs", "stale_runs"]


def _filtered(query: Select[Any], spec: RunQuery) -> Select[Any]:
    if spec.status:
        query = query.where(RunRow.status.in_([s.value for s in spec.status]))
    if spec.run_type:
        query = query.where(RunRow.run_type == spec.run_type)
    for model, wanted in ((RunTagRow, spec.tags), (RunPropertyRow, spec.properties)):
        for key, value in wanted.items():
            condition = and_(model.run_id == RunRow.run_id, model.key == key)
            if value is not None:
                condition = and_(condition, model.value == value)
            query = query.where(exists().where(condition))
    return query


def list_runs(
    session: Session, workspace: str, experiment: str | None, spec: RunQuery
) -> list[RunRecord]:
    """Runs of one experiment (or the whole workspace), filtered and ordered as ``spec`` says."""
    ws = workspaces.get_row(session, workspace)
    query: Select[Any] = (
        select(*RunRow.__table__.c, ExperimentRow.name.label("experiment_name"))
        .join(ExperimentRow, ExperimentRow.id == RunRow.experiment_id)
        .where(ExperimentRow.workspace_id == ws.id)
    )
    experiment_id = None
    if experiment is not None:
        experiment_id = experiments.get_row(session, workspace, experiment).id
        query = query.where(RunRow.experiment_id == experiment_id)
    if spec.parent_run_id is not None:
        query = query.where(RunRow.parent_run_id == spec.parent_run_id)
    elif not spec.include_children:
        query = query.where(RunRow.parent_run_id.is_(None))
    query = _filtered(query, spec)
    if spec.order_by_metric:
        check_metric_name(spec.order_by_metric)
        _check_order_metric(session, ws.id, experiment_id, spec.order_by_metric)
        latest = MetricLatestRow.__table__.alias("order_metric")
        query = query.outerjoin(
            latest,
            and_(latest.c.run_id == RunRow.run_id, latest.c.name == spec.order_by_metric),
        )
        if spec.limit is not None:
            # a top-N keeps runs that logged the metric, NaN ones (a NULL value) included,
            # sorted last; runs that never logged it are left out
            query = query.where(latest.c.run_id.is_not(None))
        order = latest.c.value.desc() if spec.descending else latest.c.value.asc()
        query = query.order_by(order.nulls_last(), RunRow.created_ms.desc())
    else:
        query = query.order_by(RunRow.created_ms.desc(), RunRow.number.desc())
    if spec.limit is not None:
        query = query.limit(spec.limit)
    rows = [(row, row.experiment_name) for row in session.execute(query)]
    return records(session, rows, workspace, spec.with_latest_metrics, experiment_id)


def _check_order_metric(
    session: Session, workspace_id: str, experiment_id: str | None, name: str
) -> None:
    """Ordering by a metric no run of the scope logged is a mistake (a misspelt name, or a
    direction word that is not ``asc``/``desc``): say so, with the names there are."""
    scope = (
        select(MetricLatestRow.name)
        .join(RunRow, RunRow.run_id == MetricLatestRow.run_id)
        .join(ExperimentRow, ExperimentRow.id == RunRow.experiment_id)
        .where(ExperimentRow.workspace_id == workspace_id)
    )
    if experiment_id is not None:
        scope = scope.where(RunRow.experiment_id == experiment_id)
    if session.execute(scope.where(MetricLatestRow.name == name).limit(1)).first():
        return
    runs = select(RunRow.run_id).join(ExperimentRow, ExperimentRow.id == RunRow.experiment_id)
    runs = runs.where(ExperimentRow.workspace_id == workspace_id)
    if experiment_id is not None:
        runs = runs.where(RunRow.experiment_id == experiment_id)
    if session.execute(runs.limit(1)).first() is None:
        return  # no run at all: nothing to order, nothing misspelt
    logged = sorted(session.scalars(scope.distinct().limit(50)))
    raise ValidationError(
        f"no run logged a metric {name!r}, so runs cannot be ordered by it; logged metrics: "
        f"{', '.join(logged) or '(none)'}; order with 'NAME asc' or 'NAME desc'"
    )


def descendants(session: Session, workspace: str, run_id: str, recursive: bool) -> list[RunRecord]:
    """Child runs in creation order; with ``recursive`` their children too, depth first."""
    get_rows(session, workspace, run_id)
    found: list[tuple[Any, str]] = []
    frontier = [run_id]
    while frontier:
        rows = session.execute(
            select(RunRow, ExperimentRow)
            .join(ExperimentRow, ExperimentRow.id == RunRow.experiment_id)
            .where(RunRow.parent_run_id.in_(frontier))
            .order_by(RunRow.created_ms, RunRow.number)
        ).all()
        found.extend((run, exp.name) for run, exp in rows)
        frontier = [run.run_id for run, _ in rows] if recursive else []
    return records(session, found, workspace)


def stale_runs(session: Session, workspace: str, older_than_ms: int) -> list[RunRecord]:
    """Unfinished supervised runs whose last heartbeat is before ``older_than_ms``."""
    ws = workspaces.get_row(session, workspace)
    rows = session.execute(
        select(RunRow, ExperimentRow)
        .join(ExperimentRow, ExperimentRow.id == RunRow.experiment_id)
        .where(
            ExperimentRow.workspace_id == ws.id,
            RunRow.status.not_in([s.value for s in TERMINAL_STATUSES]),
        )
    ).all()
    found = [
        (r[0], r[1].name)
        for r in rows
        if r[0].supervisor and (r[0].heartbeat_ms or 0) < older_than_ms
    ]
    return records(session, found, workspace)
