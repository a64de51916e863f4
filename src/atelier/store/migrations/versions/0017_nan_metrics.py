"""NaN metrics: a series' latest value (and its bounds) may be NULL, which stands for NaN

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-06 15:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None

COLUMNS = ("value", "min_value", "max_value")


def upgrade() -> None:
    with op.batch_alter_table("metric_latest", schema=None) as batch_op:
        for column in COLUMNS:
            batch_op.alter_column(column, existing_type=sa.Float(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM metric_latest WHERE value IS NULL")
    op.execute("UPDATE metric_latest SET min_value = value WHERE min_value IS NULL")
    op.execute("UPDATE metric_latest SET max_value = value WHERE max_value IS NULL")
    with op.batch_alter_table("metric_latest", schema=None) as batch_op:
        for column in COLUMNS:
            batch_op.alter_column(column, existing_type=sa.Float(), nullable=False)
