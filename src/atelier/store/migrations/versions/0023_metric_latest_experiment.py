"""A series' latest point names its run's experiment (indexed with the metric and value);
a run keeps the request id that created it

Revision ID: 0023
Revises: 0021
Create Date: 2026-12-06 21:10:00.000000

The runs listing ordered by a metric reads one range of (experiment, name, value); joined
through ``runs`` instead, PostgreSQL's plan depended on statistics a growing table lacks.
A run creation retried after its answer was lost finds its run by ``request_id``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0021"
branch_labels = None
depends_on = None

INDEX = "ix_metric_latest_experiment_name_value"
REQUEST_INDEX = "ix_runs_request_id"


def upgrade() -> None:
    # added nullable, filled from the runs, then required (SQLite rebuilds the table for that
    # last step; metric_latest has no children, so the rebuild cascades nothing)
    op.add_column("metric_latest", sa.Column("experiment_id", sa.String(length=32), nullable=True))
    op.execute(
        "UPDATE metric_latest SET experiment_id = "
        "(SELECT runs.experiment_id FROM runs WHERE runs.run_id = metric_latest.run_id)"
    )
    with op.batch_alter_table("metric_latest", schema=None) as batch_op:
        batch_op.alter_column("experiment_id", existing_type=sa.String(length=32), nullable=False)
        batch_op.create_index(INDEX, ["experiment_id", "name", "value"], unique=False)
    # plain ADD COLUMN and CREATE INDEX: runs is the parent of most tables, never rebuilt
    op.add_column("runs", sa.Column("request_id", sa.String(length=64), nullable=True))
    op.create_index(REQUEST_INDEX, "runs", ["request_id"], unique=True)


def downgrade() -> None:
    op.drop_index(REQUEST_INDEX, table_name="runs")
    op.drop_column("runs", "request_id")
    with op.batch_alter_table("metric_latest", schema=None) as batch_op:
        batch_op.drop_index(INDEX)
        batch_op.drop_column("experiment_id")
