"""Reliability: the server killed with SIGKILL while three clients log metrics loses no
acknowledged point.

    .venv/bin/python bench/bench_reliability_server.py                  # SQLite, 3 s of logging
    .venv/bin/python bench/bench_reliability_server.py --seconds 1 --json
    .venv/bin/python bench/bench_reliability_server.py --database-url postgresql://...

Three client threads each log batches of scalar points to a run of their own over REST
(``POST .../metrics/scalars``). After ``--seconds`` the server process is killed with
SIGKILL (once every client has had a batch acknowledged); the clients keep trying (a batch
sent but never answered is "in doubt"; one refused at connect is sent again) while the
server is started again on the same home and database, then log for
``--seconds`` more. Each run's stored history is then compared with the points the server
acknowledged with a 200. Target: 0 acknowledged points lost (in-doubt points may or may not
be stored, and duplicates never are).

Results go to ``bench/results/reliability_server.json`` (or stdout with ``--json``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from servers import atelier_environment, atelier_init, atelier_start, free_port

RESULTS = Path(__file__).resolve().parent / "results" / "reliability_server.json"
CLIENTS = 3
BATCH = 100


@dataclass
class Client:
    """One logging client: the steps the server acknowledged, and those left in doubt."""

    run_id: str
    acknowledged: set[int] = field(default_factory=set)
    in_doubt: set[int] = field(default_factory=set)
    refused: int = 0

    def log_until(self, url: str, token: str, workspace: str, stop: threading.Event) -> None:
        path = f"/api/v1/workspaces/{workspace}/runs/{self.run_id}/metrics/scalars"
        step = 0
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=10
        ) as client:
            while not stop.is_set():
                steps = list(range(step, step + BATCH))
                batch = {"steps": steps, "values": [float(s) for s in steps]}
                body = {"series": {"loss": {**batch, "timestamps": [1] * BATCH}}}
                step += BATCH
                try:
                    answer = client.post(path, json=body)
                except httpx.ConnectError:  # never reached a server: sent again, as the SDK does
                    step -= BATCH
                    time.sleep(0.05)
                    continue
                except httpx.HTTPError:  # sent, and no answer: it may or may not be stored
                    self.in_doubt.update(steps)
                    continue
                if answer.status_code == 200:
                    self.acknowledged.update(steps)
                else:
                    self.refused += 1
                    self.in_doubt.update(steps)


def measure(seconds: float, database_url: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="atelier-reliability-") as folder:
        home = Path(folder) / "home"
        env = atelier_environment(home, database_url)
        token = atelier_init(env)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = Path(folder) / "server.log"
        server = atelier_start(env, port, log)
        workspace = f"reliability-{os.getpid()}"
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as admin:
            admin.post("/api/v1/workspaces", json={"name": workspace}).raise_for_status()
            runs = f"/api/v1/workspaces/{workspace}/experiments/reliability/runs"
            clients = [Client(admin.post(runs, json={}).json()["run_id"]) for _ in range(CLIENTS)]
        stop = threading.Event()
        threads = [
            threading.Thread(target=c.log_until, args=(url, token, workspace, stop))
            for c in clients
        ]
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        _wait_for(lambda: all(c.acknowledged for c in clients))
        acknowledged_before_kill = sum(len(c.acknowledged) for c in clients)
        server.send_signal(signal.SIGKILL)
        server.wait()
        killed_at = time.monotonic()
        server = atelier_start(env, port, log)
        restart_seconds = time.monotonic() - killed_at
        time.sleep(seconds)
        _wait_for(lambda: sum(len(c.acknowledged) for c in clients) > acknowledged_before_kill)
        stop.set()
        for thread in threads:
            thread.join()
        try:
            stored = _stored(url, token, workspace, clients)
        finally:
            server.terminate()
            server.wait(timeout=30)
    acknowledged = sum(len(c.acknowledged) for c in clients)
    lost = sum(len(c.acknowledged - stored[c.run_id]) for c in clients)
    in_doubt_stored = sum(len(c.in_doubt & stored[c.run_id]) for c in clients)
    return {
        "database": "postgresql" if database_url else "sqlite",
        "clients": CLIENTS,
        "seconds_each_side_of_the_kill": seconds,
        "acknowledged_before_kill": acknowledged_before_kill,
        "acknowledged": acknowledged,
        "stored": sum(len(s) for s in stored.values()),
        "lost": lost,
        "in_doubt": sum(len(c.in_doubt) for c in clients),
        "in_doubt_stored": in_doubt_stored,
        "refused_batches": sum(c.refused for c in clients),
        "restart_seconds": round(restart_seconds, 2),
        "target_lost": 0,
    }


def _wait_for(condition: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def _stored(url: str, token: str, workspace: str, clients: list[Client]) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client:
        for c in clients:
            answer = client.get(
                f"/api/v1/workspaces/{workspace}/runs/{c.run_id}/metrics/history",
                params={"name": "loss"},
            )
            steps = answer.json()["steps"] if answer.status_code == 200 else []
            if len(steps) != len(set(steps)):
                raise AssertionError(f"run {c.run_id} stored a point twice")
            found[c.run_id] = set(steps)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--json", action="store_true", help="print the result as JSON only")
    args = parser.parse_args()
    result = measure(args.seconds, args.database_url)
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key:32} {value}")
    print("PASS" if result["lost"] == 0 else "FAIL: acknowledged points were lost")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
