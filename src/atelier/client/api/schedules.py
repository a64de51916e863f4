"""Pipeline schedules: ``ScheduleAPI`` for users (SDK, CLI), ``SchedulingAPI`` for the
scheduler that fires them (in-process only: a scheduler runs beside its database)."""

from __future__ import annotations

import builtins
from typing import Any, Protocol

from atelier.core.schedules import FiringRecord, ScheduleRecord


class ScheduleAPI(Protocol):
    """Create, read and change schedules. See ``services/schedules.py`` for the rules."""

    def create(self, workspace: str, spec: dict[str, Any]) -> ScheduleRecord: ...
    def get(self, workspace: str, schedule: str) -> ScheduleRecord: ...
    def list(
        self, workspace: str, *, active_only: bool = True, target_id: str | None = None
    ) -> builtins.list[ScheduleRecord]: ...
    def update(self, workspace: str, schedule: str, changes: dict[str, Any]) -> ScheduleRecord: ...
    def firings(self, workspace: str, schedule: str) -> builtins.list[FiringRecord]: ...


class SchedulingAPI(Protocol):
    """What a scheduler does with the database: find due schedules, claim their slots
    (exactly once across schedulers), and record what each firing started."""

    def due(self, now_ms: int) -> builtins.list[ScheduleRecord]: ...
    def claim(self, schedule: ScheduleRecord, now_ms: int) -> FiringRecord | None: ...
    def record_outcome(
        self, firing: FiringRecord, run_id: str | None = None, error: str | None = None
    ) -> FiringRecord: ...
