"""The router's pool of connections to a replica, against a real socket server."""

from __future__ import annotations

import asyncio
import socket
import struct

import pytest

from atelier.serving.upstream import Upstream, UpstreamError

pytestmark = pytest.mark.anyio


@pytest.fixture(params=[False, True], ids=["asyncio", "uvloop"])
def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, bool]]:
    """Both event loops: uvloop (the router's) raises where asyncio's does not."""
    return "asyncio", {"use_uvloop": request.param}


ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]"


class _Replica:
    """Answers one request per connection, then keeps the connection open, idle."""

    def __init__(self) -> None:
        self.connections: list[asyncio.StreamWriter] = []

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections.append(writer)
        await reader.readuntil(b"\r\n\r\n")
        writer.write(ANSWER)
        await writer.drain()


async def test_pooled_connections_to_a_replica_that_died_give_an_upstream_error() -> None:
    replica = _Replica()
    server = await asyncio.start_server(replica, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    upstream = Upstream("127.0.0.1", port, "key", timeout=5)
    # several requests at once leave several idle connections in the pool
    answers = await asyncio.gather(*(upstream.request("GET", "/healthz") for _ in range(4)))
    assert [answer.status for answer in answers] == [200] * 4
    server.close()  # the replica is killed: its connections are reset, not closed politely
    for connection in replica.connections:
        sock = connection.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()
    await server.wait_closed()
    await asyncio.sleep(0.1)
    # every pooled connection is dead and nothing listens: a clear UpstreamError (the router
    # turns it into a 502 that says to retry), never an unexpected error (a 500)
    with pytest.raises(UpstreamError):
        await upstream.request("POST", "/score", b"{}")
    await upstream.aclose()
