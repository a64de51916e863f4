"""Published pipelines and pipeline endpoints in this process's database."""

from __future__ import annotations

import builtins
from typing import Any

from atelier.client.api.pipelines import PipelineAPI
from atelier.core.pipelines import PipelineEndpointRecord, PublishedPipelineRecord
from atelier.services import pipelines
from atelier.store.database import Database


class EmbeddedPipelines:
    """``PipelineAPI`` over the embedded database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def publish(
        self,
        workspace: str,
        name: str,
        graph: dict[str, Any],
        description: str,
        version: str,
        continue_on_step_failure: bool,
    ) -> PublishedPipelineRecord:
        with self.db.session() as session:
            return pipelines.publish(
                session, workspace, name=name, graph=graph, description=description,
                version=version, continue_on_step_failure=continue_on_step_failure,
            )  # fmt: skip

    def get(self, workspace: str, pipeline_id: str) -> PublishedPipelineRecord:
        with self.db.session() as session:
            return pipelines.get(session, workspace, pipeline_id)

    def list(self, workspace: str, active_only: bool) -> builtins.list[PublishedPipelineRecord]:
        with self.db.session() as session:
            return pipelines.list_published(session, workspace, active_only)

    def set_status(self, workspace: str, pipeline_id: str, status: str) -> PublishedPipelineRecord:
        with self.db.session() as session:
            return pipelines.set_status(session, workspace, pipeline_id, status)

    def publish_endpoint(
        self, workspace: str, name: str, description: str, pipeline_id: str
    ) -> PipelineEndpointRecord:
        with self.db.session() as session:
            return pipelines.publish_endpoint(
                session, workspace, name=name, description=description, pipeline_id=pipeline_id
            )

    def get_endpoint(self, workspace: str, name_or_id: str) -> PipelineEndpointRecord:
        with self.db.session() as session:
            return pipelines.get_endpoint(session, workspace, name_or_id)

    def list_endpoints(self, workspace: str) -> builtins.list[PipelineEndpointRecord]:
        with self.db.session() as session:
            return pipelines.list_endpoints(session, workspace)

    def add_version(
        self, workspace: str, name_or_id: str, pipeline_id: str, make_default: bool
    ) -> PipelineEndpointRecord:
        with self.db.session() as session:
            return pipelines.add_version(session, workspace, name_or_id, pipeline_id, make_default)

    def set_default_version(
        self, workspace: str, name_or_id: str, version: int
    ) -> PipelineEndpointRecord:
        with self.db.session() as session:
            return pipelines.set_default_version(session, workspace, name_or_id, version)


def _conforms(store: EmbeddedPipelines) -> PipelineAPI:
    """mypy checks here that the class satisfies its protocol."""
    return store
