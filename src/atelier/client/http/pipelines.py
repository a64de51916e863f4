"""Published pipelines and pipeline endpoints over a server."""

from __future__ import annotations

import builtins
from typing import Any

from atelier.client.api.pipelines import PipelineAPI
from atelier.client.http.transport import Transport, segment
from atelier.core.names import check_workspace_name
from atelier.core.pipelines import PipelineEndpointRecord, PublishedPipelineRecord


def _base(workspace: str) -> str:
    return f"/workspaces/{segment(check_workspace_name(workspace))}/pipelines"


def _published(data: dict[str, Any]) -> PublishedPipelineRecord:
    return PublishedPipelineRecord(**data)


def _endpoint(data: dict[str, Any]) -> PipelineEndpointRecord:
    return PipelineEndpointRecord(**data)


class HttpPipelines:
    """``PipelineAPI`` over a server."""

    def __init__(self, transport: Transport) -> None:
        self.t = transport

    def publish(
        self,
        workspace: str,
        name: str,
        graph: dict[str, Any],
        description: str,
        version: str,
        continue_on_step_failure: bool,
    ) -> PublishedPipelineRecord:
        body = {
            "name": name,
            "graph": graph,
            "description": description,
            "version": version,
            "continue_on_step_failure": continue_on_step_failure,
        }
        return _published(self.t.json("POST", f"{_base(workspace)}/published", json=body))

    def get(self, workspace: str, pipeline_id: str) -> PublishedPipelineRecord:
        path = f"{_base(workspace)}/published/{segment(str(pipeline_id))}"
        return _published(self.t.json("GET", path))

    def list(self, workspace: str, active_only: bool) -> builtins.list[PublishedPipelineRecord]:
        found = self.t.json(
            "GET", f"{_base(workspace)}/published", params={"active_only": active_only}
        )
        return [_published(item) for item in found]

    def set_status(self, workspace: str, pipeline_id: str, status: str) -> PublishedPipelineRecord:
        path = f"{_base(workspace)}/published/{segment(str(pipeline_id))}/status"
        return _published(self.t.json("PUT", path, json={"status": status}))

    def publish_endpoint(
        self, workspace: str, name: str, description: str, pipeline_id: str
    ) -> PipelineEndpointRecord:
        body = {"name": name, "description": description, "pipeline_id": pipeline_id}
        return _endpoint(self.t.json("POST", f"{_base(workspace)}/endpoints", json=body))

    def get_endpoint(self, workspace: str, name_or_id: str) -> PipelineEndpointRecord:
        path = f"{_base(workspace)}/endpoints/{segment(str(name_or_id))}"
        return _endpoint(self.t.json("GET", path))

    def list_endpoints(self, workspace: str) -> builtins.list[PipelineEndpointRecord]:
        return [_endpoint(item) for item in self.t.json("GET", f"{_base(workspace)}/endpoints")]

    def add_version(
        self, workspace: str, name_or_id: str, pipeline_id: str, make_default: bool
    ) -> PipelineEndpointRecord:
        path = f"{_base(workspace)}/endpoints/{segment(str(name_or_id))}/versions"
        body = {"pipeline_id": pipeline_id, "make_default": make_default}
        return _endpoint(self.t.json("POST", path, json=body))

    def set_default_version(
        self, workspace: str, name_or_id: str, version: int
    ) -> PipelineEndpointRecord:
        path = f"{_base(workspace)}/endpoints/{segment(str(name_or_id))}/default"
        return _endpoint(self.t.json("PUT", path, json={"version": version}))


def _conforms(store: HttpPipelines) -> PipelineAPI:
    """mypy checks here that the class satisfies its protocol."""
    return store
