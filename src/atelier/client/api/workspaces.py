"""Workspaces and their experiments: the top of the tree every other call names."""

from __future__ import annotations

import builtins
from typing import Protocol

from atelier.core.records import ExperimentRecord, WorkspaceRecord


class WorkspaceAPI(Protocol):
    """Workspaces by name. ``delete`` also drops what only the workspace referenced."""

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
    ) -> WorkspaceRecord: ...
    def get(self, name: str) -> WorkspaceRecord: ...
    def list(self) -> builtins.list[WorkspaceRecord]: ...
    def delete(self, name: str) -> None: ...


class ExperimentAPI(Protocol):
    """Named groups of runs in a workspace (``view_type``: active, archived or all)."""

    def get_or_create(self, workspace: str, name: str) -> ExperimentRecord: ...
    def get(self, workspace: str, name: str) -> ExperimentRecord: ...
    def list(
        self, workspace: str, view_type: str, name: str | None = None
    ) -> builtins.list[ExperimentRecord]: ...
    def set_archived(self, workspace: str, name: str, archived: bool) -> ExperimentRecord: ...
    def set_tags(
        self, workspace: str, name: str, tags: dict[str, str | None]
    ) -> ExperimentRecord: ...
    def remove_tags(
        self, workspace: str, name: str, keys: builtins.list[str]
    ) -> ExperimentRecord: ...
    def delete(self, workspace: str, name: str) -> None: ...
