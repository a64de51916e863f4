"""Schedules over a server: ``/workspaces/{workspace}/schedules``. The server's own
scheduler fires them; a client only creates, reads and changes them."""

from __future__ import annotations

import builtins
import json
from typing import Any

from atelier.client.api.schedules import ScheduleAPI
from atelier.client.http.base import Part, workspace_path
from atelier.client.http.transport import segment
from atelier.core.errors import ValidationError
from atelier.core.schedules import FiringRecord, ScheduleRecord


def _path(workspace: str, schedule: str | None = None) -> str:
    base = f"{workspace_path(workspace)}/schedules"
    if schedule is None:
        return base
    if not isinstance(schedule, str) or not schedule:
        raise ValidationError(f"give a schedule id or name, not {schedule!r}")
    return f"{base}/{segment(schedule)}"


def _body(values: dict[str, Any]) -> dict[str, Any]:
    try:
        json.dumps(values)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"schedule values must be JSON-serializable: {exc}") from exc
    return values


class HttpSchedules(Part):
    """``ScheduleAPI`` over a server."""

    def create(self, workspace: str, spec: dict[str, Any]) -> ScheduleRecord:
        return ScheduleRecord(**self.t.json("POST", _path(workspace), json=_body(spec)))

    def get(self, workspace: str, schedule: str) -> ScheduleRecord:
        return ScheduleRecord(**self.t.json("GET", _path(workspace, schedule)))

    def list(
        self, workspace: str, *, active_only: bool = True, target_id: str | None = None
    ) -> builtins.list[ScheduleRecord]:
        params: dict[str, Any] = {"active_only": active_only}
        if target_id is not None:
            params["target_id"] = target_id
        found = self.t.json("GET", _path(workspace), params=params)
        return [ScheduleRecord(**item) for item in found]

    def update(self, workspace: str, schedule: str, changes: dict[str, Any]) -> ScheduleRecord:
        return ScheduleRecord(
            **self.t.json("PATCH", _path(workspace, schedule), json=_body(changes))
        )

    def firings(self, workspace: str, schedule: str) -> builtins.list[FiringRecord]:
        found = self.t.json("GET", f"{_path(workspace, schedule)}/firings")
        return [FiringRecord(**item) for item in found]


def _conforms(found: HttpSchedules) -> ScheduleAPI:
    """mypy checks here that the class satisfies its protocol."""
    return found
