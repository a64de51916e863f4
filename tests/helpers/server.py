"""A real workspace server for tests: its database initialized as ``atelier server init``
does (in this process), then ``atelier server start`` in a subprocess on loopback, over a
database of the test's kind."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from atelier.core.settings import Settings
from atelier.server import bootstrap
from tests.helpers import web
from tests.helpers.databases import seed_home


@dataclass(frozen=True)
class RunningServer:
    url: str
    admin_token: str
    home: Path
    database_url: str
    process: subprocess.Popen[bytes]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment(home: Path, database_url: str | None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ATELIER_") or k == "ATELIER_TEST_POSTGRES_URL"
    }
    env["ATELIER_HOME"] = str(home)
    # the object-store emulators of the tests (tests/helpers/object_stores.py) listen on
    # loopback, which a server refuses to connect to unless its administrator allows it
    env["ATELIER_ALLOWED_STORAGE_HOSTS"] = "127.0.0.1"
    if database_url:
        env["ATELIER_DATABASE_URL"] = database_url
    return env


def start_server(
    home: Path,
    database_url: str | None,
    workers: int = 1,
    *,
    initialize: bool = True,
    template: Path | None = None,
) -> RunningServer:
    """Initialize the database with an admin (unless told not to), start the server and
    wait until it is ready. On SQLite, ``template`` (a migrated database, see
    ``tests/helpers/databases.py``) is copied into the home first, so ``server init``
    finds the schema at head instead of running every migration."""
    env = _environment(home, database_url)
    home.mkdir(parents=True, exist_ok=True)
    if template is not None and not database_url:
        seed_home(home, template)
    if not initialize:
        return _launch(home, env, database_url, "", workers)
    # in this process, as ``atelier server init`` would (tests/server/test_app.py runs the
    # command itself): an interpreter and its imports saved on every server start
    token = bootstrap.initialize(Settings(home=home, database_url=database_url), "admin").secret
    return _launch(home, env, database_url, token, workers)


def _launch(
    home: Path, env: dict[str, str], database_url: str | None, token: str, workers: int
) -> RunningServer:
    port = free_port()
    with (home / "server.log").open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "atelier.cli.main",
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if web.get(f"{url}/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            # stopped and reaped here: a Popen left running is reported (ResourceWarning)
            # in whichever later test of this process collects it
            stop_server(RunningServer(url, token, home, database_url or "", process))
            raise RuntimeError((home / "server.log").read_text())
        time.sleep(0.1)
    return RunningServer(url, token, home, database_url or "", process)


def serve(app: FastAPI, lifespan: str = "off", http: Any = "auto") -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread of this process on a free loopback port until
    the generator ends (``lifespan="on"`` runs the app's lifespan: its thread count, its
    reaper; ``http`` is uvicorn's protocol class); the app's database is disposed after."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan=lifespan, http=http
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.database.dispose()


def stop_server(server: RunningServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
