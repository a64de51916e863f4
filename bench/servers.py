"""The servers the server benchmarks start, shared by bench_server.py,
bench_reliability_server.py and bench_scale.py: the Atelier server (``atelier server
init`` + ``start`` in a subprocess) and ``mlflow server``, each on a free loopback port
over SQLite or a PostgreSQL database of its own, stopped when the benchmark is done."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

#: where the benchmarks create their PostgreSQL databases (the tests' variable)
POSTGRES_ADMIN_URL = os.environ.get(
    "ATELIER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server at {url} did not start:\n{log.read_text()[-3000:]}")


def launch(
    command: list[str], env: dict[str, str], ready: str, log: Path
) -> subprocess.Popen[bytes]:
    """Start ``command`` (output appended to ``log``) and wait until ``ready`` answers 200."""
    with log.open("ab") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    wait_ready(ready, process, log)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def running(command: list[str], env: dict[str, str], ready: str, log: Path) -> Iterator[None]:
    process = launch(command, env, ready, log)
    try:
        yield
    finally:
        stop(process)


def atelier_environment(home: Path, database_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATELIER_")}
    env["ATELIER_HOME"] = str(home)
    if database_url:
        env["ATELIER_DATABASE_URL"] = database_url
    return env


def atelier_init(env: dict[str, str]) -> str:
    """``atelier server init`` with an admin; the admin's token."""
    command = [sys.executable, "-m", "atelier.cli.main", "server", "init", "--admin", "admin"]
    done = subprocess.run(
        [*command, "-o", "json"], capture_output=True, text=True, env=env, check=True
    )
    return str(json.loads(done.stdout)["token"])


def atelier_start(
    env: dict[str, str], port: int, log: Path, workers: int = 1
) -> subprocess.Popen[bytes]:
    """``atelier server start`` on ``port``, once it answers ``/readyz``."""
    command = [sys.executable, "-m", "atelier.cli.main", "server", "start"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    return launch(command, env, f"http://127.0.0.1:{port}/readyz", log)


@contextlib.contextmanager
def atelier_server(
    folder: Path, database_url: str | None = None, workers: int = 1
) -> Iterator[tuple[str, str]]:
    """A running Atelier server over a home in ``folder``: its URL and an admin token."""
    folder.mkdir(parents=True, exist_ok=True)
    env = atelier_environment(folder / "atelier", database_url)
    token = atelier_init(env)
    port = free_port()
    process = atelier_start(env, port, folder / "atelier.log", workers)
    try:
        yield f"http://127.0.0.1:{port}", token
    finally:
        stop(process)


@contextlib.contextmanager
def mlflow_server(folder: Path, backend_uri: str | None = None, workers: int = 1) -> Iterator[str]:
    """``mlflow server`` over ``backend_uri`` (a SQLite file in ``folder`` by default)."""
    folder.mkdir(parents=True, exist_ok=True)
    mlflow = shutil.which("mlflow", path=str(Path(sys.executable).parent)) or "mlflow"
    port = free_port()
    command = [
        mlflow,
        "server",
        "--backend-store-uri",
        backend_uri or f"sqlite:///{folder / 'mlflow.db'}",
        "--default-artifact-root",
        str(folder / "mlruns"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    with running(command, env, f"{url}/health", folder / "mlflow.log"):
        yield url


@contextlib.contextmanager
def postgres_database(prefix: str) -> Iterator[str]:
    """A new empty PostgreSQL database (dropped after); its URL."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
