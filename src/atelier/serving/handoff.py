"""One hop from client to model: the router hands accepted connections to replicas.

An endpoint's router process owns the public port, but for an endpoint with a single
deployment (no traffic split, no model data collection) it does not proxy requests: it
passes each accepted client connection, as a file descriptor (``SCM_RIGHTS``), to a
ready replica, which then reads and answers that connection's requests itself, keys
included. The router stays out of the data path; only connections it keeps (traffic
splits, data collection, no ready replica) go through its own HTTP stack and proxy.

The channel between the router and a replica is a ``SOCK_SEQPACKET`` socket pair made
when the replica starts; each message is one operation byte, a payload, and at most one
descriptor:

========  ===================  ==================================================
op        direction            meaning
========  ===================  ==================================================
``C``     router → replica     adopt this connection
``K``     router → replica     the endpoint's settings (JSON: key digests, auth,
                               deployment, max body)
``D``     router → replica     drain: return every connection once it is idle
``R``     replica → router     this connection is idle and returned (no byte of a
                               next request has been read from it)
``E``     replica → router     drained: no connection is left here
========  ===================  ==================================================

Returning connections is what makes rollouts lose nothing: a replica that is replaced
gives back each keep-alive connection right after answering on it, and the router hands
it to a new replica. Closing it instead would race with a client that is sending its
next request on it at that moment.

A replica that crashes takes its connections with it (their clients see the connection
reset, as with any single-hop server); the SDK turns that into a clear, retryable error.
"""

from __future__ import annotations

import json
import socket
from typing import Any

__all__ = [
    "ADOPT",
    "DRAIN",
    "DRAINED",
    "RETURN",
    "SETTINGS",
    "Message",
    "channel_pair",
    "receive",
    "send",
    "send_settings",
]

ADOPT = b"C"
SETTINGS = b"K"
DRAIN = b"D"
RETURN = b"R"
DRAINED = b"E"
_MAX_MESSAGE = 64 * 1024


class Message:
    """One received message; ``connection`` is set for ``C`` and ``R``."""

    __slots__ = ("connection", "op", "payload")

    def __init__(self, op: bytes, payload: bytes, connection: socket.socket | None) -> None:
        self.op = op
        self.payload = payload
        self.connection = connection


def channel_pair() -> tuple[socket.socket, socket.socket]:
    """(router's end, non-blocking; replica's end, inheritable by a child process)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    ours.setblocking(False)
    theirs.set_inheritable(True)
    return ours, theirs


def send(channel: socket.socket, op: bytes, payload: bytes = b"", fd: int | None = None) -> bool:
    """Send one message; False when the peer is gone or its queue is full."""
    try:
        socket.send_fds(channel, [op + payload], [fd] if fd is not None else [])
    except OSError:  # BlockingIOError (full), BrokenPipeError/ConnectionResetError (gone)
        return False
    return True


def send_settings(channel: socket.socket, settings: dict[str, Any]) -> bool:
    return send(channel, SETTINGS, json.dumps(settings).encode())


def receive(channel: socket.socket) -> tuple[list[Message], bool]:
    """Every message waiting on the (non-blocking) channel, and whether the peer closed it."""
    messages: list[Message] = []
    while True:
        try:
            data, fds, _flags, _address = socket.recv_fds(channel, _MAX_MESSAGE, 4)
        except BlockingIOError:
            return messages, False
        except OSError:
            return messages, True
        if not data and not fds:
            return messages, True
        connections = [socket.socket(fileno=fd) for fd in fds]
        connection = connections[0] if connections else None
        for extra in connections[1:]:  # never sent; close rather than leak
            extra.close()
        messages.append(Message(data[:1], data[1:], connection))
