"""``atelier compute``: list, show, update and delete targets; create and attach failing cleanly."""

from __future__ import annotations

import socket

import pytest

from tests.helpers.cli import Atelier, assert_one_line_error

pytestmark = pytest.mark.slow  # starts the CLI a dozen times

TERMINAL = {"TTY_COMPATIBLE": "1"}  # stderr counts as a terminal: progress lines show


def _closed_port() -> int:
    """A local port nothing listens on (bound for a moment, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def lab(atelier: Atelier) -> None:
    assert atelier("workspace", "create", "lab").code == 0


def test_local_is_listed_updated_and_never_deleted(atelier: Atelier, lab: None) -> None:
    table = atelier("compute", "list", "-w", "lab")
    assert table.code == 0, table.stderr
    assert any(line.strip("│ ").startswith("local ") for line in table.stdout.splitlines())

    updated = atelier("compute", "update", "local", "-w", "lab", "--max-concurrent-runs", "1")
    assert updated.code == 0, updated.stderr
    shown = atelier("compute", "show", "local", "-w", "lab", "-o", "json").json()
    assert (shown["type"], shown["state"]) == ("Local", "Succeeded")
    assert shown["config"]["max_concurrent_runs"] == 1

    unconfirmed = atelier("compute", "delete", "local", "-w", "lab")
    assert_one_line_error(unconfirmed, 2, "--yes")
    refused = atelier("compute", "delete", "local", "-w", "lab", "--yes")
    assert_one_line_error(refused, 4, "cannot be deleted")
    assert_one_line_error(atelier("compute", "show", "gpu", "-w", "lab"), 3, "'gpu' not found")

    zero = atelier("compute", "update", "local", "-w", "lab", "--max-concurrent-runs", "0")
    assert zero.code == 2
    assert "--max-concurrent-runs" in zero.stderr
    nothing = atelier("compute", "update", "local", "-w", "lab")
    assert_one_line_error(nothing, 2, "give a setting to change", "--min-nodes")
    scaled = atelier("compute", "update", "local", "-w", "lab", "--min-nodes", "1")
    assert_one_line_error(scaled, 1, "apply to AmlCompute (Ray) targets only")


def test_create_and_attach_that_cannot_provision_are_one_line_errors(
    atelier: Atelier, lab: None
) -> None:
    """Without a Ray provisioner (or with one and no cluster at the address) and without an
    SSH provisioner (or with no SSH server on the port), the SDK raises
    ``ComputeTargetException``; the CLI shows it as one line and says how to clean up."""
    port = _closed_port()
    ray = atelier(
        "compute", "create", "cluster", "-w", "lab", "--type", "ray",
        "--address", f"http://127.0.0.1:{port}", "--max-nodes", "2",
    )  # fmt: skip
    assert_one_line_error(ray, 1, "atelier compute delete cluster -w lab --yes")
    assert "ray" in ray.stderr.lower()
    attach = (
        "compute", "attach", "box", "-w", "lab", "--address", "127.0.0.1",
        "--ssh-port", str(port), "--username", "me",
    )  # fmt: skip
    ssh = atelier(*attach)
    assert ssh.code == 1, ssh.stderr
    assert "compute delete" not in ssh.stderr  # a failed attach leaves nothing to remove
    again = atelier(*attach)  # the name is not blocked: the same error, not "exists"
    assert again.code == 1, again.stderr
    assert "already exists" not in again.stderr

    listed = atelier("compute", "list", "-w", "lab", "-o", "json").json()
    assert {t["name"]: t["state"] for t in listed} == {
        "cluster": "Failed",
        "local": "Succeeded",
    }
    deleted = atelier("compute", "delete", "cluster", "-w", "lab", "--yes", env=TERMINAL)
    assert deleted.code == 0, deleted.stderr
    assert "compute cluster: deleted" in deleted.stderr  # the progress line's end
    remaining = atelier("compute", "list", "-w", "lab", "-o", "json").json()
    assert [t["name"] for t in remaining] == ["local"]
