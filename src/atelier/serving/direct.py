"""A replica's side of :mod:`atelier.serving.handoff`: adopting client connections.

The replica runs uvicorn on its internal port (the router's proxied requests, health
probes). Connections the router hands over are attached to the same uvicorn server with a
subclass of its httptools protocol that marks their requests as *direct* (the scoring
app then checks the endpoint's keys itself) and, once the replica is draining, returns
each connection to the router as soon as a response on it is complete.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from typing import TYPE_CHECKING, Any, Protocol

from atelier.serving.handoff import (
    ADOPT,
    DRAIN,
    DRAINED,
    RETURN,
    SETTINGS,
    Message,
    receive,
    send,
)

if TYPE_CHECKING:
    import uvicorn

__all__ = ["DIRECT_SCOPE_KEY", "DirectConnections", "server_protocol"]

logger = logging.getLogger("atelier.serving")

#: set (True) in the ASGI scope of a request that came on a handed-over connection
DIRECT_SCOPE_KEY = "atelier.direct"


class DirectSettingsTarget(Protocol):
    """What the channel's SETTINGS message goes to (the scoring app, which also imports
    this module, so it is named by what it does rather than imported)."""

    def configure_direct(self, settings: dict[str, Any]) -> None: ...


def server_protocol(server: uvicorn.Server, cls: type[Any] | None = None) -> asyncio.Protocol:
    """A protocol instance for one more connection of a started uvicorn ``server`` (its
    own HTTP protocol class, or ``cls``), as uvicorn makes for the connections it accepts."""
    config = server.config
    factory: type[Any] = cls or config.http_protocol_class
    protocol: asyncio.Protocol = factory(
        config=config, server_state=server.server_state, app_state=server.lifespan.state
    )
    return protocol


def _protocol_class(base: type[Any]) -> type[Any]:
    """uvicorn's httptools protocol, extended for handed-over connections."""

    class DirectProtocol(base):  # type: ignore[misc]
        direct: DirectConnections
        receiving = False

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self.receiving = True
            self.scope[DIRECT_SCOPE_KEY] = True

        def on_headers_complete(self) -> None:
            self.receiving = False
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if self.direct.returning:
                self.direct.response_complete(self)

        def idle(self) -> bool:
            cycle = self.cycle
            return (
                not self.receiving
                and not self.pipeline
                and (cycle is None or cycle.response_complete)
                and not self.transport.is_closing()
            )

        def connection_lost(self, exc: Exception | None) -> None:
            super().connection_lost(exc)
            self.direct.forget(self)

    return DirectProtocol


class DirectConnections:
    """Reads the router's channel and serves the connections it hands over."""

    def __init__(
        self, channel: socket.socket, server: uvicorn.Server, app: DirectSettingsTarget
    ) -> None:
        self.channel = channel
        self.server = server
        self.app = app
        self.protocols: set[Any] = set()
        #: connections to give back when idle (the router asked with DRAIN)
        self.returning: set[Any] = set()
        self._asked_to_drain = False
        self._protocol_class: type[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._messages: asyncio.Queue[Message] = asyncio.Queue()
        self._consumer: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin reading the channel (call once uvicorn's server has started)."""
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        base = self.server.config.http_protocol_class
        if not (isinstance(base, type) and issubclass(base, HttpToolsProtocol)):
            raise TypeError("handed-over connections need uvicorn's httptools protocol")
        self._protocol_class = _protocol_class(base)
        self.channel.setblocking(False)
        self._loop = asyncio.get_running_loop()
        self._consumer = self._loop.create_task(self._consume())
        self._loop.add_reader(self.channel.fileno(), self._on_channel)

    def _new_protocol(self) -> asyncio.Protocol:
        assert self._protocol_class is not None
        protocol: Any = server_protocol(self.server, self._protocol_class)
        protocol.direct = self
        self.protocols.add(protocol)
        return protocol  # type: ignore[no-any-return]

    def _on_channel(self) -> None:
        assert self._loop is not None
        messages, closed = receive(self.channel)
        for message in messages:
            if message.op == SETTINGS:  # at once: a key change applies to the next request
                self.app.configure_direct(json.loads(message.payload))
            else:
                self._messages.put_nowait(message)
        if closed:  # the router is gone; the parent watch ends this process
            self._loop.remove_reader(self.channel.fileno())

    async def _consume(self) -> None:
        """Messages in their order: a DRAIN covers every connection adopted before it."""
        assert self._loop is not None
        while True:
            message = await self._messages.get()
            if message.op == ADOPT and message.connection is not None:
                connection = message.connection
                connection.setblocking(False)
                try:
                    await self._loop.connect_accepted_socket(self._new_protocol, connection)
                except OSError as exc:  # the client went away meanwhile
                    logger.debug("a handed-over connection could not be adopted: %r", exc)
                    connection.close()
            elif message.op == DRAIN:
                self.drain()

    def drain(self) -> None:
        """Give back every connection held now: idle ones at once, busy ones as soon as
        their response is complete; then say DRAINED."""
        self._asked_to_drain = True
        self.returning = set(self.protocols)
        for protocol in list(self.returning):
            if protocol.idle():
                self.give_back(protocol)
        self._maybe_drained()

    def response_complete(self, protocol: Any) -> None:
        if protocol in self.returning:
            self.give_back(protocol)

    def give_back(self, protocol: Any) -> None:
        """Return ``protocol``'s connection to the router (it is idle: nothing of a next
        request has been read) and let go of it here without closing the socket."""
        if not protocol.idle():
            return
        transport = protocol.transport
        raw = transport.get_extra_info("socket")
        if raw is None or not send(self.channel, RETURN, fd=raw.fileno()):
            return  # keep serving it; uvicorn's shutdown closes it at the end
        transport.pause_reading()
        # Closes our descriptor only (the router holds its own copy), after writing what
        # is left of the response: the client sends nothing more before it has all of it.
        transport.close()

    def forget(self, protocol: Any) -> None:
        self.protocols.discard(protocol)
        self.returning.discard(protocol)
        self._maybe_drained()

    def _maybe_drained(self) -> None:
        if self._asked_to_drain and not self.returning:
            self._asked_to_drain = False
            send(self.channel, DRAINED)

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.cancel()
        if self._loop is not None:
            with contextlib.suppress(ValueError, OSError):
                self._loop.remove_reader(self.channel.fileno())
        self.channel.close()
