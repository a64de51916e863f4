"""Runs whose supervisor is lost, across every workspace: found and Failed by the server's
reaper (``atelier.server.reaper``) without any client polling.

A supervisor is lost when its process died on this host, or it has been silent for longer
than ``ATELIER_HEARTBEAT_TIMEOUT`` (see :func:`atelier.core.processes.lost_reason`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from atelier.core.errors import InvalidStateError
from atelier.core.processes import MISSED_BEATS_MS, lost_reason
from atelier.core.status import TERMINAL_STATUSES, RunStatus
from atelier.core.timeutil import now_ms
from atelier.services import runs
from atelier.store.models import ExperimentRow, RunRow, WorkspaceRow

LOST_CODE = "SupervisorLost"
_UNFINISHED = [status.value for status in RunStatus if status not in TERMINAL_STATUSES]


@dataclass(frozen=True, slots=True)
class LostRun:
    workspace: str
    run_id: str
    #: what its supervisor last reported (host, pids), to stop what it left behind
    supervisor: dict[str, Any]
    reason: str


def lost_runs(session: Session, timeout_seconds: float) -> list[LostRun]:
    """Unfinished supervised runs, in any workspace, whose supervisor is lost."""
    now = now_ms()
    found = session.execute(
        select(RunRow.run_id, RunRow.supervisor, RunRow.heartbeat_ms, WorkspaceRow.name)
        .join(ExperimentRow, ExperimentRow.id == RunRow.experiment_id)
        .join(WorkspaceRow, WorkspaceRow.id == ExperimentRow.workspace_id)
        .where(RunRow.status.in_(_UNFINISHED), RunRow.heartbeat_ms < now - MISSED_BEATS_MS)
    ).all()
    lost = []
    for run_id, supervisor, heartbeat_ms, workspace in found:
        if not supervisor:
            continue
        reason = lost_reason(supervisor, heartbeat_ms, now, timeout_seconds)
        if reason is not None:
            lost.append(LostRun(workspace, run_id, dict(supervisor), reason))
    return lost


def fail_lost(session: Session, lost: LostRun) -> bool:
    """Mark the run Failed with a ``SupervisorLost`` error; False if it ended meanwhile."""
    try:
        record = runs.transition(
            session,
            lost.workspace,
            lost.run_id,
            RunStatus.FAILED,
            error={
                "code": LOST_CODE,
                "message": f"the run was marked Failed because {lost.reason}",
            },
        )
    except InvalidStateError:
        return False
    return (record.error or {}).get("code") == LOST_CODE
