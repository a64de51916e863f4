"""Claiming a schedule's slots, exactly once however many schedulers share the database.

    due(session, now) -> list[ScheduleRecord]              # Active schedules whose slot came
    claim_recurrence(session, schedule_id, due_ms, now) -> FiringRecord | None
    claim_poll(session, schedule_id, due_ms, now, state) -> FiringRecord | None
    record_outcome(session, firing_id, run_id=None, error=None) -> FiringRecord
    watched_state(stores, workspace, datastore, path) -> {path: signature} | None
    changed_paths(before, after) -> [paths added or changed]

A claim is a compare-and-swap on the schedule's ``next_due_ms``: the one transaction whose
``UPDATE ... WHERE next_due_ms = <the due time it saw>`` changes the row wins; any other
scheduler that saw the same due time changes nothing and fires nothing (PostgreSQL re-checks
the condition after the winner commits; SQLite runs one writer at a time). The winner moves
``next_due_ms`` to the first slot after *now*, so the slots missed while no scheduler ran
fire once, not once each. The firing row's unique (schedule, slot) is the second lock.

A claimed slot is fired at most once: if the process dies between the claim and the
submission, the firing stays without a run and the slot is not retried.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from atelier.core.errors import NotFoundError
from atelier.core.ids import new_id
from atelier.core.schedules import ACTIVE, FiringRecord, ScheduleRecord
from atelier.services.datastore_rules import DatastoreAccess
from atelier.services.schedule_times import next_due_ms
from atelier.services.schedules import firing_record, record
from atelier.storage.datastores import DatastoreFiles
from atelier.store.models import ScheduleFiringRow, ScheduleRow, WorkspaceRow

#: most schedules one pass claims; the rest wait for the next pass
DUE_BATCH = 100
_MINUTE_MS = 60_000
#: most files a watched path may hold (the state is kept in the schedule's row)
WATCH_MAX_FILES = 10_000


def due(session: Session, now: int) -> list[ScheduleRecord]:
    """Active schedules whose next slot is at or before ``now``, earliest first."""
    rows = session.execute(
        select(ScheduleRow, WorkspaceRow.name)
        .join(WorkspaceRow, WorkspaceRow.id == ScheduleRow.workspace_id)
        .where(ScheduleRow.status == ACTIVE, ScheduleRow.next_due_ms <= now)
        .order_by(ScheduleRow.next_due_ms)
        .limit(DUE_BATCH)
    )
    return [record(row, workspace) for row, workspace in rows]


def _swap(session: Session, schedule_id: str, due_ms: int, **values: object) -> bool:
    result = session.execute(
        update(ScheduleRow)
        .where(
            ScheduleRow.id == schedule_id,
            ScheduleRow.status == ACTIVE,
            ScheduleRow.next_due_ms == due_ms,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def _fire(
    session: Session, row: ScheduleRow, due_ms: int, now: int, reason: str, paths: list[str]
) -> FiringRecord | None:
    firing = ScheduleFiringRow(
        id=new_id(),
        schedule_id=row.id,
        slot_ms=due_ms,
        reason=reason,
        fired_ms=now,
        changed_paths={"paths": paths},
    )
    try:
        with session.begin_nested():
            session.add(firing)
    except IntegrityError:  # this slot fired before (a schedule re-enabled onto it)
        return None
    workspace = session.scalar(select(WorkspaceRow.name).where(WorkspaceRow.id == row.workspace_id))
    return firing_record(firing, workspace or "")


def claim_recurrence(
    session: Session, schedule_id: str, due_ms: int, now: int
) -> FiringRecord | None:
    """The firing of the slot due at ``due_ms`` if this caller won it, else None."""
    row = session.get(ScheduleRow, schedule_id)
    if row is None or row.recurrence is None:
        return None
    anchor = row.anchor_ms if row.anchor_ms is not None else row.created_ms
    following = next_due_ms(row.recurrence, anchor, max(now, due_ms))
    if not _swap(session, schedule_id, due_ms, next_due_ms=following):
        return None
    return _fire(session, row, due_ms, now, "recurrence", [])


def claim_poll(
    session: Session, schedule_id: str, due_ms: int, now: int, state: dict[str, str]
) -> FiringRecord | None:
    """Record what the watched path holds (``state``) for the poll due at ``due_ms``; the
    firing when this caller won the poll and files were added or changed since the last
    one, else None. The first poll of a schedule made without a state only records it."""
    row = session.get(ScheduleRow, schedule_id)
    if row is None or row.datastore_name is None:
        return None
    before = dict(row.data_state) if row.data_state is not None else None
    following = now + row.polling_interval * _MINUTE_MS
    if not _swap(session, schedule_id, due_ms, next_due_ms=following, data_state=state):
        return None
    if before is None:
        return None
    paths = changed_paths(before, state)
    if not paths:
        return None
    return _fire(session, row, due_ms, now, "data", paths)


def last_state(session: Session, schedule_id: str) -> dict[str, str]:
    """What the last poll saw (an empty dict before the first)."""
    row = session.get(ScheduleRow, schedule_id)
    return dict(row.data_state or {}) if row is not None else {}


def record_outcome(
    session: Session, firing_id: str, run_id: str | None = None, error: str | None = None
) -> FiringRecord:
    """Note the run a firing started, or why it started none."""
    firing = session.get(ScheduleFiringRow, firing_id)
    if firing is None:
        raise NotFoundError(f"schedule firing {firing_id!r} not found")
    firing.run_id = run_id
    firing.error = error[:4000] if error else None
    session.flush()
    schedule = session.get(ScheduleRow, firing.schedule_id)
    workspace = None
    if schedule is not None:
        workspace = session.scalar(
            select(WorkspaceRow.name).where(WorkspaceRow.id == schedule.workspace_id)
        )
    return firing_record(firing, workspace or "")


def watched_state(
    stores: DatastoreAccess, workspace: str, datastore: object, path: object
) -> dict[str, str] | None:
    """What a schedule's watched path holds now (None when it watches no datastore)."""
    if not isinstance(datastore, str) or not datastore:
        return None
    files = stores.files(workspace, datastore)
    return watch_state(files, path if isinstance(path, str) else None)


def watch_state(files: DatastoreFiles, path: str | None) -> dict[str, str]:
    """What the watched path holds now: each file's size and modification time."""
    found = files.list_files(path or "**")
    return {item.path: f"{item.size}:{item.mtime_ms}" for item in found[:WATCH_MAX_FILES]}


def changed_paths(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Files that appeared or changed (a deleted file starts no run, as in azureml)."""
    return sorted(path for path, signature in after.items() if before.get(path) != signature)
