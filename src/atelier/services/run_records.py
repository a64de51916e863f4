"""Reading runs: one run by workspace and id (the server's hottest route, two cached
queries), records for many runs with their tags, properties and latest metrics in a few
set-wise queries, and the checks other services make before touching a run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import bindparam, literal, select, union_all
from sqlalchemy.orm import Session

from atelier.core.errors import InvalidStateError, NotFoundError
from atelier.core.records import RunRecord
from atelier.core.status import TERMINAL_STATUSES
from atelier.services import workspaces
from atelier.services._convert import run_record
from atelier.store.models import (
    ExperimentRow,
    MetricLatestRow,
    RunPropertyRow,
    RunRow,
    RunTagRow,
    WorkspaceRow,
)

__all__ = [
    "get",
    "get_rows",
    "records",
    "require_in_workspace",
    "require_writable",
    "workspace_of",
]

_IN_CHUNK = 500

# One run by workspace name and id, and its tags and properties: statements built once, so
# a read costs two cached Core queries (GET of a run is the server's hottest route).
_RUNS, _EXPERIMENTS, _WORKSPACES = RunRow.__table__, ExperimentRow.__table__, WorkspaceRow.__table__
_ONE_RUN = (
    select(_RUNS, _EXPERIMENTS.c.name.label("experiment_name"))
    .join(_EXPERIMENTS, _EXPERIMENTS.c.id == _RUNS.c.experiment_id)
    .join(_WORKSPACES, _WORKSPACES.c.id == _EXPERIMENTS.c.workspace_id)
    .where(_RUNS.c.run_id == bindparam("run_id"), _WORKSPACES.c.name == bindparam("workspace"))
)
#: the run's and its experiment's ORM rows (for changes), by workspace name: one query
_RUN_ROWS = (
    select(RunRow, ExperimentRow)
    .join(ExperimentRow, ExperimentRow.id == RunRow.experiment_id)
    .join(WorkspaceRow, WorkspaceRow.id == ExperimentRow.workspace_id)
    .where(RunRow.run_id == bindparam("run_id"), WorkspaceRow.name == bindparam("workspace"))
)
_ONE_RUN_KEY_VALUES = union_all(
    select(literal(True).label("is_tag"), RunTagRow.__table__.c.key, RunTagRow.__table__.c.value)
    .where(RunTagRow.__table__.c.run_id == bindparam("run_id")),
    select(literal(False), RunPropertyRow.__table__.c.key, RunPropertyRow.__table__.c.value)
    .where(RunPropertyRow.__table__.c.run_id == bindparam("run_id")),
)  # fmt: skip


def get_rows(session: Session, workspace: str, run_id: str) -> tuple[RunRow, ExperimentRow]:
    """The run and its experiment, checking that the run belongs to ``workspace``."""
    found = session.execute(_RUN_ROWS, {"run_id": run_id, "workspace": workspace}).first()
    if found is None:
        raise _run_not_found(session, workspace, run_id)
    return found[0], found[1]


def _run_not_found(session: Session, workspace: str, run_id: str) -> NotFoundError:
    """The error for a run that a lookup missed: the workspace's own if it is the workspace
    that does not exist (raised here), else the run's."""
    workspaces.id_of(session, workspace)
    return NotFoundError(
        f"run {run_id!r} not found in workspace {workspace!r}; "
        f"list runs with 'atelier run list -w {workspace}'"
    )


def require_writable(session: Session, workspace: str, run_id: str) -> RunRow:
    """The run, if it still accepts metrics and files; ``InvalidStateError`` if it ended."""
    run, _ = get_rows(session, workspace, run_id)
    if run.status in TERMINAL_STATUSES:
        raise InvalidStateError(
            f"run {run_id!r} is {run.status}; it no longer accepts metrics or files. "
            "Start a new run with experiment.start_logging()"
        )
    return run


