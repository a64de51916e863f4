"""studio sessions: signed-in browsers of the Studio web interface

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-06 15:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "studio_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_studio_sessions")),
    )
    with op.batch_alter_table("studio_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_studio_sessions_expires", ["expires_ms"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("studio_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_studio_sessions_expires")
    op.drop_table("studio_sessions")
