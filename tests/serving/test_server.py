"""The real server: ``python -m atelier.serving.server`` with two workers, over real HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from atelier.core.errors import ValidationError
from atelier.serving import server
from tests.helpers import web

SCRIPT = """
    import os

    def init():
        global model_dir
        model_dir = os.environ["AZUREML_MODEL_DIR"]

    def run(data):
        return {"echo": data, "model_dir": model_dir, "pid": os.getpid()}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.slow
def test_server_with_two_workers_scores_over_http(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "score.py").write_text(textwrap.dedent(SCRIPT), encoding="utf-8")
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    port = _free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ATELIER_SCORING_")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "atelier.serving.server",
            "--entry-script",
            "score.py",
            "--source-dir",
            str(source),
            "--model-dir",
            str(model_dir),
            "--port",
            str(port),
            "--workers",
            "2",
            "--key",
            "k1",
            "--key",
            "k2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=environment,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        with web.Client(base_url=base, timeout=5) as client:
            while True:
                assert process.poll() is None, "the server exited before it was ready"
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the server was not ready within 30 s"
                time.sleep(0.2)
            unauthorized = client.post("/score", json={"x": 1})
            scored = client.post("/score", json={"x": 1}, headers={"Authorization": "Bearer k2"})
    finally:
        process.terminate()
        try:
            output, _ = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
    assert unauthorized.status_code == 401
    assert scored.status_code == 200, output.decode(errors="replace")
    body = scored.json()
    assert body["echo"] == '{"x":1}'
    assert body["model_dir"] == str(model_dir.resolve())
    assert scored.headers["x-request-id"]


def test_app_from_environment_needs_the_entry_script(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(server.ENTRY_SCRIPT, raising=False)
    with pytest.raises(ValidationError, match=server.ENTRY_SCRIPT):
        server.app_from_environment()


def test_app_from_environment_rejects_malformed_keys(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "score.py").write_text("def init(): pass\ndef run(data): return data\n")
    monkeypatch.setenv(server.ENTRY_SCRIPT, str(tmp_path / "score.py"))
    monkeypatch.setenv(server.KEYS, "k1,k2")
    with pytest.raises(ValidationError, match="JSON list"):
        server.app_from_environment()
    monkeypatch.setenv(server.KEYS, '["k1", "k2"]')
    app = server.app_from_environment()
    assert app.state.scorer.keys == (b"k1", b"k2")
