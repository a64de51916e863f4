"""ORM models of endpoints, their deployments, keys and replicas (migration 0006)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from atelier.store.models.base import Base


class EndpointRow(Base):
    """A scoring endpoint: one port, two keys, a traffic split over its deployments.

    ``revision`` grows with every change a manager must act on; the manager writes the
    revision it has acted on into ``applied_revision``."""

    __tablename__ = "endpoints"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    port: Mapped[int] = mapped_column(Integer)
    auth_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    config: Mapped[dict[str, Any]]
    traffic: Mapped[dict[str, Any]]
    manager_pid: Mapped[int] = mapped_column(Integer, default=0)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    applied_revision: Mapped[int] = mapped_column(Integer, default=0)
    created_ms: Mapped[int]
    updated_ms: Mapped[int]


class EndpointKeyRow(Base):
    """One of an endpoint's two keys: encrypted (so ``get_keys`` can return it) and as a
    SHA-256 digest (all a router needs to check a request)."""

    __tablename__ = "endpoint_keys"

    endpoint_id: Mapped[str] = mapped_column(
        ForeignKey("endpoints.id", ondelete="CASCADE"), primary_key=True
    )
    slot: Mapped[str] = mapped_column(String(16), primary_key=True)
    ciphertext: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))


class DeploymentRow(Base):
    """A named deployment behind an endpoint; ``generation`` grows with every update."""

    __tablename__ = "deployments"
    __table_args__ = (UniqueConstraint("endpoint_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("endpoints.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    generation: Mapped[int] = mapped_column(Integer)
    spec: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(32))
    served_generation: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_ms: Mapped[int]
    updated_ms: Mapped[int]


class DeploymentModelRow(Base):
    """A model version a deployment serves (deleting that version is refused meanwhile)."""

    __tablename__ = "deployment_models"
    __table_args__ = (Index("ix_deployment_models_model", "model_id"),)

    deployment_id: Mapped[str] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), primary_key=True
    )
    model_id: Mapped[str] = mapped_column(
        ForeignKey("models.id", ondelete="CASCADE"), primary_key=True
    )


class ReplicaRow(Base):
    """A replica process of a deployment, as the endpoint's manager last reported it."""

    __tablename__ = "endpoint_replicas"

    deployment_id: Mapped[str] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), primary_key=True
    )
    # the pid, not the index, is the key: during a rollout old and new replicas share indexes
    pid: Mapped[int] = mapped_column(Integer, primary_key=True)
    index: Mapped[int] = mapped_column(Integer)
    port: Mapped[int] = mapped_column(Integer)
    generation: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(32))
    restarts: Mapped[int] = mapped_column(Integer, default=0)
    started_ms: Mapped[int]
