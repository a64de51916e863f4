"""A disposed Database leaves no connection open behind it (CI failed on a psycopg
connection that was garbage-collected while still open)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy

from atelier.store.database import Database


def test_a_connection_held_through_dispose_is_closed_when_given_back(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'd.db'}")
    held = database.engine.connect()
    raw = held.connection.dbapi_connection
    assert raw is not None
    database.dispose()
    raw.execute("SELECT 1")  # still the holder's until it gives it back
    held.close()
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        raw.execute("SELECT 1")


def test_a_disposed_database_still_answers_and_keeps_nothing_open(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'd.db'}")
    database.dispose()
    with database.engine.connect() as connection:
        assert connection.execute(sqlalchemy.text("SELECT 1")).scalar() == 1
        raw = connection.connection.dbapi_connection
    assert raw is not None
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        raw.execute("SELECT 1")
    assert database.current_revision() is None  # an empty file: no schema yet


def test_before_dispose_connections_are_pooled(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'd.db'}")
    with database.engine.connect() as connection:
        raw = connection.connection.dbapi_connection
    assert raw is not None
    assert raw.execute("SELECT 1").fetchone() == (1,)
    database.dispose()
