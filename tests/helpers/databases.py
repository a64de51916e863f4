"""An empty SQLite metadata database already at the schema's head, made once per test
process and copied into each test's home: a new home otherwise runs every migration on
its first use, which costs more than most tests themselves.

Running the migrations on a fresh home stays covered: tests/store/test_migrations.py
runs them, and the journeys in tests/e2e start from empty homes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from atelier.store.database import Database

#: how long an agent started by a test waits for another run before it exits: the shared
#: one lives through the gaps between the tests that submit runs (an agent started again
#: costs an interpreter and its imports) and is stopped when the session ends; a test's
#: own agent (``per_home_agent``) leaves on its own a minute after its test
AGENT_IDLE_SECONDS = "60"

#: the file name ``Settings.resolved_database_url`` gives the metadata database in a home
DATABASE_FILE = "atelier.db"


def migrated_sqlite(folder: Path) -> Path:
    """Create ``folder/atelier.db`` at the schema's head, closed (no WAL left); its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / DATABASE_FILE
    database = Database(f"sqlite:///{path}")
    try:
        database.ensure_schema()
    finally:
        database.dispose()
    return path


def seed_home(home: Path, template: Path) -> None:
    """Give ``home`` a copy of the migrated database, unless it already has one."""
    home.mkdir(parents=True, exist_ok=True)
    target = home / DATABASE_FILE
    if not target.exists():
        shutil.copyfile(template, target)
