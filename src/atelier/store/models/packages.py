"""ORM models of the image registry: immutable, versioned model packages and their files."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from atelier.store.models.base import Base


class PackageRow(Base):
    """A package version of an image name; ``manifest`` is the JSON the build context
    carries as ``manifest.json``."""

    __tablename__ = "model_packages"
    __table_args__ = (UniqueConstraint("workspace_id", "name", "version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    version: Mapped[int]
    label: Mapped[str | None] = mapped_column(String(128), default=None)
    digest: Mapped[str] = mapped_column(String(64))
    manifest: Mapped[dict[str, Any]]
    log: Mapped[str] = mapped_column(Text, default="")
    created_ms: Mapped[int]


class PackageFileRow(Base):
    """A file of a package: its path in the build context and its content-addressed blob."""

    __tablename__ = "model_package_files"
    __table_args__ = (Index("ix_model_package_files_digest", "digest"),)

    package_id: Mapped[str] = mapped_column(
        ForeignKey("model_packages.id", ondelete="CASCADE"), primary_key=True
    )
    path: Mapped[str] = mapped_column(String(1024), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
