"""``atelier image``: list, show, save and run packages as a shell sees them; ``run``
serves a package over HTTP with its key, without building an image."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from atelier import Model, Workspace
from atelier.azureml.core.model import InferenceConfig
from atelier.client.registry import reset_backends
from tests.cli._cli import Atelier, assert_one_line_error

pytestmark = pytest.mark.slow  # starts the CLI and a scoring server

SCORE = """
import json
from atelier import Model

coefficient = None

def init():
    global coefficient
    with open(Model.get_model_path("coef")) as handle:
        coefficient = json.load(handle)["coefficient"]

def run(raw_data):
    return [value * coefficient for value in json.loads(raw_data)["data"]]
"""


def _package(tmp_path: Path, workspace: str) -> None:
    """Package model ``coef`` (coefficient 3) as image ``coef-scorer``, through the SDK."""
    reset_backends()
    ws = Workspace.get(workspace)
    (tmp_path / "coef.json").write_text(json.dumps({"coefficient": 3}))
    model = Model.register(ws, tmp_path / "coef.json", "coef")
    source = tmp_path / "src"
    source.mkdir()
    (source / "score.py").write_text(SCORE)
    config = InferenceConfig(entry_script="score.py", source_directory=source)
    Model.package(ws, [model], config, image_name="coef-scorer", image_label="v1")
    reset_backends()  # let go of the database before the CLI processes open it


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_image_list_show_save(atelier: Atelier, tmp_path: Path) -> None:
    assert atelier("workspace", "create", "lab").code == 0
    _package(tmp_path, "lab")
    listing = atelier("image", "list", "-w", "lab", "-o", "json").json()
    assert [(p["imageName"], p["version"], p["label"]) for p in listing] == [
        ("coef-scorer", 1, "v1")
    ]
    assert listing[0]["models"] == ["coef:1"]
    table = atelier("image", "list", "-w", "lab")
    assert "coef-scorer" in table.stdout and listing[0]["digest"][:12] in table.stdout
    shown = atelier("image", "show", "coef-scorer:1", "-w", "lab", "-o", "json").json()
    assert shown["digest"] == listing[0]["digest"]
    assert shown["manifest"]["entryScript"] == "score.py"
    saved = atelier("image", "save", "coef-scorer", str(tmp_path / "ctx"), "-w", "lab")
    assert saved.code == 0, saved.stderr
    assert (tmp_path / "ctx" / "Dockerfile").is_file()

    assert_one_line_error(atelier("image", "show", "nope", "-w", "lab"), 3, "not found")
    assert_one_line_error(atelier("image", "show", "coef-scorer:9", "-w", "lab"), 3, "version 9")
    assert_one_line_error(atelier("image", "show", "Bad Name", "-w", "lab"), 2, "invalid image")
    assert_one_line_error(atelier("image", "show", "coef-scorer:x", "-w", "lab"), 2, "VERSION")
    assert_one_line_error(
        atelier("image", "save", "coef-scorer", str(tmp_path / "ctx"), "-w", "lab"), 4, "empty"
    )
    built = atelier("image", "build", "coef-scorer", "-w", "lab", env={"PATH": str(tmp_path)})
    assert_one_line_error(built, 8, "no working image builder was found")


def test_image_run_serves_the_package_with_its_key(
    atelier: Atelier, tmp_path: Path, cli_home: Path
) -> None:
    assert atelier("workspace", "create", "lab").code == 0
    _package(tmp_path, "lab")
    shutil.rmtree(tmp_path / "src")  # served from the stored package, not these files
    (tmp_path / "coef.json").unlink()
    port, key = _free_port(), "the-primary-key-0123456789"
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
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert server.poll() is None, server.communicate()[0]
        body = json.dumps({"data": [1, 2]})
        scored = httpx.post(
            f"{base}/score", content=body, timeout=30,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )  # fmt: skip
        assert scored.status_code == 200, scored.text
        assert scored.json() == [3, 6]
        refused = httpx.post(
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
