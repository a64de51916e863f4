"""Compute targets and environments over a server."""

from __future__ import annotations

import builtins
from typing import Any

from atelier.client.api.compute import ComputeAPI, EnvironmentAPI
from atelier.client.http.base import Part, workspace_path
from atelier.client.http.transport import segment
from atelier.core.records import ComputeRecord, EnvironmentRecord


class HttpEnvironments(Part):
    def register(self, workspace: str, name: str, spec: dict[str, Any]) -> EnvironmentRecord:
        path = f"{workspace_path(workspace)}/environments/{segment(name)}"
        return EnvironmentRecord(**self.t.json("POST", path, json={"spec": spec}))

    def get(self, workspace: str, name: str, version: int | None = None) -> EnvironmentRecord:
        params = {"version": version} if version is not None else None
        path = f"{workspace_path(workspace)}/environments/{segment(name)}"
        return EnvironmentRecord(**self.t.json("GET", path, params=params))

    def list(self, workspace: str) -> builtins.list[EnvironmentRecord]:
        found = self.t.pages(f"{workspace_path(workspace)}/environments")
        return [EnvironmentRecord(**item) for item in found]


class HttpCompute(Part):
    def create(self, workspace: str, name: str, kind: str, config: dict[str, Any]) -> ComputeRecord:
        body = {"name": name, "kind": kind, "config": config}
        return ComputeRecord(
            **self.t.json("POST", f"{workspace_path(workspace)}/computes", json=body)
        )

    def get(self, workspace: str, name: str) -> ComputeRecord:
        return ComputeRecord(
            **self.t.json("GET", f"{workspace_path(workspace)}/computes/{segment(name)}")
        )

    def list(self, workspace: str) -> builtins.list[ComputeRecord]:
        return [
            ComputeRecord(**item) for item in self.t.pages(f"{workspace_path(workspace)}/computes")
        ]

    def update(
        self,
        workspace: str,
        name: str,
        *,
        state: str | None = None,
        config: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> ComputeRecord:
        body = {"state": state, "config": config, "error": error}
        path = f"{workspace_path(workspace)}/computes/{segment(name)}"
        return ComputeRecord(**self.t.json("PATCH", path, json=body))

    def delete(self, workspace: str, name: str) -> None:
        self.t.request("DELETE", f"{workspace_path(workspace)}/computes/{segment(name)}")


def _conforms(
    target: HttpCompute, environments: HttpEnvironments
) -> tuple[ComputeAPI, EnvironmentAPI]:
    """mypy checks here that these classes satisfy their protocols."""
    return target, environments
