"""The Studio's runs table: one experiment's runs filtered, sorted and paginated in SQL,
with the chosen metric, parameter and tag columns of the visible page only.

Parameters are run properties (as on the MLflow protocol). Filters come parsed from
:mod:`atelier.core.run_filter`; a column is ``(entity, key)`` with entity ``metrics``,
``params``, ``tags`` or ``attributes``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, select
from sqlalchemy.orm import Session

from atelier.core.errors import ValidationError
from atelier.core.run_filter import FilterClause
from atelier.services import experiments, run_records, workspaces
from atelier.store.models import (
    ExperimentRow,
    MetricDocumentRow,
    MetricLatestRow,
    RunPropertyRow,
    RunRow,
    RunTagRow,
    WorkspaceRow,
)

Column = tuple[str, str]

#: sortable attributes and the run column each orders by
SORTABLE_ATTRIBUTES = ("created", "status", "name", "number", "duration")
_ATTRIBUTE_COLUMNS: dict[str, Any] = {
    "status": RunRow.status,
    "name": RunRow.display_name,
    "run_id": RunRow.run_id,
    "target": RunRow.target,
    "run_type": RunRow.run_type,
    "created": RunRow.created_ms,
    "number": RunRow.number,
}
_KEYED: dict[str, Any] = {"metrics": MetricLatestRow, "params": RunPropertyRow, "tags": RunTagRow}
#: how many of the newest runs the column chooser looks at, and how many names it offers
_SAMPLE_RUNS = 50
MAX_OFFERED = 300
#: column names are looked up again after this long, or as soon as the run count changes
_NAMES_TTL_S = 10.0
_names_cache: dict[tuple[str, int], tuple[float, ColumnNames]] = {}


@dataclass(frozen=True, slots=True)
class TableRow:
    run_id: str
    number: int
    name: str
    status: str
    parent_run_id: str | None
    created_ms: int
    started_ms: int | None
    ended_ms: int | None
    values: dict[Column, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TablePage:
    total: int
    rows: list[TableRow]


@dataclass(frozen=True, slots=True)
class ColumnNames:
    """The metric, parameter and tag names of an experiment's newest runs."""

    metrics: list[str]
    params: list[str]
    tags: list[str]


def _compare(column: Any, op: str, value: float | str) -> ColumnElement[bool]:
    if op == "~":
        return column.contains(str(value), autoescape=True)  # type: ignore[no-any-return]
    comparisons = {
        "=": column.__eq__,
        "!=": column.__ne__,
        "<": column.__lt__,
        "<=": column.__le__,
        ">": column.__gt__,
        ">=": column.__ge__,
    }
    return comparisons[op](value)  # type: ignore[no-any-return]


def _condition(clause: FilterClause) -> ColumnElement[bool]:
    if clause.entity == "attributes":
        return _compare(_ATTRIBUTE_COLUMNS[clause.key], clause.op, clause.value)
    model = _KEYED[clause.entity]
    key_column = model.name if model is MetricLatestRow else model.key
    return exists().where(
        and_(
            model.run_id == RunRow.run_id,
            key_column == clause.key,
            _compare(model.value, clause.op, clause.value),
        )
    )


def _ordered(query: Select[Any], sort: Column, descending: bool) -> Select[Any]:
    entity, key = sort
    if entity == "attributes":
        if key == "duration":
            column: Any = func.coalesce(RunRow.ended_ms, RunRow.created_ms) - func.coalesce(
                RunRow.started_ms, RunRow.created_ms
            )
        elif key in _ATTRIBUTE_COLUMNS:
            column = _ATTRIBUTE_COLUMNS[key]
        else:
            raise ValidationError(f"cannot sort by {key!r}; sort by one of {SORTABLE_ATTRIBUTES}")
    else:
        model = _KEYED.get(entity)
        if model is None:
            raise ValidationError(f"cannot sort by {entity}.{key}: no such column kind")
        table = model.__table__.alias("sort_by")
        key_column = table.c.name if model is MetricLatestRow else table.c.key
        query = query.outerjoin(table, and_(table.c.run_id == RunRow.run_id, key_column == key))
        column = table.c.value
    order = column.desc() if descending else column.asc()
    if key == "created":  # the (experiment, created) index gives this order alone
        return query.order_by(order, RunRow.run_id.desc() if descending else RunRow.run_id)
    return query.order_by(order.nulls_last(), RunRow.number.desc())


