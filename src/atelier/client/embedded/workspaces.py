"""Workspaces and experiments in this process: one transaction through the services per call."""

from __future__ import annotations

import builtins

from atelier.client.api.workspaces import ExperimentAPI, WorkspaceAPI
from atelier.client.embedded.base import Part
from atelier.core.records import ExperimentRecord, WorkspaceRecord
from atelier.services import artifacts, experiments, workspaces


class EmbeddedWorkspaces(Part):
    def create(
        self,
        name: str,
        *,
        description: str,
        location: str | None,
        tags: dict[str, str],
        exist_ok: bool,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        sku: str | None = None,
    ) -> WorkspaceRecord:
        with self.db.session() as session:
            return workspaces.create(
                session,
                name,
                description=description,
                location=location,
                tags=tags,
                exist_ok=exist_ok,
                subscription_id=subscription_id,
                resource_group=resource_group,
                sku=sku,
            )

    def get(self, name: str) -> WorkspaceRecord:
        with self.db.session() as session:
            return workspaces.get(session, name)

    def list(self) -> builtins.list[WorkspaceRecord]:
        with self.db.session() as session:
            return workspaces.list_all(session)

    def delete(self, name: str) -> None:
        with self.db.session() as session:
            digests = workspaces.delete(session, name)
        with self.db.session() as session:
            orphans = artifacts.unreferenced(session, digests)
        for digest in orphans:
            self.blobs.delete(digest)


class EmbeddedExperiments(Part):
    def get_or_create(self, workspace: str, name: str) -> ExperimentRecord:
        with self.db.session() as session:
            return experiments.get_or_create(session, workspace, name)

    def get(self, workspace: str, name: str) -> ExperimentRecord:
        with self.db.session() as session:
            return experiments.get(session, workspace, name)

    def list(
        self, workspace: str, view_type: str, name: str | None = None
    ) -> builtins.list[ExperimentRecord]:
        with self.db.session() as session:
            return experiments.list_all(session, workspace, view_type, name)  # type: ignore[arg-type]

    def set_archived(self, workspace: str, name: str, archived: bool) -> ExperimentRecord:
        with self.db.session() as session:
            return experiments.set_archived(session, workspace, name, archived)

    def set_tags(self, workspace: str, name: str, tags: dict[str, str | None]) -> ExperimentRecord:
        with self.db.session() as session:
            return experiments.set_tags(session, workspace, name, tags)

    def remove_tags(self, workspace: str, name: str, keys: builtins.list[str]) -> ExperimentRecord:
        with self.db.session() as session:
            return experiments.remove_tags(session, workspace, name, keys)

    def delete(self, workspace: str, name: str) -> None:
        with self.db.session() as session:
            digests = experiments.delete(session, workspace, name)
        with self.db.session() as session:
            orphans = artifacts.unreferenced(session, digests)
        for digest in orphans:
            self.blobs.delete(digest)


def _conforms(
    workspace: EmbeddedWorkspaces, experiment: EmbeddedExperiments
) -> tuple[WorkspaceAPI, ExperimentAPI]:
    """mypy checks here that these classes satisfy their protocols."""
    return workspace, experiment
