"""ORM model of the workspace key vault: one row per secret, its value sealed."""

from __future__ import annotations

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from atelier.store.models.base import Base


class SecretRow(Base):
    """A secret: ``sealed`` is AES-GCM ciphertext (see ``storage/secretbox.py``), bound to
    the workspace id and name; ``key_id`` names the key that sealed it."""

    __tablename__ = "secrets"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(127))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(String(32))
    created_ms: Mapped[int]
    updated_ms: Mapped[int]
