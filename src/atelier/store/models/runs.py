"""Workspaces, experiments and runs, with what a run records: tags, properties, metrics
(scalar chunks, latest values, documents), artifacts and snapshots."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from atelier.store.models.base import Base


class WorkspaceRow(Base):
    __tablename__ = "workspaces"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    # "" when never given (the column predates None); azureml's coordinates are NULL then
    location: Mapped[str] = mapped_column(String(64), default="")
    tags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_ms: Mapped[int]
    subscription_id: Mapped[str | None] = mapped_column(String(128), default=None)
    resource_group: Mapped[str | None] = mapped_column(String(128), default=None)
    sku: Mapped[str | None] = mapped_column(String(64), default=None)


class ExperimentRow(Base):
    __tablename__ = "experiments"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    tags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    run_count: Mapped[int] = mapped_column(default=0)
    created_ms: Mapped[int]


class RunRow(Base):
    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_experiment_created", "experiment_id", "created_ms"),
        Index("ix_runs_parent", "parent_run_id"),
        # the reaper's scan of unfinished runs, every few seconds on a server
        Index("ix_runs_status", "status"),
        # a creation retried after its answer was lost finds the run it made
        Index("ix_runs_request_id", "request_id", unique=True),
    )

    run_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    experiment_id: Mapped[str] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    number: Mapped[int]
    parent_run_id: Mapped[str | None] = mapped_column(
        ForeignKey("runs.run_id", ondelete="CASCADE"), default=None
    )
    display_name: Mapped[str] = mapped_column(String(255), default="")
    run_type: Mapped[str] = mapped_column(String(64), default="interactive")
    target: Mapped[str] = mapped_column(String(255), default="local")
    status: Mapped[str] = mapped_column(String(32))
    created_ms: Mapped[int]
    started_ms: Mapped[int | None] = mapped_column(default=None)
    ended_ms: Mapped[int | None] = mapped_column(default=None)
    heartbeat_ms: Mapped[int | None] = mapped_column(default=None)
    error: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    definition: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    snapshot_id: Mapped[str | None] = mapped_column(String(64), default=None)
    supervisor: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    exit_code: Mapped[int | None] = mapped_column(default=None)
    #: the id the client chose for the request that created the run (retries send it again)
    request_id: Mapped[str | None] = mapped_column(String(64), default=None)


class RunTagRow(Base):
    __tablename__ = "run_tags"
    __table_args__ = (Index("ix_run_tags_key", "key"),)

    run_id: Mapped[str] = mapped_column(
        ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")


class RunPropertyRow(Base):
    __tablename__ = "run_properties"
    __table_args__ = (Index("ix_run_properties_key", "key"),)

    run_id: Mapped[str] = mapped_column(
        ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")


class MetricChunkRow(Base):
    """A batch of one scalar series, packed as little-endian arrays (steps, values, times)."""

    __tablename__ = "metric_chunks"
    __table_args__ = (Index("ix_metric_chunks_run_name", "run_id", "name", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.run_id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(250))
    count: Mapped[int]
    steps: Mapped[bytes] = mapped_column(LargeBinary)
    values: Mapped[bytes] = mapped_column(LargeBinary)
    timestamps: Mapped[bytes] = mapped_column(LargeBinary)


class MetricLatestRow(Base):
    """The last point of each series, kept beside the chunks for fast listing and ordering.

    ``experiment_id`` is the run's (runs never move): an experiment's runs ordered by a
    metric are one range of the (experiment, name, value) index, a plan PostgreSQL takes
    with or without statistics on the tables."""

    __tablename__ = "metric_latest"
    __table_args__ = (
        Index("ix_metric_latest_name_value", "name", "value"),
        Index("ix_metric_latest_experiment_name_value", "experiment_id", "name", "value"),
    )

    run_id: Mapped[str] = mapped_column(
        ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(250), primary_key=True)
    experiment_id: Mapped[str] = mapped_column(String(32))
    #: NULL for NaN (a diverged loss): SQLite cannot store NaN, and NULL sorts last anywhere
    value: Mapped[float | None] = mapped_column(Float)
    step: Mapped[int]
    timestamp_ms: Mapped[int]
    count: Mapped[int]
    min_value: Mapped[float | None] = mapped_column(Float)
    max_value: Mapped[float | None] = mapped_column(Float)


class MetricDocumentRow(Base):
    """A JSON-typed metric entry: a list, a row, a table or an image reference."""

    __tablename__ = "metric_documents"
    __table_args__ = (Index("ix_metric_documents_run_name", "run_id", "name", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.run_id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(250))
    kind: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]]
    created_ms: Mapped[int]


class ArtifactRow(Base):
    """A run's file: its path inside the run and the content-addressed object holding it."""

    __tablename__ = "artifacts"
    __table_args__ = (Index("ix_artifacts_digest", "digest"),)

    run_id: Mapped[str] = mapped_column(
        ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True
    )
    path: Mapped[str] = mapped_column(String(1024), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    created_ms: Mapped[int]


class SnapshotRow(Base):
    """A source directory as submitted: a manifest blob listing (path, digest, size, mode)."""

    __tablename__ = "snapshots"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    file_count: Mapped[int]
    total_size: Mapped[int]
    created_ms: Mapped[int]
