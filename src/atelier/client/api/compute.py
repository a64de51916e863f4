"""Where and with what runs execute: compute targets and versioned environments."""

from __future__ import annotations

import builtins
from typing import Any, Protocol

from atelier.core.records import ComputeRecord, EnvironmentRecord


class ComputeAPI(Protocol):
    """Compute targets of a workspace by name; ``update`` records provisioning state."""

    def create(
        self, workspace: str, name: str, kind: str, config: dict[str, Any]
    ) -> ComputeRecord: ...
    def get(self, workspace: str, name: str) -> ComputeRecord: ...
    def list(self, workspace: str) -> builtins.list[ComputeRecord]: ...
    def update(
        self,
        workspace: str,
        name: str,
        *,
        state: str | None = None,
        config: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> ComputeRecord: ...
    def delete(self, workspace: str, name: str) -> None: ...


class EnvironmentAPI(Protocol):
    """Versioned environment specs; ``version`` None means the latest."""

    def register(self, workspace: str, name: str, spec: dict[str, Any]) -> EnvironmentRecord: ...
    def get(self, workspace: str, name: str, version: int | None = None) -> EnvironmentRecord: ...
    def list(self, workspace: str) -> builtins.list[EnvironmentRecord]: ...
