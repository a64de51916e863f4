"""Queries over many runs: a workspace's or experiment's runs filtered and ordered as a
:class:`RunQuery` says, a run's descendants, and the runs whose supervisor went silent.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, select
from sqlalchemy.orm import Session, aliased

from atelier.core.errors import ValidationError
from atelier.core.names import check_metric_name
from atelier.core.records import RunQuery, RunRecord
from atelier.core.status import TERMINAL_STATUSES
from atelier.services import experiments, workspaces
from atelier.services.run_records import get_rows, records
from atelier.store.models import ExperimentRow, MetricLatestRow, RunPropertyRow, RunRow, RunTagRow

__all__ = ["descendants", "list_runs", "stale_runs"]


def _filtered(query: Select[Any], spec: RunQuery, runs: Any) -> Select[Any]:
    if spec.parent_run_id is not None:
        query = query.where(runs.parent_run_id == spec.parent_run_id)
    elif not spec.include_children:
        query = query.where(runs.parent_run_id.is_(None))
    if spec.status:
        query = query.where(runs.status.in_([s.value for s in spec.status]))
    if spec.run_type:
        query = query.where(runs.run_type == spec.run_type)
    for model, wanted in ((RunTagRow, spec.tags), (RunPropertyRow, spec.properties)):
        for key, value in wanted.items():
            condition = and_(model.run_id == runs.run_id, model.key == key)
            if value is not None:
                condition = and_(condition, model.value == value)
            query = query.where(exists().where(condition))
    return query


def list_runs(
    session: Session, workspace: str, experiment: str | None, spec: RunQuery
) -> list[RunRecord]:
    """Runs of one experiment (or the whole workspace), filtered and ordered as ``spec`` says.

    The plans must not depend on PostgreSQL's statistics (tables nobody analyzed yet, as
    while an experiment grows, plan every step as if it held a few rows): the experiments
    in scope are read first, and runs are never joined to ``experiments`` (planned without
    statistics as a scan of the workspace's experiments for every run: 4.7 s at 770 runs).
    The runs in scope are read by one index alone (the experiment's runs, or a metric's
    values in the experiment, each run by its key) in a CTE that PostgreSQL materializes,
    and only then filtered and ordered: no other index (parent, status) can lead."""
    ws = workspaces.get_row(session, workspace)
    experiment_id = None
    if experiment is not None:
        row = experiments.get_row(session, workspace, experiment)
        experiment_id, names = row.id, {row.id: row.name}
    else:
        by_workspace = select(ExperimentRow.id, ExperimentRow.name).where(
            ExperimentRow.workspace_id == ws.id
        )
        names = dict(session.execute(by_workspace).all())
    if not names:
        return []
    scope = list(names)
    if spec.order_by_metric:
        check_metric_name(spec.order_by_metric)
        _check_order_metric(session, scope, spec.order_by_metric)
        found = _by_metric(session, scope, spec)
    else:
        runs, _ = _materialized(session, select(RunRow).where(_in(RunRow.experiment_id, scope)))
        query = _filtered(select(runs), spec, runs)
        query = query.order_by(runs.created_ms.desc(), runs.number.desc())
        found = list(session.scalars(query.limit(spec.limit)))
    rows = [(run, names[run.experiment_id]) for run in found]
    return records(session, rows, workspace, spec.with_latest_metrics, experiment_id)


def _in(column: Any, values: list[str]) -> ColumnElement[bool]:
    condition: ColumnElement[bool] = column == values[0] if len(values) == 1 else column.in_(values)
    return condition


def _materialized(session: Session, query: Any) -> tuple[Any, Any]:
    """``query``'s rows as ``RunRow`` entities read from a CTE, and the CTE: on PostgreSQL
    a materialized one, which the planner computes on its own before the filters around it."""
    scoped = query.cte("scope")
    if session.get_bind().dialect.name == "postgresql":
        scoped = scoped.prefix_with("MATERIALIZED")
    return aliased(RunRow, scoped), scoped


def _by_metric(session: Session, experiment_ids: list[str], spec: RunQuery) -> list[RunRow]:
    """The runs of the experiments that pass ``spec``, by their latest
    ``spec.order_by_metric`` (NaN last), then, without a limit, those that never logged it
    (newest first). Those with the metric are one range of the (experiment, name, value)
    index, each joined to its run by the run's key."""
    name = spec.order_by_metric
    latest = MetricLatestRow
    having = (
        select(RunRow, latest.value.label("metric_value"))
        .join(latest, latest.run_id == RunRow.run_id)
        .where(_in(latest.experiment_id, experiment_ids), latest.name == name)
    )
    runs, scoped = _materialized(session, having)
    value = scoped.c.metric_value
    order = value.desc() if spec.descending else value.asc()
    query = _filtered(select(runs), spec, runs)
    query = query.order_by(order.nulls_last(), runs.created_ms.desc())
    found = list(session.scalars(query.limit(spec.limit)))
    if spec.limit is not None:
        # a top-N keeps runs that logged the metric, NaN ones (a NULL value) included,
        # sorted last; runs that never logged it are left out
        return found
    every, _ = _materialized(
        session, select(RunRow).where(_in(RunRow.experiment_id, experiment_ids))
    )
    # an uncorrelated NOT IN (one hashed read of the range), not a NOT EXISTS per run
    logged = select(latest.run_id).where(_in(latest.experiment_id, experiment_ids))
    logged = logged.where(latest.name == name)
    rest = _filtered(select(every).where(every.run_id.not_in(logged)), spec, every)
    return found + list(session.scalars(rest.order_by(every.created_ms.desc())))


def _check_order_metric(session: Session, experiment_ids: list[str], name: str) -> None:
    """Ordering by a metric no run of the scope logged is a mistake (a misspelt name, or a
    direction word that is not ``asc``/``desc``): say so, with the names there are."""
    logged_here = select(MetricLatestRow.name).where(
        _in(MetricLatestRow.experiment_id, experiment_ids)
    )
    if session.execute(logged_here.where(MetricLatestRow.name == name).limit(1)).first():
        return
    runs_here = select(RunRow.run_id).where(_in(RunRow.experiment_id, experiment_ids))
    if session.execute(runs_here.limit(1)).first() is None:
        return  # no run at all: nothing to order, nothing misspelt
    logged = sorted(session.scalars(logged_here.distinct().limit(50)))
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
