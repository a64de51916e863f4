"""The embedded backend's schedules: user-facing ``ScheduleAPI`` and the scheduler's
``SchedulingAPI``, one transaction through the services per call. A data-trigger
schedule's watched path is listed here, outside any transaction."""

from __future__ import annotations

import builtins
from typing import Any

from atelier.client.api.schedules import ScheduleAPI, SchedulingAPI
from atelier.core.errors import AtelierError
from atelier.core.schedules import FiringRecord, ScheduleRecord
from atelier.core.timeutil import now_ms
from atelier.services import schedule_slots, schedules
from atelier.services.datastore_rules import DatastoreAccess
from atelier.store.database import Database


class EmbeddedSchedules:
    """``ScheduleAPI`` in this process."""

    def __init__(self, db: Database, stores: DatastoreAccess) -> None:
        self.db = db
        self.stores = stores

    def create(self, workspace: str, spec: dict[str, Any]) -> ScheduleRecord:
        state = schedule_slots.watched_state(
            self.stores, workspace, spec.get("datastore_name"), spec.get("path_on_datastore")
        )
        with self.db.session() as session:
            return schedules.create(session, workspace, spec, now=now_ms(), data_state=state)

    def get(self, workspace: str, schedule: str) -> ScheduleRecord:
        with self.db.session() as session:
            return schedules.get(session, workspace, schedule)

    def list(
        self, workspace: str, *, active_only: bool = True, target_id: str | None = None
    ) -> builtins.list[ScheduleRecord]:
        with self.db.session() as session:
            return schedules.list_all(
                session, workspace, active_only=active_only, target_id=target_id
            )

    def update(self, workspace: str, schedule: str, changes: dict[str, Any]) -> ScheduleRecord:
        state = None
        if changes.get("datastore_name") or changes.get("path_on_datastore"):
            current = self.get(workspace, schedule)
            state = schedule_slots.watched_state(
                self.stores,
                workspace,
                changes.get("datastore_name") or current.datastore_name,
                changes.get("path_on_datastore") or current.path_on_datastore,
            )
        with self.db.session() as session:
            return schedules.update(
                session, workspace, schedule, changes, now=now_ms(), data_state=state
            )

    def firings(self, workspace: str, schedule: str) -> builtins.list[FiringRecord]:
        with self.db.session() as session:
            return schedules.firings(session, workspace, schedule)


class EmbeddedScheduling:
    """``SchedulingAPI`` over this process's database."""

    def __init__(self, db: Database, stores: DatastoreAccess) -> None:
        self.db = db
        self.stores = stores

    def due(self, now_ms: int) -> builtins.list[ScheduleRecord]:
        with self.db.session() as session:
            return schedule_slots.due(session, now_ms)

    def claim(self, schedule: ScheduleRecord, now_ms: int) -> FiringRecord | None:
        if schedule.next_due_ms is None:
            return None
        due_ms = schedule.next_due_ms
        if schedule.recurrence is not None:
            with self.db.session() as session:
                return schedule_slots.claim_recurrence(session, schedule.id, due_ms, now_ms)
        try:
            state = schedule_slots.watched_state(
                self.stores,
                schedule.workspace_name,
                schedule.datastore_name,
                schedule.path_on_datastore,
            )
        except AtelierError:  # the datastore is away: this poll sees no change
            state = None
        with self.db.session() as session:
            if state is None:
                state = schedule_slots.last_state(session, schedule.id)
            return schedule_slots.claim_poll(session, schedule.id, due_ms, now_ms, state)

    def record_outcome(
        self, firing: FiringRecord, run_id: str | None = None, error: str | None = None
    ) -> FiringRecord:
        with self.db.session() as session:
            return schedule_slots.record_outcome(session, firing.id, run_id, error)


def _conforms(
    found: EmbeddedSchedules, scheduling: EmbeddedScheduling
) -> tuple[ScheduleAPI, SchedulingAPI]:
    """mypy checks here that the classes satisfy their protocols."""
    return found, scheduling
