"""Shared fixtures: every workspace test runs on SQLite and on the machine's PostgreSQL."""

from __future__ import annotations

import contextlib
import fnmatch
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from atelier import Workspace
from atelier.client.registry import reset_backends
from atelier.execution.agent import SOCKET_VARIABLE
from tests.helpers.databases import AGENT_IDLE_SECONDS, migrated_sqlite, seed_home
from tests.helpers.leftover_runs import closed_at_end

POSTGRES_ADMIN_URL = os.environ.get(
    "ATELIER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() == "true"


def _missing(component: str, reason: str) -> None:
    """Skip with a visible reason on a user's machine; fail in CI, which must run everything."""
    message = f"{component} unavailable: {reason}"
    if IN_CI:
        pytest.fail(message + " (CI=true: every variant must run)")
    pytest.skip(message)


#: the temporary folders of a test session go to this memory file system when it has room
MEMORY_TEMPROOT = Path("/dev/shm")
#: the room it must have (a session writes about 1.5 GB under its temporary folders)
MEMORY_TEMPROOT_MIN_FREE = 8 * 1024**3


def pytest_configure(config: pytest.Config) -> None:
    """The session's temporary folders (``tmp_path``: every test's home, database, runs and
    packages) on a memory file system when the machine has one with room: a test then
    never waits on the disk for what it throws away (SQLite's syncs, run snapshots, image
    archives). Set ``PYTEST_DEBUG_TEMPROOT`` to choose another place."""
    if "PYTEST_DEBUG_TEMPROOT" in os.environ or hasattr(config, "workerinput"):
        return  # chosen already; xdist's workers take their folders from the controller
    try:
        room = os.statvfs(MEMORY_TEMPROOT)
    except OSError:
        return
    executable = not room.f_flag & (os.ST_NOEXEC | os.ST_RDONLY)  # tests run scripts there
    if executable and room.f_bavail * room.f_frsize >= MEMORY_TEMPROOT_MIN_FREE:
        os.environ["PYTEST_DEBUG_TEMPROOT"] = str(MEMORY_TEMPROOT)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Schedule the files with slow tests first (``_slow_files_first``), and leave out the
    PostgreSQL variants that repeat what another variant already covers:

    - a test marked ``one_database`` exercises something the database kind does not change
      (a journey through processes, a page, a role check): it runs on SQLite only, while
      the store's own tests and every unmarked test still run on both;
    - the SDK contract (``backend`` x ``database``) runs PostgreSQL on the embedded
      backend: the HTTP backend is the same on either database (its server is tested over
      PostgreSQL in tests/server), so three variants cover both axes.
    """
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        on_postgresql = "postgresql" in (params.get("database"), params.get("mlflow_server"))
        repeats = item.get_closest_marker("one_database") or params.get("backend") == "http"
        (dropped if on_postgresql and repeats else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = _slow_files_first(kept)


def _slow_files_first(items: list[pytest.Item]) -> list[pytest.Item]:
    """The Ray files first (one unit of work, see ``RAY_FILES``), then the other files
    holding a test marked ``slow``, each file's tests kept together and in order:
    ``make test`` (xdist ``--dist loadfile --no-loadscope-reorder``) hands files to the
    workers in this order, so a heavy file left for last no longer runs alone on one
    worker while the other has finished."""
    slow = {_file_of(item) for item in items if item.get_closest_marker("slow")}
    for item in items:
        if "ray_head" in getattr(item, "fixturenames", ()) and not _is_ray_file(_file_of(item)):
            raise pytest.UsageError(
                f"{item.nodeid} uses the Ray head but its file is not named like "
                f"{RAY_FILES}: rename it so that make test runs it with the other Ray files"
            )
    return sorted(
        items, key=lambda item: (not _is_ray_file(_file_of(item)), _file_of(item) not in slow)
    )


def _file_of(item: pytest.Item) -> str:
    """The file part of a test's id, the unit xdist's ``loadfile`` distributes."""
    return item.nodeid.split("::", 1)[0]


#: the files whose tests use the session's Ray head (fixture ``ray_head``): xdist's
#: ``loadfile`` hands them to one worker as one unit, so the suite starts one Ray head
#: (about 10 s of CPU, and a few more each minute while it runs), which stops once the
#: worker moves on to other files (tests/execution/conftest.py)
RAY_FILES = "tests/execution/test_*ray*.py"


def _is_ray_file(path: str) -> bool:
    return fnmatch.fnmatchcase(path, RAY_FILES)


@pytest.hookimpl(optionalhook=True)  # an xdist hook: pytest -p no:xdist still runs
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """With ``--dist loadfile``: xdist's file scheduling, the Ray files counted as one."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class RayFilesTogether(LoadFileScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            path = super()._split_scope(nodeid)
            return RAY_FILES if _is_ray_file(path) else path

    return RayFilesTogether(config, log)


def _create_postgres_database(prefix: str) -> str:
    """A new empty database on the local PostgreSQL; its URL."""
    try:
        import psycopg
    except ImportError as exc:
        _missing("PostgreSQL driver", str(exc))
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
            # a commit returns before its log reaches the disk: a test's database outlives
            # no crash of PostgreSQL itself, and the tests then never wait for the disk
            conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    except psycopg.OperationalError as exc:
        _missing("PostgreSQL", str(exc).strip().splitlines()[0])
    return f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}"


