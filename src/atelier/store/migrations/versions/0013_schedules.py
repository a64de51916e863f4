"""schedules: pipeline schedules and the slots they fired

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 15:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("target_kind", sa.String(length=32), nullable=False),
        sa.Column("target_id", sa.String(length=255), nullable=True),
        sa.Column("target_definition", sa.JSON(), nullable=False),
        sa.Column("experiment_name", sa.String(length=255), nullable=False),
        sa.Column("pipeline_parameters", sa.JSON(), nullable=False),
        sa.Column("recurrence", sa.JSON(), nullable=True),
        sa.Column("datastore_name", sa.String(length=255), nullable=True),
        sa.Column("path_on_datastore", sa.Text(), nullable=True),
        sa.Column("polling_interval", sa.BigInteger(), nullable=False),
        sa.Column("data_path_parameter_name", sa.String(length=255), nullable=True),
        sa.Column("continue_on_step_failure", sa.Boolean(), nullable=True),
        sa.Column("anchor_ms", sa.BigInteger(), nullable=True),
        sa.Column("next_due_ms", sa.BigInteger(), nullable=True),
        sa.Column("data_state", sa.JSON(), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_schedules_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedules")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_schedules_workspace_id_name")),
    )
    op.create_index(
        "ix_schedules_status_next_due_ms", "schedules", ["status", "next_due_ms"], unique=False
    )
    op.create_table(
        "schedule_firings",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("schedule_id", sa.String(length=32), nullable=False),
        sa.Column("slot_ms", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("fired_ms", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.String(length=255), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("changed_paths", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedules.id"],
            name=op.f("fk_schedule_firings_schedule_id_schedules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_firings")),
        sa.UniqueConstraint(
            "schedule_id", "slot_ms", name=op.f("uq_schedule_firings_schedule_id_slot_ms")
        ),
    )


def downgrade() -> None:
    op.drop_table("schedule_firings")
    op.drop_index("ix_schedules_status_next_due_ms", table_name="schedules")
    op.drop_table("schedules")
