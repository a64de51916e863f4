"""packages: the image registry of model packages

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-23 11:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_packages",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("label", sa.String(length=128), nullable=True),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("manifest", sa.JSON(), nullable=False),
        sa.Column("log", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_model_packages_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_packages")),
        sa.UniqueConstraint(
            "workspace_id",
            "name",
            "version",
            name=op.f("uq_model_packages_workspace_id_name_version"),
        ),
    )
    op.create_table(
        "model_package_files",
        sa.Column("package_id", sa.String(length=32), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["model_packages.id"],
            name=op.f("fk_model_package_files_package_id_model_packages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("package_id", "path", name=op.f("pk_model_package_files")),
    )
    with op.batch_alter_table("model_package_files", schema=None) as batch_op:
        batch_op.create_index("ix_model_package_files_digest", ["digest"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("model_package_files", schema=None) as batch_op:
        batch_op.drop_index("ix_model_package_files_digest")
    op.drop_table("model_package_files")
    op.drop_table("model_packages")
