"""A worker's PostgreSQL connections are pooled: requests reuse them instead of opening a
connection each (opening one costs PostgreSQL a process and milliseconds of CPU)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from atelier.server.app import create_app
from atelier.server.config import ServerSettings
from atelier.services import users
from tests.helpers import web
from tests.helpers.server import serve

THREADS = 8


class _Crowd:
    """Holds each checkout of a worker thread while armed until ``THREADS`` connections
    are out at once, so every round of requests needs that many connections together."""

    def __init__(self) -> None:
        self.opened = 0
        self.out = 0
        self.peak = 0
        self.armed = False
        self.condition = threading.Condition()

    def connect(self, *_: Any) -> None:
        with self.condition:
            self.opened += 1

    def checkout(self, *_: Any) -> None:
        with self.condition:
            self.out += 1
            self.peak = max(self.peak, self.out)
            if not threading.current_thread().name.startswith("AnyIO worker"):
                return  # the event loop's own reads (the token check) must not wait
            if self.out >= THREADS:
                self.armed = False
            self.condition.notify_all()
            self.condition.wait_for(lambda: not self.armed, timeout=10)

    def checkin(self, *_: Any) -> None:
        with self.condition:
            self.out -= 1


def test_concurrent_requests_reuse_the_pools_connections(
    tmp_path: Path, private_postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATELIER_REAPER_SECONDS", "0")
    settings = ServerSettings(
        home=tmp_path, database_url=private_postgres_url, server_threads=THREADS
    )
    app = create_app(settings)
    with app.state.database.session() as session:
        users.create_user(session, "pooled", is_admin=True)
        token = users.create_token(session, "pooled", "pool test").secret
    crowd = _Crowd()
    opened_before = app.state.database.connections_opened
    engine = app.state.database.engine
    for name in ("connect", "checkout", "checkin"):
        event.listen(engine, name, getattr(crowd, name))
    headers = {"Authorization": f"Bearer {token}"}
    for url in serve(app, lifespan="on"):
        with web.Client(base_url=url, timeout=30) as client, ThreadPoolExecutor(THREADS) as pool:
            for _round in range(3):
                crowd.armed = True
                answers = list(
                    pool.map(
                        lambda _: client.get("/api/v1/workspaces", headers=headers), range(THREADS)
                    )
                )
                assert [a.status_code for a in answers] == [200] * THREADS
            metrics = client.get("/metrics").text
    # every round needed THREADS connections at once: the pool opened them once
    assert crowd.peak >= THREADS
    assert opened_before + crowd.opened <= THREADS + 1, crowd.opened
    assert f"atelier_db_pool_size {float(THREADS + 1)}" in metrics
    assert "atelier_db_pool_checked_out 0.0" in metrics
    assert f"atelier_db_connections_opened_total {float(opened_before + crowd.opened)}" in metrics


@pytest.mark.parametrize("value", ["0", "many"])
def test_server_threads_must_be_a_positive_number(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATELIER_SERVER_THREADS", value)
    with pytest.raises(ValueError, match="ATELIER_SERVER_THREADS"):
        ServerSettings()
