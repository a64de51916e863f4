"""Compute targets in this process: one transaction through the service per call."""

from __future__ import annotations

from typing import Any

from atelier.client.api.compute import ComputeAPI
from atelier.client.embedded.base import Part
from atelier.core.records import ComputeRecord
from atelier.services import compute


class EmbeddedCompute(Part):
    def create(self, workspace: str, name: str, kind: str, config: dict[str, Any]) -> ComputeRecord:
        with self.db.session() as session:
            return compute.create(session, workspace, name, kind, config)

    def get(self, workspace: str, name: str) -> ComputeRecord:
        with self.db.session() as session:
            return compute.get(session, workspace, name)

    def list(self, workspace: str) -> list[ComputeRecord]:
        with self.db.session() as session:
            return compute.list_all(session, workspace)

    def update(
        self,
        workspace: str,
        name: str,
        *,
        state: str | None = None,
        config: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> ComputeRecord:
        with self.db.session() as session:
            return compute.update(session, workspace, name, state=state, config=config, error=error)

    def delete(self, workspace: str, name: str) -> None:
        with self.db.session() as session:
            compute.delete(session, workspace, name)


def _conforms(target: EmbeddedCompute) -> ComputeAPI:
    """mypy checks here that the class satisfies its protocol."""
    return target
