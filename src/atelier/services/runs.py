"""Runs: creation, the status state machine, tags, properties and queries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Select, and_, bindparam, delete, exists, literal, select, union_all, update
from sqlalchemy.orm import Session

from atelier.core.errors import (
    AlreadyExistsError,
    ConflictError,
    InvalidStateError,
    NotFoundError,
    ValidationError,
)
from atelier.core.ids import new_run_id
from atelier.core.names import check_key, check_metric_name, check_run_id, check_text_value
from atelier.core.records import RunQuery, RunRecord
from atelier.core.status import TERMINAL_STATUSES, RunStatus
from atelier.core.timeutil import now_ms
from atelier.services import experiments, workspaces
from atelier.services._convert import run_record
from atelier.store.models import (
    ExperimentRow,
    MetricLatestRow,
    RunPropertyRow,
    RunRow,
    RunTagRow,
    WorkspaceRow,
)

S = RunStatus
#: DESIGN.md section 5: which status may follow which. Terminal statuses have no successor.
TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    S.NOT_STARTED: frozenset(
        {S.QUEUED, S.PREPARING, S.RUNNING, S.CANCEL_REQUESTED, S.CANCELED, S.FAILED}
    ),
    S.QUEUED: frozenset({S.PREPARING, S.RUNNING, S.CANCEL_REQUESTED, S.CANCELED, S.FAILED}),
    S.PREPARING: frozenset({S.RUNNING, S.CANCEL_REQUESTED, S.CANCELED, S.FAILED}),
    S.RUNNING: frozenset({S.FINALIZING, S.COMPLETED, S.FAILED, S.CANCEL_REQUESTED, S.CANCELED}),
    S.FINALIZING: frozenset({S.COMPLETED, S.FAILED, S.CANCELED}),
    S.CANCEL_REQUESTED: frozenset({S.FINALIZING, S.CANCELED, S.FAILED, S.COMPLETED}),
    S.COMPLETED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELED: frozenset(),
}
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


def _records(
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
                latest[run_id][name] = value
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


def create(
    session: Session,
    workspace: str,
    experiment: str,
    *,
    parent_run_id: str | None = None,
    display_name: str = "",
    run_type: str = "interactive",
    target: str = "local",
    status: RunStatus = RunStatus.RUNNING,
    tags: dict[str, Any] | None = None,
    properties: dict[str, Any] | None = None,
    run_id: str | None = None,
    definition: dict[str, Any] | None = None,
    snapshot_id: str | None = None,
) -> RunRecord:
    """Create a run (and its experiment if needed) in the given initial status."""
    experiments.get_or_create(session, workspace, experiment)
    exp = experiments.get_row(session, workspace, experiment)
    experiments.require_active(exp)
    if parent_run_id is not None:
        parent, _ = get_rows(session, workspace, parent_run_id)
        if parent.experiment_id != exp.id:
            raise ValidationError("a child run must belong to its parent's experiment")
    if run_id is None:
        run_id = new_run_id(exp.name)
    else:
        check_run_id(run_id)
        if session.get(RunRow, run_id) is not None:
            raise AlreadyExistsError(f"run id {run_id!r} is taken; choose another or omit it")
    number = session.execute(
        update(ExperimentRow)
        .where(ExperimentRow.id == exp.id)
        .values(run_count=ExperimentRow.run_count + 1)
        .returning(ExperimentRow.run_count)
    ).scalar_one()
    created = now_ms()
    row = RunRow(
        run_id=run_id,
        experiment_id=exp.id,
        number=number,
        parent_run_id=parent_run_id,
        display_name=display_name or run_id,
        run_type=run_type,
        target=target,
        status=status.value,
        created_ms=created,
        started_ms=created if status == RunStatus.RUNNING else None,
        definition=definition,
        snapshot_id=snapshot_id,
    )
    session.add(row)
    session.flush()
    clean_tags = _clean("tag", tags)
    clean_props = _clean("property", properties)
    session.add_all(RunTagRow(run_id=run_id, key=k, value=v) for k, v in clean_tags.items())
    session.add_all(RunPropertyRow(run_id=run_id, key=k, value=v) for k, v in clean_props.items())
    session.flush()
    return run_record(row, exp.name, workspace, clean_tags, clean_props)


def _clean(kind: str, values: dict[str, Any] | None) -> dict[str, str]:
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ValidationError(f"{kind}s must be a dict of names to values, not {type(values)}")
    return {check_key(kind, k): check_text_value(kind, k, v) for k, v in values.items()}


def get(
    session: Session, workspace: str, run_id: str, with_latest_metrics: bool = False
) -> RunRecord:
    if with_latest_metrics:
        run, exp = get_rows(session, workspace, run_id)
        return _records(session, [(run, exp.name)], workspace, with_latest_metrics)[0]
    connection = session.connection()
    found = connection.execute(_ONE_RUN, {"run_id": run_id, "workspace": workspace}).first()
    if found is None:
        raise _run_not_found(session, workspace, run_id)
    tags: dict[str, str] = {}
    props: dict[str, str] = {}
    for is_tag, key, value in connection.execute(_ONE_RUN_KEY_VALUES, {"run_id": run_id}):
        (tags if is_tag else props)[key] = value
    return run_record(found, found.experiment_name, workspace, tags, props)


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
        latest = MetricLatestRow.__table__.alias("order_metric")
        query = query.outerjoin(
            latest,
            and_(latest.c.run_id == RunRow.run_id, latest.c.name == spec.order_by_metric),
        )
        if spec.limit is not None:
            query = query.where(latest.c.value.is_not(None))
        order = latest.c.value.desc() if spec.descending else latest.c.value.asc()
        query = query.order_by(order.nulls_last(), RunRow.created_ms.desc())
    else:
        query = query.order_by(RunRow.created_ms.desc(), RunRow.number.desc())
    if spec.limit is not None:
        query = query.limit(spec.limit)
    rows = [(row, row.experiment_name) for row in session.execute(query)]
    return _records(session, rows, workspace, spec.with_latest_metrics, experiment_id)


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
    return _records(session, found, workspace)


def transition(
    session: Session,
    workspace: str,
    run_id: str,
    status: RunStatus,
    error: dict[str, Any] | None = None,
    exit_code: int | None = None,
) -> RunRecord:
    """Move the run to ``status``; repeating the current status is a no-op."""
    try:
        target = RunStatus(status)
    except ValueError as exc:
        raise ValidationError(
            f"{status!r} is not a run status; use one of {', '.join(s.value for s in RunStatus)}"
        ) from exc
    run, _ = get_rows(session, workspace, run_id)
    current = RunStatus(run.status)
    if target == current:
        return get(session, workspace, run_id)
    if target not in TRANSITIONS[current]:
        raise InvalidStateError(
            f"run {run_id!r} is {current.value} and cannot become {target.value}"
            + ("; it has already ended" if current in TERMINAL_STATUSES else "")
        )
    stamp = now_ms()
    run.status = target.value
    if target == RunStatus.RUNNING and run.started_ms is None:
        run.started_ms = stamp
    if target in TERMINAL_STATUSES:
        run.ended_ms = stamp
    if error is not None:
        run.error = error
    if exit_code is not None:
        run.exit_code = exit_code
    session.flush()
    return get(session, workspace, run_id)


def cancel(session: Session, workspace: str, run_id: str) -> RunRecord:
    """Cancel the run and its unfinished children.

    An interactive run (or one that never started) ends at once; a run driven by a
    supervisor is asked to stop (``CancelRequested``) and its supervisor ends it.
    """
    run, _ = get_rows(session, workspace, run_id)
    current = RunStatus(run.status)
    if current in TERMINAL_STATUSES:
        raise InvalidStateError(f"run {run_id!r} is {current.value}; there is nothing to cancel")
    for child in descendants(session, workspace, run_id, recursive=True):
        if child.status not in TERMINAL_STATUSES:
            cancel(session, workspace, child.run_id)
    immediate = run.run_type == "interactive" or current in (S.NOT_STARTED, S.QUEUED)
    return transition(session, workspace, run_id, S.CANCELED if immediate else S.CANCEL_REQUESTED)


def set_tags(session: Session, workspace: str, run_id: str, tags: dict[str, Any]) -> None:
    get_rows(session, workspace, run_id)
    for key, value in _clean("tag", tags).items():
        existing = session.get(RunTagRow, (run_id, key))
        if existing is None:
            session.add(RunTagRow(run_id=run_id, key=key, value=value))
        else:
            existing.value = value
    session.flush()


def remove_tags(session: Session, workspace: str, run_id: str, keys: list[str]) -> None:
    get_rows(session, workspace, run_id)
    session.execute(
        delete(RunTagRow).where(RunTagRow.run_id == run_id, RunTagRow.key.in_(list(keys)))
    )


def add_properties(
    session: Session, workspace: str, run_id: str, properties: dict[str, Any]
) -> None:
    """Add properties; a property is immutable, so a different value for a key raises."""
    get_rows(session, workspace, run_id)
    for key, value in _clean("property", properties).items():
        existing = session.get(RunPropertyRow, (run_id, key))
        if existing is None:
            session.add(RunPropertyRow(run_id=run_id, key=key, value=value))
        elif existing.value != value:
            raise ConflictError(
                f"property {key!r} of run {run_id!r} is already {existing.value!r}; properties "
                "are immutable, record a changing value with run.tag() instead"
            )
    session.flush()


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


ACTIVE_STATUSES = (S.PREPARING, S.RUNNING, S.FINALIZING, S.CANCEL_REQUESTED)


def heartbeat(
    session: Session, workspace: str, run_id: str, supervisor: dict[str, Any] | None = None
) -> RunStatus:
    """Record that the run's supervisor is alive; return the run's current status."""
    run, _ = get_rows(session, workspace, run_id)
    run.heartbeat_ms = now_ms()
    if supervisor is not None:
        run.supervisor = supervisor
    session.flush()
    return RunStatus(run.status)


def queue_state(session: Session, workspace: str, run_id: str) -> tuple[int, int]:
    """For a queued run: (queued runs ahead of it, active runs) on the same compute target."""
    run, exp = get_rows(session, workspace, run_id)
    on_target = (
        select(RunRow.run_id)
        .join(ExperimentRow, ExperimentRow.id == RunRow.experiment_id)
        .where(ExperimentRow.workspace_id == exp.workspace_id, RunRow.target == run.target)
    )
    ahead = len(
        session.scalars(
            on_target.where(
                RunRow.status == S.QUEUED.value,
                (RunRow.created_ms < run.created_ms)
                | ((RunRow.created_ms == run.created_ms) & (RunRow.run_id < run.run_id)),
            )
        ).all()
    )
    active = len(
        session.scalars(
            on_target.where(RunRow.status.in_([s.value for s in ACTIVE_STATUSES]))
        ).all()
    )
    return ahead, active


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
    return _records(session, found, workspace)
