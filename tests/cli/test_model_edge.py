"""``atelier model package --edge``: an offline bundle whose run.sh loads the image and
serves the model with its key, and the refusals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tarfile
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.helpers import web
from tests.helpers.cli import Atelier, assert_one_line_error
from tests.helpers.containers import engine_with_base_image
from tests.helpers.scoring import package_coef_scorer
from tests.helpers.server import free_port

pytestmark = pytest.mark.slow


def test_an_edge_bundle_serves_offline(atelier: Atelier, tmp_path: Path) -> None:
    engine = engine_with_base_image()
    assert atelier("workspace", "create", "lab").code == 0
    package_coef_scorer(tmp_path, "lab")  # registers coef:1 and writes src/score.py
    bundle = tmp_path / "bundle.tar"
    made = atelier("model", "package", "--edge", "coef:1", "-o", str(bundle), "-w", "lab",
                   "--entry-script", str(tmp_path / "src" / "score.py"))  # fmt: skip
    assert made.code == 0, made.stderr
    assert Path(made.stdout.strip()) == bundle
    unpacked = tmp_path / "unpacked"
    with tarfile.open(bundle) as archive:
        assert sorted(archive.getnames()) == ["image.oci.tar", "manifest.json", "run.sh"]
        archive.extractall(unpacked, filter="data")
    manifest = json.loads((unpacked / "manifest.json").read_text())
    assert manifest["schema"] == "atelier-edge-bundle/1"
    assert manifest["package"]["models"] == ["coef:1"]
    engine.remove_image(manifest["image"])  # run.sh loads it back from the archive

    port, key, name = free_port(), "edge-key-0123456789", f"atelier-edge-{uuid.uuid4().hex[:8]}"
    env = {**engine.env(), "PORT": str(port), "ATELIER_SCORING_KEYS": json.dumps([key]),
           "ATELIER_CONTAINER_NAME": name}  # fmt: skip
    server = subprocess.Popen(["sh", str(unpacked / "run.sh")], env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        answer = None
        for _ in range(600):
            try:
                answer = web.post(
                    f"http://127.0.0.1:{port}/score", json={"data": [1, 2]}, timeout=5,
                    headers={"Authorization": f"Bearer {key}"},
                )  # fmt: skip
                break
            except httpx.HTTPError:
                assert server.poll() is None, "run.sh exited"
                time.sleep(0.1)
        assert answer is not None and answer.json() == [3, 6]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        engine.remove(name)
        engine.remove_image(manifest["image"])

    again = atelier("model", "package", "--edge", "coef:1", "-o", str(bundle), "-w", "lab",
                    "--entry-script", str(tmp_path / "src" / "score.py"))  # fmt: skip
    assert_one_line_error(again, 4, "already exists", "--overwrite")
    bad = atelier("model", "package", "--edge", "coef", "-o", str(bundle), "-w", "lab",
                  "--entry-script", str(tmp_path / "src" / "score.py"))  # fmt: skip
    assert_one_line_error(bad, 2, "NAME:VERSION")
