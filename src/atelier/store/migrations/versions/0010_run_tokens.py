"""run tokens and the reaper: the token that minted a run token (which bounds it), and an
index on run status for the reaper's scan of unfinished runs

Revision ID: 0010
Revises: 0005
Create Date: 2026-12-06 13:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_token_id", sa.String(length=32), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_tokens_parent_token_id_tokens"),
            "tokens",
            ["parent_token_id"],
            ["id"],
            ondelete="CASCADE",
        )
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.create_index("ix_runs_status", ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index("ix_runs_status")
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_tokens_parent_token_id_tokens"), type_="foreignkey")
        batch_op.drop_column("parent_token_id")
