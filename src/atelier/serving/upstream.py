"""The router's connections to one replica: raw HTTP/1.1 over a pool of keep-alive
asyncio streams.

The router only ever sends ``POST /score`` and ``GET`` requests with a known body to a
replica it started (uvicorn), and reads answers that carry a ``Content-Length``, so a
small client does the job at a fraction of a general one's cost per request (measured in
bench/bench_serving.py). A connection that was idle may have been closed by the replica
(uvicorn's keep-alive timeout): when such a reused connection fails before any byte of
the answer arrives, the request is sent once more on a fresh connection. Any other
failure raises :class:`UpstreamError`.
"""

from __future__ import annotations

import asyncio
import contextlib

__all__ = ["Upstream", "UpstreamError", "UpstreamResponse"]

_MAX_IDLE = 64
_MAX_HEAD_BYTES = 64 * 1024


class UpstreamError(Exception):
    """The replica closed the connection, refused it, or answered something unreadable."""


class UpstreamResponse:
    __slots__ = ("body", "content_type", "status")

    def __init__(self, status: int, content_type: bytes, body: bytes) -> None:
        self.status = status
        self.content_type = content_type
        self.body = body


class _StaleConnectionError(Exception):
    """A reused connection was found closed before the answer started."""


class Upstream:
    """Keep-alive connections to ``host:port``, with a bearer ``key`` on every request."""

    def __init__(self, host: str, port: int, key: str, timeout: float) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._auth = f"Authorization: Bearer {key}\r\nHost: {host}:{port}\r\n".encode()
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._closed = False

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> UpstreamResponse:
        """Send one request and return the whole answer (``UpstreamError`` on failure)."""
        head = [f"{method} {path} HTTP/1.1\r\n".encode(), self._auth]
        for name, value in (headers or {}).items():
            head.append(f"{name}: {value}\r\n".encode("latin-1"))
        head.append(f"Content-Length: {len(body)}\r\n\r\n".encode())
        payload = b"".join(head) + body
        while self._idle:
            reader, writer = self._idle.pop()
            if writer.is_closing():  # the replica's end went away while it sat in the pool
                continue
            try:
                return await self._exchange(reader, writer, payload, reused=True)
            except _StaleConnectionError:
                continue
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.timeout
            )
        except (OSError, TimeoutError) as exc:
            raise UpstreamError(f"cannot connect to {self.host}:{self.port}: {exc!r}") from None
        try:
            return await self._exchange(reader, writer, payload, reused=False)
        except _StaleConnectionError:
            raise UpstreamError("the replica closed the connection before answering") from None

    async def _exchange(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        payload: bytes,
        reused: bool,
    ) -> UpstreamResponse:
        started = False
        try:
            writer.write(payload)
            await writer.drain()
            async with asyncio.timeout(self.timeout):
                head = await reader.readuntil(b"\r\n\r\n")
                started = True
                status, length, content_type, close = _parse_head(head)
                body = await reader.readexactly(length) if length else b""
        except (
            OSError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            RuntimeError,  # uvloop: a write on a transport the peer has just closed
        ) as exc:
            writer.close()
            partial = isinstance(exc, asyncio.IncompleteReadError) and bool(exc.partial)
            if reused and not started and not partial:
                raise _StaleConnectionError from None
            raise UpstreamError(f"the replica stopped answering: {exc!r}") from None
        except TimeoutError:
            writer.close()
            raise UpstreamError(f"no answer within {self.timeout:g} s") from None
        except ValueError as exc:
            writer.close()
            raise UpstreamError(f"an unreadable answer: {exc}") from None
        if close or self._closed or len(self._idle) >= _MAX_IDLE:
            writer.close()
        else:
            self._idle.append((reader, writer))
        return UpstreamResponse(status, content_type, body)

    async def aclose(self) -> None:
        """Close the idle connections (busy ones close when their answer arrives)."""
        self._closed = True
        idle, self._idle = self._idle, []
        for _, writer in idle:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def _parse_head(head: bytes) -> tuple[int, int, bytes, bool]:
    if len(head) > _MAX_HEAD_BYTES:
        raise ValueError("the header is too long")
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise ValueError(f"not an HTTP/1.1 status line: {lines[0][:80]!r}")
    status = int(parts[1])
    length = 0
    content_type = b"application/json"
    close = False
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        key = name.strip().lower()
        if key == b"content-length":
            length = int(value.strip())
        elif key == b"content-type":
            content_type = value.strip()
        elif key == b"connection":
            close = value.strip().lower() == b"close"
        elif key == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
    if chunked:
        raise ValueError("chunked answers are not expected from a replica")
    return status, length, content_type, close
