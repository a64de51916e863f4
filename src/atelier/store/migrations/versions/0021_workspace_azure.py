"""A workspace's azureml coordinates: subscription id, resource group and SKU, as given

Revision ID: 0021
Revises: 0017
Create Date: 2026-12-06 18:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0017"
branch_labels = None
depends_on = None

COLUMNS = (("subscription_id", 128), ("resource_group", 128), ("sku", 64))


def upgrade() -> None:
    # plain ADD COLUMN on both databases: the workspaces table is the parent of nearly every
    # other one, so it is never rebuilt (a rebuild on SQLite would cascade its deletes)
    for column, length in COLUMNS:
        op.add_column("workspaces", sa.Column(column, sa.String(length=length), nullable=True))


def downgrade() -> None:
    for column, _ in reversed(COLUMNS):
        op.drop_column("workspaces", column)
