"""Endpoints and their deployments, as the SDK manages them. What only a serving process
calls (replica reports, collected request data) is in ``reporting``."""

from __future__ import annotations

import builtins
from typing import Any, Protocol

from atelier.core.endpoints import EndpointRecord


class EndpointAPI(Protocol):
    """Endpoints and their deployments (``atelier.core.endpoints``). Keys are generated,
    encrypted and decrypted by the backend; records carry only their digests.

    ``create`` records who deployed the endpoint: the server's authenticated user, or this
    machine's user for the embedded backend. ``set_access`` turns key auth and TLS on or
    off on the live endpoint.

    ``set_manager`` and ``mark_failed`` belong here, not to reporting: the SDK starts a
    local endpoint's process and records it, and marks the endpoint failed when it finds
    that process gone."""

    def create(
        self,
        workspace: str,
        name: str,
        *,
        kind: str,
        port: int,
        auth_enabled: bool,
        config: dict[str, Any],
    ) -> EndpointRecord: ...
    def get(self, workspace: str, name: str) -> EndpointRecord: ...
    def list(
        self, workspace: str, model: tuple[str, int | None] | None = None
    ) -> builtins.list[EndpointRecord]: ...
    def delete(self, workspace: str, name: str) -> None: ...
    def put_deployment(
        self,
        workspace: str,
        endpoint: str,
        name: str,
        spec: dict[str, Any],
        models: builtins.list[tuple[str, int]],
    ) -> EndpointRecord: ...
    def delete_deployment(self, workspace: str, endpoint: str, name: str) -> EndpointRecord: ...
    def set_traffic(
        self, workspace: str, endpoint: str, traffic: dict[str, int]
    ) -> EndpointRecord: ...
    def get_keys(self, workspace: str, name: str) -> tuple[str, str]: ...
    def regen_key(
        self, workspace: str, name: str, slot: str, value: str | None = None
    ) -> EndpointRecord: ...
    def set_details(self, workspace: str, name: str, details: dict[str, Any]) -> EndpointRecord: ...
    def set_access(self, workspace: str, name: str, changes: dict[str, Any]) -> EndpointRecord: ...
    def set_manager(self, workspace: str, name: str, pid: int) -> EndpointRecord: ...
    def mark_failed(self, workspace: str, name: str, error: str) -> EndpointRecord: ...
    def model_data(
        self, workspace: str, endpoint: str, deployment: str | None = None
    ) -> builtins.list[tuple[str, bytes]]: ...