def _by_metric(
    session: Session,
    experiment_id: str,
    condition: ColumnElement[bool],
    name: str,
    descending: bool,
    offset: int,
    limit: int,
) -> list[RunRow]:
    """A page of runs ordered by a metric, runs without it last (by number).

    The runs with the metric are read in the order of the (experiment, name, value) index, so a page
    costs its own rows, not a sort of the whole experiment; the runs without it are read
    only on the page where the others end."""
    latest = MetricLatestRow.__table__.alias("sort_by")
    value = latest.c.value.desc() if descending else latest.c.value.asc()
    order: list[Any] = [value]
    if session.get_bind().dialect.name != "sqlite":
        order.append(latest.c.run_id)  # SQLite's index already breaks ties by row
    having = (
        select(RunRow)
        .join(
            latest,
            and_(
                latest.c.run_id == RunRow.run_id,
                # the (experiment, name, value) index: its plan needs no statistics
                latest.c.experiment_id == experiment_id,
                latest.c.name == name,
            ),
        )
        .where(condition)
    )
    found = list(session.scalars(having.order_by(*order).offset(offset).limit(limit)))
    if len(found) == limit:
        return found
    if found:
        with_metric = offset + len(found)
    else:
        counted = select(func.count()).select_from(having.subquery())
        with_metric = session.scalar(counted) or 0
    lacking = exists().where(
        and_(MetricLatestRow.run_id == RunRow.run_id, MetricLatestRow.name == name)
    )
    rest = (
        select(RunRow)
        .where(condition, ~lacking)
        .order_by(RunRow.number.desc())
        .offset(max(0, offset - with_metric))
        .limit(limit - len(found))
    )
    return found + list(session.scalars(rest))


def _names(session: Session, experiment_id: str, model: Any) -> list[str]:
    newest = (
        select(RunRow.run_id)
        .where(RunRow.experiment_id == experiment_id)
        .order_by(RunRow.created_ms.desc())
        .limit(_SAMPLE_RUNS)
    )
    key_column = model.name if model is MetricLatestRow else model.key
    query = (
        select(key_column)
        .where(model.run_id.in_(newest))
        .distinct()
        .order_by(key_column)
        .limit(MAX_OFFERED)
    )
    return list(session.scalars(query))


def _fill(session: Session, rows: list[TableRow], columns: list[Column]) -> None:
    ids = [row.run_id for row in rows]
    by_id = {row.run_id: row for row in rows}
    for entity, model in _KEYED.items():
        keys = [key for kind, key in columns if kind == entity]
        if not ids or not keys:
            continue
        key_column = model.name if model is MetricLatestRow else model.key
        query = select(model.run_id, key_column, model.value).where(
            model.run_id.in_(ids), key_column.in_(keys)
        )
        for run_id, key, value in session.execute(query):
            by_id[run_id].values[(entity, key)] = value


def table_page(
    session: Session,
    workspace: str,
    experiment: str,
    *,
    clauses: list[FilterClause],
    sort: Column,
    descending: bool,
    offset: int,
    limit: int,
    columns: list[Column],
) -> TablePage:
    """One page of ``experiment``'s runs that pass every clause, in ``sort`` order, with
    the values of ``columns``, and how many runs pass."""
    experiment_id = experiments.get_row(session, workspace, experiment).id
    condition = and_(RunRow.experiment_id == experiment_id, *map(_condition, clauses))
    total = session.scalar(select(func.count()).select_from(RunRow).where(condition)) or 0
    if sort[0] == "metrics":
        found = _by_metric(session, experiment_id, condition, sort[1], descending, offset, limit)
    else:
        query = _ordered(select(RunRow).where(condition), sort, descending)
        found = list(session.scalars(query.offset(offset).limit(limit)))
    rows = [
        TableRow(
            run_id=run.run_id,
            number=run.number,
            name=run.display_name,
            status=run.status,
            parent_run_id=run.parent_run_id,
            created_ms=run.created_ms,
            started_ms=run.started_ms,
            ended_ms=run.ended_ms,
        )
        for run in found
    ]
    _fill(session, rows, columns)
    return TablePage(total=total, rows=rows)


