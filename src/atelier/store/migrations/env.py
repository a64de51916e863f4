"""Alembic environment: runs migrations on the engine that ``Database.upgrade`` passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from atelier.store.database import normalize_url
from atelier.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        engine = create_engine(normalize_url(config.get_main_option("sqlalchemy.url") or ""))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
