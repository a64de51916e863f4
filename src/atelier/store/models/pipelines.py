"""ORM models of published pipelines and pipeline endpoints."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from atelier.store.models.base import Base


class PublishedPipelineRow(Base):
    """A pipeline's graph as published: steps, their snapshots and declared parameters."""

    __tablename__ = "published_pipelines"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16))
    continue_on_step_failure: Mapped[bool] = mapped_column(default=False)
    graph: Mapped[dict[str, Any]]
    created_ms: Mapped[int]


class PipelineEndpointRow(Base):
    """A named endpoint; its versions are rows of ``pipeline_endpoint_versions``."""

    __tablename__ = "pipeline_endpoints"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))
    default_version: Mapped[int]
    created_ms: Mapped[int]


class PipelineEndpointVersionRow(Base):
    """Version ``version`` of an endpoint runs the published pipeline ``pipeline_id``."""

    __tablename__ = "pipeline_endpoint_versions"

    endpoint_id: Mapped[str] = mapped_column(
        ForeignKey("pipeline_endpoints.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(primary_key=True)
    pipeline_id: Mapped[str] = mapped_column(
        ForeignKey("published_pipelines.id", ondelete="CASCADE")
    )
