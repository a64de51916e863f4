"""The run status machine (DESIGN.md section 5) and what a run's supervisor asks of it:
transitions, cancelling a run with its children, heartbeats, and a queued run's place in
its compute target's queue.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from atelier.core.errors import InvalidStateError, ValidationError
from atelier.core.records import RunRecord
from atelier.core.status import TERMINAL_STATUSES, RunStatus
from atelier.core.timeutil import now_ms
from atelier.services.run_queries import descendants
from atelier.services.run_records import get, get_rows
from atelier.store.models import ExperimentRow, RunRow

__all__ = ["ACTIVE_STATUSES", "TRANSITIONS", "cancel", "heartbeat", "queue_state", "transition"]

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
