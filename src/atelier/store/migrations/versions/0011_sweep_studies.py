"""sweep studies: on PostgreSQL, the ``optuna`` schema that holds the Optuna studies of
HyperDrive sweeps (Optuna's own tables and its own migration record stay apart from
Atelier's); on SQLite the studies live in a database file beside the workspace's

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 15:30:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SCHEMA IF NOT EXISTS optuna")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SCHEMA IF EXISTS optuna CASCADE")