def column_names(session: Session, workspace: str, experiment: str) -> ColumnNames:
    """The names to offer as columns: those of the newest runs, at most a few hundred of
    each kind (an experiment with 10,000 metric names keeps a usable chooser)."""
    row = experiments.get_row(session, workspace, experiment)
    key = (row.id, row.run_count)
    cached = _names_cache.get(key)
    if cached is not None and time.monotonic() - cached[0] < _NAMES_TTL_S:
        return cached[1]
    found = ColumnNames(
        metrics=_names(session, row.id, MetricLatestRow),
        params=_names(session, row.id, RunPropertyRow),
        tags=_names(session, row.id, RunTagRow),
    )
    if len(_names_cache) > 256:
        _names_cache.clear()
    _names_cache[key] = (time.monotonic(), found)
    return found


def workspace_run(session: Session, run_id: str) -> str | None:
    """The name of the workspace holding ``run_id`` (None if there is no such run), for
    links that name a run only (the MLflow client's "View run")."""
    query = (
        select(WorkspaceRow.name)
        .join(ExperimentRow, ExperimentRow.workspace_id == WorkspaceRow.id)
        .join(RunRow, RunRow.experiment_id == ExperimentRow.id)
        .where(RunRow.run_id == run_id)
    )
    return session.scalar(query)


def experiment_by_id(session: Session, experiment_id: str) -> tuple[str, str] | None:
    """(workspace, experiment name) of an experiment id, for MLflow's experiment links."""
    query = (
        select(WorkspaceRow.name, ExperimentRow.name)
        .join(ExperimentRow, ExperimentRow.workspace_id == WorkspaceRow.id)
        .where(ExperimentRow.id == experiment_id)
    )
    found = session.execute(query).first()
    return (found[0], found[1]) if found is not None else None


@dataclass(frozen=True, slots=True)
class ExperimentSummary:
    name: str
    archived: bool
    created_ms: int
    runs: int
    last_ms: int | None


def experiment_summaries(session: Session, workspace: str) -> list[ExperimentSummary]:
    """Every experiment of the workspace with its run count and its newest run's time."""
    ws = workspaces.get_row(session, workspace)
    activity = func.max(func.coalesce(RunRow.ended_ms, RunRow.started_ms, RunRow.created_ms))
    query = (
        select(ExperimentRow, func.count(RunRow.run_id), activity)
        .outerjoin(RunRow, RunRow.experiment_id == ExperimentRow.id)
        .where(ExperimentRow.workspace_id == ws.id)
        .group_by(ExperimentRow.id)
        .order_by(ExperimentRow.name)
    )
    return [
        ExperimentSummary(row.name, row.archived, row.created_ms, count, last)
        for row, count, last in session.execute(query)
    ]


@dataclass(frozen=True, slots=True)
class MetricSummary:
    """A scalar metric's latest value and extremes; None where only NaN was logged."""

    name: str
    value: float | None
    step: int
    count: int
    min_value: float | None
    max_value: float | None


def metric_summaries(
    session: Session, workspace: str, run_id: str, limit: int = 500
) -> tuple[list[MetricSummary], int]:
    """The run's scalar metrics (latest value, length, extremes) by name, at most
    ``limit`` of them, and how many it has."""
    run_records.get_rows(session, workspace, run_id)
    where = MetricLatestRow.run_id == run_id
    total = session.scalar(select(func.count()).select_from(MetricLatestRow).where(where)) or 0
    query = select(MetricLatestRow).where(where).order_by(MetricLatestRow.name).limit(limit)
    found = [
        MetricSummary(m.name, m.value, m.step, m.count, m.min_value, m.max_value)
        for m in session.scalars(query)
    ]
    return found, total


