"""ORM models for users, tokens, workspace members and the audit log."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from atelier.store.models.base import Base


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_ms: Mapped[int]


class TokenRow(Base):
    """A bearer token, kept as the SHA-256 of its secret (the secret itself is random and
    long, so a fast hash is enough: there is no password to guess)."""

    __tablename__ = "tokens"
    __table_args__ = (Index("ix_tokens_user", "user_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    run_id: Mapped[str | None] = mapped_column(
        ForeignKey("runs.run_id", ondelete="CASCADE"), default=None
    )
    workspace_id: Mapped[str | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), default=None
    )
    #: for a run token, the token that minted it: the run token works only while that does
    parent_token_id: Mapped[str | None] = mapped_column(
        ForeignKey("tokens.id", ondelete="CASCADE"), default=None
    )
    created_ms: Mapped[int]
    expires_ms: Mapped[int | None] = mapped_column(default=None)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class MemberRow(Base):
    __tablename__ = "workspace_members"
    __table_args__ = (Index("ix_workspace_members_user", "user_id"),)

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(16))


class AuditRow(Base):
    """Who did what: kept by name, so the trail outlives deleted users and workspaces."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at_ms"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at_ms: Mapped[int]
    actor: Mapped[str] = mapped_column(String(63))
    action: Mapped[str] = mapped_column(String(255))
    workspace_name: Mapped[str | None] = mapped_column(String(63), default=None)
    target: Mapped[str] = mapped_column(String(1024), default="")
    status: Mapped[int] = mapped_column(Integer, default=0)
