"""A small HTTP/1.1 load generator, run in its own process by bench_serving.py.

::

    python bench/loadgen.py URL BODY_FILE --concurrency 8 --seconds 5 [--key KEY]
    python bench/loadgen.py URL BODY_FILE --rate 200 --seconds 10 [--key KEY]

Closed loop (``--concurrency``): that many keep-alive connections, each sending its next
request when the previous answer arrives. Open loop (``--rate``): requests start at a
steady rate whatever the answers do, over a pool of connections. It speaks raw HTTP/1.1
on asyncio streams so the client costs little next to the servers it measures. Prints
one JSON line: requests, failures (non-2xx or a broken connection, with examples),
requests/s, p50/p99 latency in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from urllib.parse import urlsplit


class _Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, payload: bytes) -> int:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(payload)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        close = False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
            elif name.strip().lower() == b"connection" and value.strip().lower() == b"close":
                close = True
        if length:
            await self.reader.readexactly(length)
        if close:
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def _payload(url: str, body: bytes, key: str | None) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    headers = [
        f"POST {parts.path or '/'} HTTP/1.1",
        f"Host: {parts.hostname}:{parts.port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    ]
    if key:
        headers.append(f"Authorization: Bearer {key}")
    raw = ("\r\n".join(headers) + "\r\n\r\n").encode() + body
    return str(parts.hostname), int(parts.port or 80), raw


class _Tally:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.failures = 0
        self.examples: list[str] = []

    def fail(self, why: str) -> None:
        self.failures += 1
        if len(self.examples) < 5:
            self.examples.append(why)


async def _one(connection: _Connection, payload: bytes, tally: _Tally) -> None:
    started = time.perf_counter()
    try:
        status = await connection.request(payload)
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        connection.close()
        tally.fail(repr(exc))
        return
    if 200 <= status < 300:
        tally.latencies.append(time.perf_counter() - started)
    else:
        tally.fail(f"HTTP {status}")


async def closed_loop(
    url: str, body: bytes, key: str | None, concurrency: int, seconds: float
) -> _Tally:
    host, port, payload = _payload(url, body, key)
    tally = _Tally()
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        connection = _Connection(host, port)
        while time.perf_counter() < deadline:
            await _one(connection, payload, tally)
        connection.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return tally


async def open_loop(url: str, body: bytes, key: str | None, rate: float, seconds: float) -> _Tally:
    host, port, payload = _payload(url, body, key)
    tally = _Tally()
    idle: list[_Connection] = []
    tasks: set[asyncio.Task[None]] = set()

    async def send() -> None:
        connection = idle.pop() if idle else _Connection(host, port)
        await _one(connection, payload, tally)
        idle.append(connection)

    started = time.perf_counter()
    sent = 0
    while (now := time.perf_counter()) - started < seconds:
        due = int((now - started) * rate)
        while sent < due:
            task = asyncio.ensure_future(send())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            sent += 1
        await asyncio.sleep(0.002)
    await asyncio.gather(*tasks)
    for connection in idle:
        connection.close()
    return tally


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("body_file")
    parser.add_argument("--key")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--rate", type=float)
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    body = Path(args.body_file).read_bytes()
    started = time.perf_counter()
    if args.rate:
        tally = asyncio.run(open_loop(args.url, body, args.key, args.rate, args.seconds))
    else:
        tally = asyncio.run(closed_loop(args.url, body, args.key, args.concurrency, args.seconds))
    elapsed = time.perf_counter() - started
    print(
        json.dumps(
            {
                "requests": len(tally.latencies) + tally.failures,
                "failures": tally.failures,
                "examples": tally.examples,
                "rps": len(tally.latencies) / elapsed,
                "p50_ms": 1000 * _percentile(tally.latencies, 0.50),
                "p99_ms": 1000 * _percentile(tally.latencies, 0.99),
            }
        )
    )


if __name__ == "__main__":
    main()
