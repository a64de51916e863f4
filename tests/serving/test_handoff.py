"""The router-replica channel: messages, connections passed as descriptors, a gone peer."""

from __future__ import annotations

import json
import socket

from atelier.serving.handoff import (
    ADOPT,
    DRAIN,
    SETTINGS,
    channel_pair,
    receive,
    send,
    send_settings,
)


def test_a_connection_crosses_the_channel_with_its_unread_bytes() -> None:
    ours, theirs = channel_pair()
    theirs.setblocking(False)
    server = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(server.getsockname())
    accepted, _ = server.accept()
    client.sendall(b"GET /healthz HTTP/1.1\r\n\r\n")  # not read by the side that accepted
    assert send(ours, ADOPT, fd=accepted.fileno())
    accepted.close()  # the router lets go of its copy; the connection lives on over there
    assert send_settings(ours, {"key_digests": ["abc"], "auth_enabled": True})
    assert send(ours, DRAIN)

    messages, closed = receive(theirs)
    assert not closed
    assert [m.op for m in messages] == [ADOPT, SETTINGS, DRAIN]
    adopted = messages[0].connection
    assert adopted is not None
    assert adopted.recv(100) == b"GET /healthz HTTP/1.1\r\n\r\n"
    adopted.sendall(b"answered by the other side")
    assert client.recv(100) == b"answered by the other side"
    assert json.loads(messages[1].payload) == {"key_digests": ["abc"], "auth_enabled": True}
    assert messages[1].connection is None
    for sock in (adopted, client, server, ours, theirs):
        sock.close()


def test_an_empty_channel_and_a_peer_that_went_away() -> None:
    ours, theirs = channel_pair()
    theirs.setblocking(False)
    assert receive(theirs) == ([], False)
    ours.close()
    messages, closed = receive(theirs)
    assert messages == []
    assert closed
    assert not send(theirs, DRAIN)  # writing to a closed peer says False, never raises
    theirs.close()