def records(
    session: Session,
    rows: Sequence[tuple[Any, str]],
    workspace: str,
    with_latest_metrics: bool = False,
    experiment_id: str | None = None,
) -> list[RunRecord]:
    """Records for (run row, experiment name) pairs, with tags, properties and, when asked,
    latest metrics loaded in a few set-wise queries (by experiment when there are many)."""
    ids = [run.run_id for run, _ in rows]
    tags = _key_values(session, RunTagRow, ids, experiment_id)
    props = _key_values(session, RunPropertyRow, ids, experiment_id)
    latest: dict[str, dict[str, float]] | None = None
    if with_latest_metrics:
        latest = {run_id: {} for run_id in ids}
        columns = (MetricLatestRow.run_id, MetricLatestRow.name, MetricLatestRow.value)
        for run_id, name, value in _by_runs(session, columns, MetricLatestRow, ids, experiment_id):
            if run_id in latest:
                latest[run_id][name] = math.nan if value is None else value
    return [
        run_record(
            run,
            exp,
            workspace,
            tags.get(run.run_id, {}),
            props.get(run.run_id, {}),
            latest.get(run.run_id) if latest is not None else None,
        )
        for run, exp in rows
    ]


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(ids), _IN_CHUNK):
        yield ids[start : start + _IN_CHUNK]


def _by_runs(
    session: Session,
    columns: tuple[Any, ...],
    model: Any,
    ids: list[str],
    experiment_id: str | None,
) -> Iterable[Any]:
    """Rows of ``model`` for the runs ``ids``: by id in chunks, or (for many runs of one
    experiment) in one query joined on the experiment, filtered by the caller."""
    if experiment_id is not None and len(ids) > _IN_CHUNK:
        yield from session.execute(
            select(*columns)
            .join(RunRow, RunRow.run_id == model.run_id)
            .where(RunRow.experiment_id == experiment_id)
        )
        return
    for chunk in _chunks(ids):
        yield from session.execute(select(*columns).where(model.run_id.in_(chunk)))


def _key_values(
    session: Session,
    model: type[RunTagRow] | type[RunPropertyRow],
    ids: list[str],
    experiment_id: str | None = None,
) -> dict[str, dict[str, str]]:
    wanted = set(ids)
    found: dict[str, dict[str, str]] = {}
    columns = (model.run_id, model.key, model.value)
    for run_id, key, value in _by_runs(session, columns, model, ids, experiment_id):
        if run_id in wanted:
            found.setdefault(run_id, {})[key] = value
    return found


def get(
    session: Session, workspace: str, run_id: str, with_latest_metrics: bool = False
) -> RunRecord:
    if with_latest_metrics:
        run, exp = get_rows(session, workspace, run_id)
        return records(session, [(run, exp.name)], workspace, with_latest_metrics)[0]
    connection = session.connection()
    found = connection.execute(_ONE_RUN, {"run_id": run_id, "workspace": workspace}).first()
    if found is None:
        raise _run_not_found(session, workspace, run_id)
    tags: dict[str, str] = {}
    props: dict[str, str] = {}
    for is_tag, key, value in connection.execute(_ONE_RUN_KEY_VALUES, {"run_id": run_id}):
        (tags if is_tag else props)[key] = value
    return run_record(found, found.experiment_name, workspace, tags, props)


def workspace_of(session: Session, run_id: str) -> str:
    """The name of the workspace holding ``run_id`` (for ``Run.get_context``)."""
    name = session.scalar(
        select(WorkspaceRow.name)
        .join(ExperimentRow, ExperimentRow.workspace_id == WorkspaceRow.id)
        .join(RunRow, RunRow.experiment_id == ExperimentRow.id)
        .where(RunRow.run_id == run_id)
    )
    if name is None:
        raise absent_run(run_id)
    return name


def absent_run(run_id: str) -> NotFoundError:
    """The error for a run id that names no run the caller may see (absent, or in a
    workspace the caller cannot read: the two answers are the same)."""
    return NotFoundError(f"run {run_id!r} not found")


def require_in_workspace(session: Session, workspace: str, run_ids: list[str]) -> None:
    """Raise ``NotFoundError`` unless every run id belongs to ``workspace``."""
    ws = workspaces.get_row(session, workspace)
    wanted = set(run_ids)
    found: set[str] = set()
    for chunk in _chunks(sorted(wanted)):
        found.update(
            session.scalars(
                select(RunRow.run_id)
                .join(ExperimentRow, ExperimentRow.id == RunRow.experiment_id)
                .where(ExperimentRow.workspace_id == ws.id, RunRow.run_id.in_(chunk))
            )
        )
    missing = sorted(wanted - found)
    if missing:
        raise NotFoundError(f"run {missing[0]!r} not found in workspace {workspace!r}")
