"""Tables of the data area: datastores, dataset versions with their files, and lineage."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from atelier.store.models.base import Base


class DatastoreRow(Base):
    """A named storage location; ``credentials_secret`` names the key vault secret that
    holds its credentials (None when it needs none)."""

    __tablename__ = "datastores"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(Text)
    config: Mapped[dict[str, Any]]
    credentials_secret: Mapped[str | None] = mapped_column(String(127), default=None)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_ms: Mapped[int]


class DatasetRow(Base):
    """A registered dataset version: its definition and the size of its recorded files."""

    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("workspace_id", "name", "version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    version: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    definition: Mapped[dict[str, Any]]
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    file_count: Mapped[int] = mapped_column(default=0)
    total_size: Mapped[int] = mapped_column(default=0)
    created_ms: Mapped[int]


class DatasetFileRow(Base):
    """A file of a dataset version as it was at registration (size, mtime, content hash)."""

    __tablename__ = "dataset_files"

    dataset_id: Mapped[str] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    size: Mapped[int]
    mtime_ms: Mapped[int]
    digest: Mapped[str] = mapped_column(String(64), default="")


class RunInputRow(Base):
    """A dataset a run consumed under a name; ``definition`` for an unregistered one."""

    __tablename__ = "run_inputs"
    __table_args__ = (Index("ix_run_inputs_dataset", "dataset_id"),)

    run_id: Mapped[str] = mapped_column(
        ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    mode: Mapped[str] = mapped_column(String(16))
    dataset_id: Mapped[str | None] = mapped_column(
        ForeignKey("datasets.id", ondelete="SET NULL"), default=None
    )
    definition: Mapped[dict[str, Any] | None] = mapped_column(default=None)


class ModelDatasetRow(Base):
    """A dataset version behind a model version, with its role ("training data")."""

    __tablename__ = "model_datasets"
    __table_args__ = (Index("ix_model_datasets_dataset", "dataset_id"),)

    model_id: Mapped[str] = mapped_column(
        ForeignKey("models.id", ondelete="CASCADE"), primary_key=True
    )
    dataset_id: Mapped[str] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    scenario: Mapped[str] = mapped_column(String(255), primary_key=True)
