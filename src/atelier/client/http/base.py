"""What every HTTP resource shares: the transport, and the paths of workspaces and runs."""

from __future__ import annotations

from typing import Any

from atelier.client.http.transport import Transport, segment
from atelier.core.names import check_run_id, check_workspace_name
from atelier.core.records import RunRecord
from atelier.core.status import RunStatus


def run_record(data: dict[str, Any]) -> RunRecord:
    return RunRecord(**{**data, "status": RunStatus(data["status"])})


def workspace_path(name: str) -> str:
    return f"/workspaces/{segment(check_workspace_name(name))}"


def run_path(workspace: str, run_id: str) -> str:
    return f"{workspace_path(workspace)}/runs/{segment(check_run_id(run_id))}"


class Part:
    """One resource of the HTTP backend over the backend's shared transport."""

    def __init__(self, transport: Transport) -> None:
        self.t = transport