@dataclass(frozen=True, slots=True)
class GroupRow:
    """Runs sharing one value of the grouping column (None: runs without it), with each
    metric's mean, minimum and maximum over them."""

    value: str | None
    runs: int
    metrics: dict[str, tuple[float | None, float | None, float | None]]


MAX_GROUPS = 200


def group_rows(
    session: Session,
    workspace: str,
    experiment: str,
    *,
    clauses: list[FilterClause],
    group: Column,
    metric_names: list[str],
) -> list[GroupRow]:
    """The filtered runs grouped by a parameter or tag, largest groups first."""
    entity, key = group
    if entity not in ("params", "tags"):
        raise ValidationError(
            f"group by a parameter or a tag (params.NAME, tags.NAME), not {entity}"
        )
    experiment_id = experiments.get_row(session, workspace, experiment).id
    condition = and_(RunRow.experiment_id == experiment_id, *map(_condition, clauses))
    grouping = _KEYED[entity].__table__.alias("grouping")
    columns: list[Any] = [grouping.c.value, func.count(RunRow.run_id)]
    query = select(RunRow.run_id).where(condition)
    query = query.outerjoin(
        grouping, and_(grouping.c.run_id == RunRow.run_id, grouping.c.key == key)
    )
    for index, name in enumerate(metric_names[:20]):
        table = MetricLatestRow.__table__.alias(f"m{index}")
        query = query.outerjoin(table, and_(table.c.run_id == RunRow.run_id, table.c.name == name))
        columns += [func.avg(table.c.value), func.min(table.c.value), func.max(table.c.value)]
    query = (
        query.with_only_columns(*columns)
        .group_by(grouping.c.value)
        .order_by(func.count(RunRow.run_id).desc(), grouping.c.value)
        .limit(MAX_GROUPS)
    )
    found = []
    for row in session.execute(query):
        values: list[Any] = list(row)
        aggregates = {
            name: (values[2 + 3 * i], values[3 + 3 * i], values[4 + 3 * i])
            for i, name in enumerate(metric_names[:20])
        }
        found.append(GroupRow(value=values[0], runs=values[1], metrics=aggregates))
    return found


@dataclass(frozen=True, slots=True)
class RunDocument:
    """A run's image (``paths``: its files) or table (``columns``: name -> cells)."""

    name: str
    kind: str
    paths: list[str] = field(default_factory=list)
    columns: dict[str, list[Any]] = field(default_factory=dict)


def run_documents(
    session: Session, workspace: str, run_id: str, limit: int = 2000
) -> list[RunDocument]:
    """The run's images and tables (rows, lists and tables logged), by name."""
    run_records.get_rows(session, workspace, run_id)
    query = (
        select(MetricDocumentRow.name, MetricDocumentRow.kind, MetricDocumentRow.payload)
        .where(MetricDocumentRow.run_id == run_id)
        .order_by(MetricDocumentRow.id)
        .limit(limit)
    )
    found: dict[str, RunDocument] = {}
    for name, kind, payload in session.execute(query):
        value = payload.get("value")
        document = found.setdefault(name, RunDocument(name, kind))
        if kind == "image":
            document.paths.append(str(value))
        elif kind == "row" and isinstance(value, dict):
            rows = len(next(iter(document.columns.values()), []))
            for column, cell in value.items():
                document.columns.setdefault(column, [None] * rows).append(cell)
            for cells in document.columns.values():
                cells.extend([None] * (rows + 1 - len(cells)))
        elif kind == "table" and isinstance(value, dict):
            document.columns.clear()
            document.columns.update(value)
        elif kind == "list":
            document.columns.clear()
            document.columns["value"] = list(value or [])
    return sorted(found.values(), key=lambda d: d.name)
