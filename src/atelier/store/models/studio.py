"""ORM model of the Studio's browser sessions."""

from __future__ import annotations

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from atelier.store.models.base import Base


class StudioSessionRow(Base):
    """A signed-in browser: the cookie's secret is kept only as its SHA-256 (``id``).

    ``token_hash`` is the hash of the token the person signed in with, checked again on
    every request (a revoked token ends its sessions); None for the sessions of a local
    ``atelier studio``, opened with its launch key. ``csrf`` is the form token of the
    session, sent back with every state-changing request."""

    __tablename__ = "studio_sessions"
    __table_args__ = (Index("ix_studio_sessions_expires", "expires_ms"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    csrf: Mapped[str] = mapped_column(String(64))
    created_ms: Mapped[int]
    expires_ms: Mapped[int]
