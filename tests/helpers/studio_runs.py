"""Sweeps and endpoints for the Studio's tests: a sweep recorded as the SDK records one,
and an endpoint whose router is a small fake (its /score doubles values and checks the
key; its /metrics is a real ScoringMetrics registry)."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from atelier.core.status import RunStatus
from atelier.services import endpoint_keys, endpoints, metrics, run_transitions, runs
from atelier.serving.metrics import ScoringMetrics
from atelier.storage.secretbox import load_secret_box
from tests.helpers.studio_data import NASTY
from tests.studio.conftest import WORKSPACE, Studio


def seed_sweep(studio: Studio) -> tuple[str, list[str]]:
    """A sweep with four trials: two logged accuracy, one was stopped early by the
    policy, one never logged (still running)."""
    settings = {
        "primary_metric_name": "accuracy",
        "primary_metric_goal": "MAXIMIZE",
        "max_total_runs": 6,
        "max_concurrent_runs": 2,
        "sampling": {"name": "RANDOM", "parameter_space": {}},
        "policy": {"name": "Bandit", "properties": {}},
    }
    trials = [
        ({"--lr": 0.1, "--kind": "a"}, [0.5, 0.7], RunStatus.COMPLETED, None),
        ({"--lr": 0.01, "--kind": NASTY}, [0.9, 0.8], RunStatus.COMPLETED, None),
        ({"--lr": 0.5, "--kind": "b"}, [0.2], RunStatus.CANCELED, "Bandit at interval 1"),
        ({"--lr": 0.3, "--kind": "b"}, [], RunStatus.RUNNING, None),
    ]
    ids = []
    with studio.database.session() as session:
        parent = runs.create(
            session,
            WORKSPACE,
            "sweeps",
            run_type="hyperdrive",
            definition={"hyperdrive": settings, "trial": {}},
        )
        for number, (values, series, status, stopped) in enumerate(trials):
            properties = {"hyperparameters": json.dumps(values), "hyperdrive.trial": str(number)}
            if stopped:
                properties["hyperdrive.canceled_by"] = stopped
            child = runs.create(
                session,
                WORKSPACE,
                "sweeps",
                parent_run_id=parent.run_id,
                properties=properties,
            )
            if series:
                steps = list(range(len(series)))
                metrics.log_scalars(
                    session, WORKSPACE, child.run_id, {"accuracy": (steps, series, steps)}
                )
            if status is not RunStatus.RUNNING:
                run_transitions.transition(session, WORKSPACE, child.run_id, status)
            ids.append(child.run_id)
    return parent.run_id, ids


class FakeEndpoint(BaseHTTPRequestHandler):
    """An endpoint's router as far as the Studio sees it: /score checks the key and
    doubles each value; /metrics is a real ScoringMetrics registry."""

    key = ""
    numbers = ScoringMetrics()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Authorization") != f"Bearer {self.key}":
            self._answer(401, b'{"error": "no key"}')
            return
        data = json.loads(body)["data"]
        answer = {
            "doubled": [v * 2 for v in data],
            "deployment": self.headers.get("azureml-model-deployment"),
        }
        self._answer(200, json.dumps(answer).encode())

    def do_GET(self) -> None:
        self._answer(200, self.numbers.render(), "text/plain")

    def _answer(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def fake_endpoint(studio: Studio, name: str) -> Iterator[int]:
    """Endpoint ``name`` of the Studio's workspace, served by :class:`FakeEndpoint` on a
    free port; removed (and stopped) afterwards."""
    assert studio.settings is not None
    box = load_secret_box(studio.settings)
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeEndpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        with studio.database.session() as session:
            endpoints.create(
                session, box, WORKSPACE, name, kind="local", port=port, auth_enabled=True,
                config={},
            )  # fmt: skip
            FakeEndpoint.key = endpoint_keys.open_keys(session, box, WORKSPACE, name)[0]
        yield port
    finally:
        server.shutdown()
        server.server_close()


def forget_endpoint(studio: Studio, name: str) -> None:
    with studio.database.session() as session:
        endpoints.delete(session, WORKSPACE, name)
