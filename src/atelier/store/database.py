"""The database handle: one engine per URL, transactional sessions, schema at head.

SQLite (embedded) and PostgreSQL (shared servers) differ only here and in ``dialect.py``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from atelier.core.errors import AtelierError, StoreError
from atelier.core.paths import PRIVATE_FILE, private_file

#: The newest migration; ``tests/store`` checks it equals Alembic's head.
HEAD_REVISION = "0023"

_MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def normalize_url(url: str) -> str:
    """Pick the drivers we ship for: psycopg 3 for PostgreSQL, the stdlib for SQLite."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets a run's script write metrics while others read; NORMAL is durable across
    # process crashes (only an OS crash can lose the last transactions).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


#: SQLite files this process has opened: no other code of this process may open and close
#: them (closing any descriptor of a file drops the process's POSIX locks on it)
_OPENED_HERE: set[str] = set()


def opened_in_this_process(path: Path) -> bool:
    """Whether a ``Database`` of this process has opened the SQLite file ``path``."""
    return str(Path(path).resolve()) in _OPENED_HERE


def _private_database(path: Path) -> None:
    """The SQLite file as 0600 in a 0700 folder, before SQLite opens it: SQLite gives the
    -wal and -shm files the database file's mode. Those of an older home are narrowed.

    An existing database file is never opened here: closing any descriptor of a file
    drops every POSIX lock this process holds on it, and SQLite's connections in this
    process (a server's, beside its scheduler's) rely on those locks ("disk I/O error")."""
    if path.exists():
        with contextlib.suppress(OSError):  # another user's: left as it is
            if path.stat().st_uid == os.getuid():
                path.chmod(PRIVATE_FILE)
    else:
        private_file(path)
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(OSError):  # absent, or another user's: left as it is
            path.with_name(path.name + suffix).chmod(PRIVATE_FILE)


#: connections a PostgreSQL pool keeps open when its owner does not size it
DEFAULT_POOL_SIZE = 5
#: connections beyond the pool's size it may open for a moment (closed as they come back)
POOL_OVERFLOW = 4