def _drop_postgres_database(url: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


@pytest.fixture(scope="session", autouse=True)
def _private_default_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests that take no ``home`` still never write to the user's real ~/.atelier (the
    tabular read cache, the secret key): the default home is a folder of this session."""
    before = os.environ.get("ATELIER_HOME")
    os.environ["ATELIER_HOME"] = str(tmp_path_factory.mktemp("default-home"))
    yield
    if before is None:
        os.environ.pop("ATELIER_HOME", None)
    else:
        os.environ["ATELIER_HOME"] = before


#: endpoint health checks for tests: a round every 0.5 s, 1.5 s to answer (2 s and 2 s by
#: default), so a frozen replica is replaced after about 6 s instead of 12; the serving
#: tests that wait on it derive their waits from these (``tests/helpers/scoring.py``)
ENDPOINT_HEALTH = {
    "ATELIER_ENDPOINT_HEALTH_SECONDS": "0.5",
    "ATELIER_ENDPOINT_HEALTH_TIMEOUT_SECONDS": "1.5",
}


@pytest.fixture(scope="session", autouse=True)
def _quick_endpoint_health() -> Iterator[None]:
    """Every endpoint a test starts (its manager inherits this environment) checks its
    replicas' health at the periods of ``ENDPOINT_HEALTH``."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in ENDPOINT_HEALTH.items():
            patch.setenv(name, value)
        yield


@pytest.fixture(scope="session", autouse=True)
def _one_supervisor_agent() -> Iterator[None]:
    """One warm supervisor agent per test process for every test's home
    (``ATELIER_AGENT_SOCKET``): the first submission of each home otherwise starts an agent
    and a supervisor as fresh interpreters. The per-home agent keeps its own tests
    (tests/execution/test_agent.py, test_reaper.py and the journeys in tests/e2e)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    path = Path(tempfile.gettempdir()) / f"atelier-agent-tests-{worker}-{uuid.uuid4().hex[:8]}.sock"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SOCKET_VARIABLE, str(path))
        yield
    _stop_agent(path)


def _stop_agent(path: Path) -> None:
    """Stop the agent listening on ``path``, if one does (its pid is the socket peer's)."""
    import signal
    import socket
    import struct

    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(2)
            client.connect(str(path))
            credentials = client.getsockopt(
                socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")
            )
            client.sendall(b'{"ping": true}\n')  # a request it answers without launching
            client.recv(16)
    except OSError:
        return  # none is running
    pid = struct.unpack("3i", credentials)[0]
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


@pytest.fixture
def per_home_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    """This test's submissions go to its home's own agent, as a user's do."""
    monkeypatch.delenv(SOCKET_VARIABLE, raising=False)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh database on the local PostgreSQL for this test session, dropped after."""
    url = _create_postgres_database("atelier_test")
    yield url
    reset_backends()
    _drop_postgres_database(url)


@pytest.fixture
def private_postgres_url() -> Iterator[str]:
    """A database of this test's own, for tests that drop or rebuild the whole schema
    (the session database also holds the shared test server's users and tokens)."""
    url = _create_postgres_database("atelier_private")
    yield url
    _drop_postgres_database(url)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite metadata database at the schema's head, copied into new homes."""
    return migrated_sqlite(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> str:
    """The database kind of this test variant."""
    return str(request.param)


@pytest.fixture
def home(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[Path]:
    """An ``ATELIER_HOME`` for one test; with PostgreSQL its metadata goes to the session DB."""
    folder = tmp_path / "atelier-home"
    monkeypatch.setenv("ATELIER_HOME", str(folder))
    monkeypatch.delenv("ATELIER_BLOB_URL", raising=False)
    monkeypatch.delenv("ATELIER_RUN_ID", raising=False)
    monkeypatch.setenv("ATELIER_AGENT_IDLE_SECONDS", AGENT_IDLE_SECONDS)
    if database == "postgresql":
        monkeypatch.setenv("ATELIER_DATABASE_URL", request.getfixturevalue("postgres_url"))
    else:
        monkeypatch.delenv("ATELIER_DATABASE_URL", raising=False)
        seed_home(folder, request.getfixturevalue("sqlite_template"))
    reset_backends()
    with closed_at_end():
        yield folder
    reset_backends()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def ws(home: Path) -> Workspace:
    """A new workspace with a unique name."""
    return Workspace.create(unique("ws"))


@pytest.fixture(scope="session")
def _servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One running workspace server per database kind, started on first use."""
    from tests.helpers.server import stop_server

    started: dict[str, Any] = {}
    yield started
    for server in started.values():
        stop_server(server)


@pytest.fixture
def server(
    database: str,
    _servers: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Any:
    """A real ``atelier server`` subprocess on loopback over this variant's database,
    shared by the whole session (``.url``, ``.admin_token``)."""
    from tests.helpers.server import start_server

    if database not in _servers:
        home = tmp_path_factory.mktemp(f"server-{database}")
        if database == "postgresql":
            _servers[database] = start_server(home, request.getfixturevalue("postgres_url"))
        else:
            template = request.getfixturevalue("sqlite_template")
            _servers[database] = start_server(home, None, template=template)
    return _servers[database]
