"""The model registry: model versions with their tags, properties and files."""

from __future__ import annotations

from sqlalchemy import (
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from atelier.store.models.base import Base


class ModelRow(Base):
    """A registered model version: name + version per workspace, with its lineage."""

    __tablename__ = "models"
    __table_args__ = (
        UniqueConstraint("workspace_id", "name", "version"),
        Index("ix_models_run", "run_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    version: Mapped[int]
    description: Mapped[str] = mapped_column(Text, default="")
    framework: Mapped[str | None] = mapped_column(String(255), default=None)
    framework_version: Mapped[str | None] = mapped_column(String(255), default=None)
    run_id: Mapped[str | None] = mapped_column(
        ForeignKey("runs.run_id", ondelete="SET NULL"), default=None
    )
    created_ms: Mapped[int]


class ModelTagRow(Base):
    __tablename__ = "model_tags"
    __table_args__ = (Index("ix_model_tags_key", "key"),)

    model_id: Mapped[str] = mapped_column(
        ForeignKey("models.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")


class ModelPropertyRow(Base):
    __tablename__ = "model_properties"
    __table_args__ = (Index("ix_model_properties_key", "key"),)

    model_id: Mapped[str] = mapped_column(
        ForeignKey("models.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")


class ModelFileRow(Base):
    """A model's file: its path inside the model and the content-addressed object holding it
    (the same object as the run's file when the model was registered from a run)."""

    __tablename__ = "model_files"
    __table_args__ = (Index("ix_model_files_digest", "digest"),)

    model_id: Mapped[str] = mapped_column(
        ForeignKey("models.id", ondelete="CASCADE"), primary_key=True
    )
    path: Mapped[str] = mapped_column(String(1024), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