class Database:
    """An engine, a session factory and the migration check for one database URL.

    On PostgreSQL the engine keeps up to ``pool_size`` connections open for reuse: a server
    sizes it to its worker's threads, so every thread that needs a connection finds one
    already open (opening one costs PostgreSQL a process and milliseconds of CPU)."""

    def __init__(self, url: str, pool_size: int | None = None) -> None:
        self.url = normalize_url(url)
        #: connections this handle has opened, ever (``pool_status``)
        self.connections_opened = 0
        parsed = make_url(self.url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        try:
            if self.is_sqlite:
                database = parsed.database or ""
                if database and database != ":memory:":
                    _private_database(Path(database))
                    _OPENED_HERE.add(str(Path(database).resolve()))
                self.engine: Engine = create_engine(
                    self.url, connect_args={"timeout": 30, "check_same_thread": False}
                )
                event.listen(self.engine, "connect", _sqlite_pragmas)
            else:
                self.engine = create_engine(
                    self.url,
                    pool_pre_ping=True,
                    pool_size=max(1, pool_size or DEFAULT_POOL_SIZE),
                    max_overflow=POOL_OVERFLOW,
                )
        except ModuleNotFoundError as exc:
            raise StoreError(
                f"no driver for {parsed.get_backend_name()}: pip install 'atelier-ml[postgres]'"
            ) from exc
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._schema_ready = False
        self._lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._disposed = False
        # Once disposed, a connection is closed as it comes back instead of pooled: one
        # another thread held through the dispose, or one a late caller opened after it,
        # would otherwise stay open in a pool nobody disposes again.
        event.listen(self.engine, "checkin", self._close_after_dispose)
        event.listen(self.engine, "connect", self._count_connection)

    def _count_connection(self, _dbapi_connection: Any, _record: Any) -> None:
        with self._count_lock:
            self.connections_opened += 1

    def pool_status(self) -> dict[str, int]:
        """The pool's use: ``size`` (connections it keeps), ``checked_out`` (in use now),
        ``overflow`` (open beyond ``size`` now) and ``opened`` (connections opened ever)."""
        pool = self.engine.pool
        size = int(getattr(pool, "size", lambda: 0)())
        checked_out = int(getattr(pool, "checkedout", lambda: 0)())
        overflow = max(0, int(getattr(pool, "overflow", lambda: 0)()))
        return {
            "size": size,
            "checked_out": checked_out,
            "overflow": overflow,
            "opened": self.connections_opened,
        }

    def _close_after_dispose(self, dbapi_connection: Any, record: Any) -> None:
        if self._disposed and dbapi_connection is not None:
            record.invalidate()

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed on success, rolled back on any error."""
        self.ensure_schema()
        session = self._sessions()
        try:
            yield session
            session.commit()
        except AtelierError:
            session.rollback()
            raise
        except SQLAlchemyError as exc:
            session.rollback()
            raise StoreError(
                f"database error on {self.safe_url}: {exc.__class__.__name__}: "
                f"{str(exc).splitlines()[0]}"
            ) from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @property
    def safe_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    def current_revision(self) -> str | None:
        """The schema's revision (None for an empty database). ``StoreError`` says "cannot
        reach" only when no connection could be made; a database that answers with an error
        (a damaged or foreign SQLite file, missing rights) says so instead."""
        connected = False
        try:
            with self.engine.connect() as conn:
                connected = True
                if not inspect(conn).has_table("alembic_version"):
                    return None
                return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except SQLAlchemyError as exc:
            reason = _first_line(exc)
            # a driver's OperationalError while connecting: no connection was made (a server
            # down or refusing, a SQLite file that cannot be opened); anything else answered
            if not connected and isinstance(exc, OperationalError):
                if self.is_sqlite:
                    raise StoreError(
                        f"cannot open the database file {self.safe_url}: {reason}"
                    ) from exc
                raise StoreError(f"cannot reach the database {self.safe_url}: {reason}") from exc
            raise StoreError(
                f"the database {self.safe_url} answered with an error when its schema was "
                f"read: {reason}; it may be damaged or not an Atelier database"
            ) from exc

    def ensure_schema(self) -> None:
        """Bring the schema to head once per process; cheap when it already is."""
        if self._schema_ready:
            return
        with self._lock:
            if self._schema_ready:
                return
            if self.current_revision() != HEAD_REVISION:
                with self._migration_lock():
                    if self.current_revision() != HEAD_REVISION:
                        self.upgrade()
            self._schema_ready = True

    def upgrade(self, revision: str = "head") -> None:
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS_DIR))
        config.attributes["engine"] = self.engine
        try:
            command.upgrade(config, revision)
        except SQLAlchemyError as exc:
            raise StoreError(f"migrating {self.safe_url} failed: {exc}") from exc

    @contextlib.contextmanager
    def _migration_lock(self) -> Iterator[None]:
        """Only one process migrates at a time: a file lock for SQLite, an advisory lock else."""
        if self.is_sqlite:
            database = make_url(self.url).database or ""
            if not database or database == ":memory:":
                yield
                return
            lock_path = private_file(Path(database).with_suffix(".migrate.lock"))
            with lock_path.open("w") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
            return
        with self.engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(727274)"))
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(727274)"))
                conn.commit()

    def dispose(self) -> None:
        """Close every pooled connection. The database still answers later calls, but
        closes each connection after use."""
        self._disposed = True
        self.engine.dispose()


def _first_line(exc: SQLAlchemyError) -> str:
    """The driver's own message, without SQLAlchemy's statement and background link."""
    original = getattr(exc, "orig", None)
    text_of = str(original if original is not None else exc).strip()
    return text_of.splitlines()[0] if text_of else type(exc).__name__
