"""Endpoint reporting: what only a serving process (an endpoint's manager and its
replicas) calls to tell the workspace how its deployments are doing."""

from __future__ import annotations

import builtins
from typing import Protocol

from atelier.core.endpoints import EndpointRecord, ReplicaReport


class EndpointReportingAPI(Protocol):
    """``report``: the replicas of each deployment and the endpoint revision the manager
    has acted on. ``write_model_data``: one Parquet batch of collected requests, stored in
    the day's partition; returns where it went."""

    def report(
        self,
        workspace: str,
        name: str,
        applied_revision: int,
        reports: builtins.list[ReplicaReport],
    ) -> EndpointRecord: ...
    def write_model_data(
        self, workspace: str, endpoint: str, deployment: str, day: str, data: bytes
    ) -> str: ...
