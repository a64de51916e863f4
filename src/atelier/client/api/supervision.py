"""Run supervision: what only a run's supervisor (started directly, by the warm agent, or
by a compute target's executor) calls while it runs a script."""

from __future__ import annotations

from typing import Any, Protocol

from atelier.core.status import RunStatus


class SupervisionAPI(Protocol):
    """``heartbeat`` says the supervisor is alive (with what it is doing) and answers the
    run's status, so a cancel is seen; ``queue_state`` is (queued runs ahead of this one,
    runs active) on its compute target; ``run_environment`` is the variables the run's own script
    gets to reach this backend (over HTTP a token that can touch only that run);
    ``stream_log`` sends script output written at ``offset`` from a supervisor on another
    machine, so readers see it live (it answers the size kept, to go on from; a backend
    whose readers share the supervisor's folder keeps nothing and answers the end)."""

    def heartbeat(
        self, workspace: str, run_id: str, supervisor: dict[str, Any] | None = None
    ) -> RunStatus: ...
    def queue_state(self, workspace: str, run_id: str) -> tuple[int, int]: ...
    def run_environment(self, workspace: str, run_id: str) -> dict[str, str]: ...
    def stream_log(self, workspace: str, run_id: str, offset: int, data: bytes) -> int: ...
