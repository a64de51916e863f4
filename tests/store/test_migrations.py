from __future__ import annotations

from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from atelier import StoreError
from atelier.store.database import _MIGRATIONS_DIR, HEAD_REVISION, Database
from atelier.store.models import Base


def test_head_revision_constant_matches_alembic() -> None:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


def _db(database: str, tmp_path: Path, request: pytest.FixtureRequest) -> Database:
    if database == "postgresql":
        return Database(request.getfixturevalue("private_postgres_url"))
    return Database(f"sqlite:///{tmp_path / 'm.db'}")


def test_schema_is_created_at_head_with_every_table(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    db = _db(database, tmp_path, request)
    db.ensure_schema()
    assert db.current_revision() == HEAD_REVISION
    tables = set(inspect(db.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    db.dispose()


def test_downgrade_and_upgrade_round_trip(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    db = _db(database, tmp_path, request)
    db.ensure_schema()
    from alembic import command

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS_DIR))
    config.attributes["engine"] = db.engine
    command.downgrade(config, "base")
    assert "runs" not in inspect(db.engine).get_table_names()
    command.upgrade(config, "head")
    assert "runs" in inspect(db.engine).get_table_names()
    db.dispose()


def test_sqlite_uses_write_ahead_logging(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'w.db'}")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    db.dispose()


def test_unreachable_database_is_a_store_error() -> None:
    db = Database("postgresql://nobody@127.0.0.1:1/none?connect_timeout=1")
    with pytest.raises(StoreError, match="cannot reach the database"):
        db.ensure_schema()


def test_migrations_at_head_match_the_models(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Autogenerate finds nothing to add: every table, column, index and constraint of the
    models is in the migrations, and the migrations hold nothing the models lack."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    db = _db(database, tmp_path, request)
    db.ensure_schema()
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    db.dispose()
    assert diff == []


def test_a_database_that_answers_with_an_error_is_not_called_unreachable(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(b"this is no SQLite database" * 200)
    db = Database(f"sqlite:///{damaged}")
    with pytest.raises(StoreError, match="answered with an error") as raised:
        db.current_revision()
    assert "cannot reach" not in raised.value.message
    assert "not a database" in raised.value.message
    db.dispose()
    (tmp_path / "folder.db").mkdir()  # a path SQLite cannot open: nothing answered
    unopenable = Database(f"sqlite:///{tmp_path / 'folder.db'}")
    with pytest.raises(StoreError, match="cannot open the database file"):
        unopenable.current_revision()
    unopenable.dispose()
