"""Endpoints over a server: the records, keys and manager reports. The router and the
manager still run on this machine; they reach the server through this backend."""

from __future__ import annotations

import base64
import builtins
import dataclasses
from typing import Any

from atelier.client.api.endpoints import EndpointAPI
from atelier.client.api.reporting import EndpointReportingAPI
from atelier.client.http.transport import Transport, segment
from atelier.core.endpoints import (
    DeploymentRecord,
    EndpointRecord,
    ReplicaRecord,
    ReplicaReport,
    check_deployment_name,
    check_endpoint_name,
)
from atelier.core.names import check_workspace_name


def endpoint_record(data: dict[str, Any]) -> EndpointRecord:
    """An ``EndpointRecord`` from its JSON, nested records and tuples included."""
    deployments = tuple(
        DeploymentRecord(
            **{
                **item,
                "models": tuple(item.get("models") or ()),
                "replicas": tuple(ReplicaRecord(**r) for r in item.get("replicas") or ()),
            }
        )
        for item in data.get("deployments") or ()
    )
    return EndpointRecord(
        **{
            **data,
            "key_digests": tuple(data.get("key_digests") or ()),
            "deployments": deployments,
        }
    )


class HttpEndpoints:
    """``EndpointAPI`` over a server (which seals and opens the keys)."""

    def __init__(self, transport: Transport) -> None:
        self.t = transport

    def _base(self, workspace: str) -> str:
        return f"/workspaces/{segment(check_workspace_name(workspace))}/endpoints"

    def _one(self, workspace: str, name: str) -> str:
        return f"{self._base(workspace)}/{segment(check_endpoint_name(name))}"

    def _deployment(self, workspace: str, endpoint: str, name: str) -> str:
        return (
            f"{self._one(workspace, endpoint)}/deployments/{segment(check_deployment_name(name))}"
        )

    def _record(self, method: str, path: str, **kwargs: Any) -> EndpointRecord:
        return endpoint_record(self.t.json(method, path, **kwargs))

    def create(
        self,
        workspace: str,
        name: str,
        *,
        kind: str,
        port: int,
        auth_enabled: bool,
        config: dict[str, Any],
    ) -> EndpointRecord:
        body = {
            "name": name,
            "kind": kind,
            "port": port,
            "auth_enabled": auth_enabled,
            "config": config,
        }
        return self._record("POST", self._base(workspace), json=body)

    def get(self, workspace: str, name: str) -> EndpointRecord:
        return self._record("GET", self._one(workspace, name))

    def list(
        self, workspace: str, model: tuple[str, int | None] | None = None
    ) -> builtins.list[EndpointRecord]:
        params: dict[str, Any] = {}
        if model is not None:
            params["model_name"] = model[0]
            if model[1] is not None:
                params["model_version"] = model[1]
        found = self.t.json("GET", self._base(workspace), params=params)
        return [endpoint_record(item) for item in found]

    def delete(self, workspace: str, name: str) -> None:
        self.t.request("DELETE", self._one(workspace, name))

    def put_deployment(
        self,
        workspace: str,
        endpoint: str,
        name: str,
        spec: dict[str, Any],
        models: builtins.list[tuple[str, int]],
    ) -> EndpointRecord:
        body = {"spec": spec, "models": [list(m) for m in models]}
        return self._record("PUT", self._deployment(workspace, endpoint, name), json=body)

    def delete_deployment(self, workspace: str, endpoint: str, name: str) -> EndpointRecord:
        return self._record("DELETE", self._deployment(workspace, endpoint, name))

    def set_traffic(self, workspace: str, endpoint: str, traffic: dict[str, int]) -> EndpointRecord:
        path = f"{self._one(workspace, endpoint)}/traffic"
        return self._record("PUT", path, json={"traffic": traffic})

    def get_keys(self, workspace: str, name: str) -> tuple[str, str]:
        found = self.t.json("POST", f"{self._one(workspace, name)}/keys")
        return str(found["primary"]), str(found["secondary"])

    def regen_key(
        self, workspace: str, name: str, slot: str, value: str | None = None
    ) -> EndpointRecord:
        path = f"{self._one(workspace, name)}/keys/{segment(slot)}"
        return self._record("POST", path, json={"value": value})

    def set_details(self, workspace: str, name: str, details: dict[str, Any]) -> EndpointRecord:
        return self._record("PATCH", self._one(workspace, name), json=details)

    def set_access(self, workspace: str, name: str, changes: dict[str, Any]) -> EndpointRecord:
        return self._record("PUT", f"{self._one(workspace, name)}/access", json=changes)

    def set_manager(self, workspace: str, name: str, pid: int) -> EndpointRecord:
        return self._record("PUT", f"{self._one(workspace, name)}/manager", json={"pid": pid})

    def report(
        self,
        workspace: str,
        name: str,
        applied_revision: int,
        reports: builtins.list[ReplicaReport],
    ) -> EndpointRecord:
        body = {
            "applied_revision": applied_revision,
            "reports": [dataclasses.asdict(item) for item in reports],
        }
        return self._record("POST", f"{self._one(workspace, name)}/report", json=body)

    def mark_failed(self, workspace: str, name: str, error: str) -> EndpointRecord:
        return self._record("POST", f"{self._one(workspace, name)}/failure", json={"error": error})

    def write_model_data(
        self, workspace: str, endpoint: str, deployment: str, day: str, data: bytes
    ) -> str:
        found = self.t.json(
            "POST",
            f"{self._deployment(workspace, endpoint, deployment)}/model-data",
            params={"day": day},
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        return str(found["path"])

    def model_data(
        self, workspace: str, endpoint: str, deployment: str | None = None
    ) -> builtins.list[tuple[str, bytes]]:
        params = {"deployment": deployment} if deployment is not None else None
        found = self.t.json("GET", f"{self._one(workspace, endpoint)}/model-data", params=params)
        return [(str(item["path"]), base64.b64decode(item["data"])) for item in found]


def _conforms(implementation: HttpEndpoints) -> tuple[EndpointAPI, EndpointReportingAPI]:
    """mypy checks here that the class satisfies both protocols (the SDK sees the first,
    serving processes the second)."""
    return implementation, implementation
