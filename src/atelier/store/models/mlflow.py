"""Tables for what the MLflow protocol has and Atelier's own schema does not.

MLflow's *logged models* (a model's files inside a run, before any registration) and
*registered models* as named containers (description, tags, aliases) that can exist before
their first version. Model versions themselves are Atelier registry rows (``models``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from atelier.store.models.base import Base


class MlflowLoggedModelRow(Base):
    """A model the mlflow client logged: its files live in the run under ``artifact_path``."""

    __tablename__ = "mlflow_logged_models"
    __table_args__ = (Index("ix_mlflow_logged_models_run", "run_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    experiment_id: Mapped[str] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.run_id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    model_type: Mapped[str | None] = mapped_column(String(255), default=None)
    status: Mapped[str] = mapped_column(String(32))
    artifact_path: Mapped[str] = mapped_column(String(1024))
    tags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_ms: Mapped[int]
    updated_ms: Mapped[int]


class MlflowRegisteredModelRow(Base):
    """A registered model's own metadata; its versions are rows of ``models``."""

    __tablename__ = "mlflow_registered_models"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    aliases: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_ms: Mapped[int]
    updated_ms: Mapped[int]
