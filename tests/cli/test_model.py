"""``atelier model``: register, list, show, download and delete, as a shell sees them."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from atelier import Experiment, Workspace
from atelier.client.registry import reset_backends
from tests.helpers.cli import Atelier, assert_one_line_error

pytestmark = pytest.mark.slow  # the journey starts the CLI a dozen times


def _run_with_model(workspace: str) -> str:
    """A completed run of ``workspace`` holding ``outputs/model.pkl``, logged by the SDK."""
    reset_backends()
    with Experiment(Workspace.get(workspace), "train").start_logging() as run:
        run.upload_file("outputs/model.pkl", io.BytesIO(b"trained weights"))
    reset_backends()  # let go of the database before the CLI processes open it
    return run.id


def test_model_journey(atelier: Atelier, tmp_path: Path) -> None:
    assert atelier("workspace", "create", "lab").code == 0
    local = tmp_path / "model.pkl"
    local.write_bytes(b"\x00local weights")
    folder = tmp_path / "bundle"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "w.bin").write_bytes(b"\x01\x02")

    first = atelier(
        "model", "register", "-w", "lab", "--name", "clf", "--path", str(local),
        "--tag", "area=demo", "--description", "from a file", "-o", "json",
    )  # fmt: skip
    assert (first.json()["id"], first.json()["files"]) == ("clf:1", ["model.pkl"])
    assert first.json()["tags"] == {"area": "demo"}
    second = atelier("model", "register", "-w", "lab", "-n", "clf", "-p", str(folder))
    assert second.code == 0, second.stderr
    assert "version 2" in second.stdout
    run_id = _run_with_model("lab")
    third = atelier(
        "model", "register", "-w", "lab", "--name", "clf", "--run-id", run_id,
        "--path", "outputs/model.pkl", "-o", "json",
    )  # fmt: skip
    assert (third.json()["version"], third.json()["runId"]) == (3, run_id)

    listed = atelier("model", "list", "-w", "lab", "-o", "json").json()
    assert [m["id"] for m in listed] == ["clf:3", "clf:2", "clf:1"]
    latest = atelier("model", "list", "-w", "lab", "--latest", "--tag", "area", "-o", "json")
    assert [m["id"] for m in latest.json()] == ["clf:1"]
    table = atelier("model", "list", "-w", "lab", "--name", "clf")
    assert table.code == 0 and run_id in table.stdout

    shown = atelier("model", "show", "clf", "-w", "lab", "--version", "2", "-o", "json").json()
    assert shown["files"] == ["bundle/sub/w.bin"]
    assert "from a file" in atelier("model", "show", "clf", "-w", "lab", "-v", "1").stdout

    target = tmp_path / "down"
    downloaded = atelier("model", "download", "clf", "-w", "lab", "--target-dir", str(target))
    assert downloaded.stdout.strip() == str(target / "model.pkl")
    assert (target / "model.pkl").read_bytes() == b"trained weights"
    again = atelier("model", "download", "clf", "-w", "lab", "-v", "3", "-d", str(target))
    assert_one_line_error(again, 4, "already exists", "--exist-ok")
    replaced = atelier(
        "model", "download", "clf", "-w", "lab", "-v", "1", "-d", str(target), "--exist-ok"
    )
    assert replaced.code == 0, replaced.stderr
    assert (target / "model.pkl").read_bytes() == local.read_bytes()

    unconfirmed = atelier("model", "delete", "clf", "-w", "lab", "--version", "3")
    assert_one_line_error(unconfirmed, 2, "--yes")
    assert atelier("model", "delete", "clf", "-w", "lab", "--version", "3", "--yes").code == 0
    gone = atelier("model", "show", "clf", "-w", "lab", "--version", "3")
    assert_one_line_error(gone, 3, "no version 3", "latest is 2")


def test_errors_are_one_line(atelier: Atelier, tmp_path: Path) -> None:
    assert atelier("workspace", "create", "lab").code == 0
    missing = atelier("model", "show", "nope", "-w", "lab")
    assert_one_line_error(missing, 3, "model 'nope' not found", "atelier model register")
    bad_path = atelier("model", "register", "-w", "lab", "-n", "m", "-p", str(tmp_path / "x"))
    assert_one_line_error(bad_path, 3, "does not exist")
    bad_name = atelier("model", "register", "-w", "lab", "-n", "a b", "-p", str(tmp_path))
    assert_one_line_error(bad_name, 2, "invalid model name")
    bad_tag = atelier("model", "register", "-w", "lab", "-n", "m", "-p", ".", "--tag", "novalue")
    assert_one_line_error(bad_tag, 2, "KEY=VALUE")
