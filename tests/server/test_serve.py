"""How the server listens: TCP_NODELAY on each accepted connection, several workers."""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from atelier.server.serve import NoDelayHttpToolsProtocol, uvicorn_options
from tests.helpers import web
from tests.helpers.server import free_port, serve, start_server, stop_server


def test_each_accepted_connection_gets_tcp_nodelay(tmp_path: Path) -> None:
    """uvicorn with our protocol, in this process: read the option off the live sockets."""
    import uvicorn

    from atelier.core.settings import Settings
    from atelier.server.app import create_app

    port = free_port()
    config = uvicorn.Config(
        create_app(Settings(home=tmp_path)),
        host="127.0.0.1",
        port=port,
        http=NoDelayHttpToolsProtocol,
        loop="uvloop",
        log_level="warning",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        with (
            web.Client(base_url=f"http://127.0.0.1:{port}") as first,
            web.Client(base_url=f"http://127.0.0.1:{port}") as second,
        ):
            for _ in range(100):
                try:
                    first.get("/healthz")
                    break
                except httpx.ConnectError:
                    time.sleep(0.05)
            second.get("/healthz")
            connections = list(server.server_state.connections)
            flags = [
                c.transport.get_extra_info("socket").getsockopt(
                    socket.IPPROTO_TCP, socket.TCP_NODELAY
                )
                for c in connections
            ]
        assert len(flags) == 2
        assert all(flag != 0 for flag in flags)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    options = uvicorn_options("127.0.0.1", 8642, 4)
    assert options["http"] == "atelier.server.serve:NoDelayHttpToolsProtocol"
    assert (options["loop"], options["workers"], options["factory"]) == ("uvloop", 4, True)
    # uvicorn takes every option as it is named here, and a worker that is still starting
    # on a busy machine is not killed as hung after uvicorn's default 5 s
    import uvicorn

    config = uvicorn.Config("atelier.server.serve:app_from_environment", **options)
    assert config.timeout_worker_healthcheck >= 30
    # a pooled client connection idle for longer than uvicorn's default 5 s stays usable
    assert config.timeout_keep_alive >= 60


def _healthz_answered(metrics: str) -> float:
    """How many ``/healthz`` requests the worker that served this ``/metrics`` answered
    (each worker keeps its own counters)."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("atelier_http_requests_total{") and 'route="/healthz"' in line
    )


@pytest.mark.slow  # starts a server with several worker processes
def test_several_workers_serve_one_port(tmp_path: Path, sqlite_template: Path) -> None:
    """Requests on new connections are answered by more than one process: a worker whose
    counters miss some of the ``/healthz`` answers proves that another worker gave them."""
    server = start_server(tmp_path / "home", None, workers=2, template=sqlite_template)
    total = 40
    # ready means one worker serves; the other may still be importing on a busy machine,
    # and the first would then accept every connection: wait until both have started
    log = tmp_path / "home" / "server.log"
    deadline = time.monotonic() + 60
    while log.read_text().count("Application startup complete") < 2:
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)

    def healthz(_: int) -> int:  # a new connection each time, so any worker may accept it
        return web.get(f"{server.url}/healthz", timeout=30).status_code

    def answered(_: int) -> float:
        return _healthz_answered(web.get(f"{server.url}/metrics", timeout=30).text)

    try:
        with ThreadPoolExecutor(8) as pool:
            assert list(pool.map(healthz, range(total))) == [200] * total
            seen: set[float] = set()
            for _ in range(10):
                seen.update(pool.map(answered, range(16)))
                if min(seen) < total:
                    break
        with web.Client(base_url=server.url) as client:
            headers = {"Authorization": f"Bearer {server.admin_token}"}
            me = client.get("/api/v1/whoami", headers=headers).json()
    finally:
        stop_server(server)
    assert min(seen) < total, f"one worker answered all {total} requests: {sorted(seen)}"
    if len(seen) == 2:  # both workers answered /metrics: between them, every /healthz
        assert sum(seen) == total, sorted(seen)
    assert me["name"] == "admin"


def test_the_protocol_turns_nagle_off_even_where_the_loop_did_not(tmp_path: Path) -> None:
    """asyncio and uvloop already set TCP_NODELAY; our protocol must not depend on it."""
    import asyncio

    import uvicorn
    from uvicorn.server import ServerState

    from atelier.core.settings import Settings
    from atelier.server.app import create_app

    config = uvicorn.Config(create_app(Settings(home=tmp_path)), log_level="warning")
    config.load()

    async def scenario() -> int:
        loop = asyncio.get_running_loop()
        listener = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        transport, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 0)
        protocol = NoDelayHttpToolsProtocol(config=config, server_state=ServerState(), app_state={})
        protocol.connection_made(transport)  # type: ignore[arg-type]
        flag = int(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        transport.close()
        listener.close()
        await listener.wait_closed()
        return flag

    assert asyncio.run(scenario()) != 0


def test_an_old_kept_alive_connection_is_closed_after_its_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Clients spread again over the workers after one restarts: a connection older than
    ``CONNECTION_MAX_SECONDS`` gets a complete answer saying ``Connection: close``."""
    from atelier.core.settings import Settings
    from atelier.server import serve as serving
    from atelier.server.app import create_app

    for url in serve(create_app(Settings(home=tmp_path)), http=NoDelayHttpToolsProtocol):
        with web.Client(base_url=url) as client:
            young = [client.get("/healthz") for _ in range(3)]
            monkeypatch.setattr(serving, "CONNECTION_MAX_SECONDS", 0.0)
            old = client.get("/healthz")
            again = client.get("/healthz")  # on a new connection, answered as well
    assert [a.headers.get("connection") for a in young] == [None] * 3
    assert old.status_code == 200 and old.headers["connection"] == "close"
    assert again.status_code == 200
