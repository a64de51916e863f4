"""``atelier endpoint``: create from YAML, list, show, keys, logs, update, delete."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tests.helpers import web
from tests.helpers.cli import Atelier, assert_one_line_error
from tests.helpers.scoring import SCORE

pytestmark = pytest.mark.slow  # the journey starts the CLI and endpoint processes


def _register(atelier: Atelier, tmp_path: Path, coefficient: int) -> None:
    path = tmp_path / f"v{coefficient}" / "coef.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"coefficient": coefficient}))
    result = atelier("model", "register", "-w", "lab", "-n", "coef", "-p", str(path))
    assert result.code == 0, result.stderr


def test_endpoint_journey(atelier: Atelier, tmp_path: Path) -> None:
    assert atelier("workspace", "create", "lab").code == 0
    _register(atelier, tmp_path, 3)
    (tmp_path / "serve").mkdir()
    (tmp_path / "serve" / "score.py").write_text(SCORE)
    spec = tmp_path / "endpoint.yml"
    spec.write_text(
        "name: coef-cli\nmodel: coef:1\nentry_script: score.py\nsource_directory: serve\n"
        "replicas: 1\n"
    )
    created = atelier("endpoint", "create", "-w", "lab", "-f", str(spec), "-o", "json").json()
    try:
        assert created["state"] == "Healthy"
        assert created["models"] == ["coef:1"]
        keys = atelier("endpoint", "keys", "coef-cli", "-w", "lab", "-o", "json").json()
        answer = web.post(
            created["scoringUri"],
            json={"data": [2]},
            headers={"Authorization": f"Bearer {keys['primaryKey']}"},
        )
        assert answer.json() == [6]

        listed = atelier("endpoint", "list", "-w", "lab", "-o", "json").json()
        assert [e["name"] for e in listed] == ["coef-cli"]
        table = atelier("endpoint", "show", "coef-cli", "-w", "lab")
        assert table.code == 0 and "default" in table.stdout

        _register(atelier, tmp_path, 4)
        updated = atelier(
            "endpoint", "update", "coef-cli", "-w", "lab", "--model", "coef:2",
            env={"TTY_COMPATIBLE": "1"},  # stderr as a terminal: the progress line shows
        )  # fmt: skip
        assert updated.code == 0, updated.stderr
        assert "endpoint 'coef-cli' updated; it serves coef:2" in updated.stdout
        assert "endpoint coef-cli: done" in updated.stderr
        assert web.post(
            created["scoringUri"],
            json={"data": [2]},
            headers={"Authorization": f"Bearer {keys['primaryKey']}"},
        ).json() == [8]
        regenerated = atelier(
            "endpoint", "keys", "coef-cli", "-w", "lab", "--regenerate", "Primary", "-o", "json"
        ).json()
        assert regenerated["primaryKey"] != keys["primaryKey"]
        assert regenerated["secondaryKey"] == keys["secondaryKey"]
        logs = atelier("endpoint", "logs", "coef-cli", "-w", "lab")
        assert "deployment 'default' serves generation 2" in logs.stdout

        in_use = atelier("model", "delete", "coef", "-w", "lab", "--version", "2", "--yes")
        assert_one_line_error(in_use, 4, "coef-cli/default")
        port = created["port"]
        clash = atelier(
            "endpoint", "create", "other-cli", "-w", "lab", "-m", "coef:1",
            "--entry-script", "score.py", "--source-dir", str(tmp_path / "serve"),
            "--port", str(port),
        )  # fmt: skip
        assert_one_line_error(clash, 4, f"port {port}")
        bad = atelier("endpoint", "create", "bad-cli", "-w", "lab", "-m", "coef")
        assert_one_line_error(bad, 2, "NAME:VERSION")
    finally:
        deleted = atelier("endpoint", "delete", "coef-cli", "-w", "lab", "--yes")
    assert deleted.code == 0, deleted.stderr
    assert atelier("endpoint", "list", "-w", "lab", "-o", "json").json() == []
    missing = atelier("endpoint", "show", "coef-cli", "-w", "lab")
    assert_one_line_error(missing, 3, "no endpoint 'coef-cli'")
    with socket.socket() as probe:  # the port is free again
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
