"""``atelier image run``: a stored package served over HTTP with its key by a real
process, without building an image, and stopped by a signal."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers import web
from tests.helpers.cli import Atelier
from tests.helpers.scoring import package_coef_scorer
from tests.helpers.server import free_port

pytestmark = pytest.mark.slow  # starts the CLI and a scoring server


def test_image_run_serves_the_package_with_its_key(
    atelier_process: Atelier, tmp_path: Path, cli_home: Path
) -> None:
    assert atelier_process("workspace", "create", "lab").code == 0
    package_coef_scorer(tmp_path, "lab")
    shutil.rmtree(tmp_path / "src")  # served from the stored package, not these files
    (tmp_path / "coef.json").unlink()
    port, key = free_port(), "the-primary-key-0123456789"
    server = subprocess.Popen(
        [sys.executable, "-m", "atelier.cli.main", "image", "run", "coef-scorer",
         "-w", "lab", "--port", str(port)],
        env={**os.environ, "ATELIER_SCORING_KEYS": json.dumps([key])},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, cwd=tmp_path,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if web.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert server.poll() is None, server.communicate()[0]
        body = json.dumps({"data": [1, 2]})
        scored = web.post(
            f"{base}/score", content=body, timeout=30,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )  # fmt: skip
        assert scored.status_code == 200, scored.text
        assert scored.json() == [3, 6]
        refused = web.post(
            f"{base}/score", content=body, timeout=30,
            headers={"Authorization": "Bearer wrong", "Content-Type": "application/json"},
        )  # fmt: skip
        assert refused.status_code == 401
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=20)
        if server.stdout is not None:
            server.stdout.close()
    assert list((cli_home / "images" / "lab" / "coef-scorer").glob("1-*/context/manifest.json"))
