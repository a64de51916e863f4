"""Workspaces and experiments over a server."""

from __future__ import annotations

import builtins

from atelier.client.api.workspaces import ExperimentAPI, WorkspaceAPI
from atelier.client.http.base import Part, workspace_path
from atelier.client.http.transport import segment
from atelier.core.names import check_experiment_name
from atelier.core.records import ExperimentRecord, WorkspaceRecord


class HttpWorkspaces(Part):
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
        body = {
            "name": name,
            "description": description,
            "location": location,
            "tags": tags,
            "exist_ok": exist_ok,
            "subscription_id": subscription_id,
            "resource_group": resource_group,
            "sku": sku,
        }
        return WorkspaceRecord(**self.t.json("POST", "/workspaces", json=body))

    def get(self, name: str) -> WorkspaceRecord:
        return WorkspaceRecord(**self.t.json("GET", workspace_path(name)))

    def list(self) -> builtins.list[WorkspaceRecord]:
        return [WorkspaceRecord(**item) for item in self.t.pages("/workspaces")]

    def delete(self, name: str) -> None:
        self.t.request("DELETE", workspace_path(name))


class HttpExperiments(Part):
    def _path(self, workspace: str, name: str) -> str:
        return f"{workspace_path(workspace)}/experiments/{segment(check_experiment_name(name))}"

    def get_or_create(self, workspace: str, name: str) -> ExperimentRecord:
        return ExperimentRecord(**self.t.json("PUT", self._path(workspace, name)))

    def get(self, workspace: str, name: str) -> ExperimentRecord:
        return ExperimentRecord(**self.t.json("GET", self._path(workspace, name)))

    def list(
        self, workspace: str, view_type: str, name: str | None = None
    ) -> builtins.list[ExperimentRecord]:
        params = {"view_type": view_type, **({"name": name} if name is not None else {})}
        found = self.t.pages(f"{workspace_path(workspace)}/experiments", params)
        return [ExperimentRecord(**item) for item in found]

    def set_archived(self, workspace: str, name: str, archived: bool) -> ExperimentRecord:
        body = {"archived": archived}
        return ExperimentRecord(**self.t.json("PATCH", self._path(workspace, name), json=body))

    def set_tags(self, workspace: str, name: str, tags: dict[str, str | None]) -> ExperimentRecord:
        body = {"tags": tags}
        return ExperimentRecord(**self.t.json("PATCH", self._path(workspace, name), json=body))

    def remove_tags(self, workspace: str, name: str, keys: builtins.list[str]) -> ExperimentRecord:
        body = {"remove_tags": keys}
        return ExperimentRecord(**self.t.json("PATCH", self._path(workspace, name), json=body))

    def delete(self, workspace: str, name: str) -> None:
        self.t.request("DELETE", self._path(workspace, name))


def _conforms(
    workspace: HttpWorkspaces, experiment: HttpExperiments
) -> tuple[WorkspaceAPI, ExperimentAPI]:
    """mypy checks here that these classes satisfy their protocols."""
    return workspace, experiment
