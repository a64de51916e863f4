"""Published pipelines and pipeline endpoints: what the SDK publishes and looks up. A run
of one is submitted by the SDK itself (graph in hand); ``start_run`` is the REST path."""

from __future__ import annotations

import builtins
from typing import Any, Protocol

from atelier.core.pipelines import PipelineEndpointRecord, PublishedPipelineRecord


class PipelineAPI(Protocol):
    """``publish`` freezes a graph under an id; ``set_status`` is Active or Disabled;
    endpoints are named, with numbered versions each naming a published pipeline."""

    def publish(
        self,
        workspace: str,
        name: str,
        graph: dict[str, Any],
        description: str,
        version: str,
        continue_on_step_failure: bool,
    ) -> PublishedPipelineRecord: ...
    def get(self, workspace: str, pipeline_id: str) -> PublishedPipelineRecord: ...
    def list(self, workspace: str, active_only: bool) -> builtins.list[PublishedPipelineRecord]: ...
    def set_status(
        self, workspace: str, pipeline_id: str, status: str
    ) -> PublishedPipelineRecord: ...
    def publish_endpoint(
        self, workspace: str, name: str, description: str, pipeline_id: str
    ) -> PipelineEndpointRecord: ...
    def get_endpoint(self, workspace: str, name_or_id: str) -> PipelineEndpointRecord: ...
    def list_endpoints(self, workspace: str) -> builtins.list[PipelineEndpointRecord]: ...
    def add_version(
        self, workspace: str, name_or_id: str, pipeline_id: str, make_default: bool
    ) -> PipelineEndpointRecord: ...
    def set_default_version(
        self, workspace: str, name_or_id: str, version: int
    ) -> PipelineEndpointRecord: ...
