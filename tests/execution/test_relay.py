"""A local script reports through its supervisor (the relay), and supervisors stay warm
between runs of a store."""

from __future__ import annotations

import socket
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from atelier import Experiment, ScriptRunConfig, Workspace
from atelier.client.relay import RelayBackend, error_answer, rebuild_error
from atelier.core.errors import NotFoundError, StoreError, ValidationError
from atelier.core.settings import load_settings
from atelier.execution import agent
from atelier.execution.relay_server import RelayServer

pytestmark = pytest.mark.one_database  # the database kind is incidental here

SCRIPT = """
    import os
    from atelier import Run, NotFoundError
    run = Run.get_context()
    print("backend", type(run._backend).__name__, flush=True)
    run.log("acc", 0.5)
    run.tag("stage", "relay")
    with open("extra.txt", "w") as handle:
        handle.write("uploaded")
    run.upload_file("extra/extra.txt", "extra.txt")  # not relayed: the store opens here
    try:
        run._backend.runs.get(run.experiment.workspace.name, "no-such-run")
    except NotFoundError as exc:
        print("typed", type(exc).__name__, flush=True)
"""


def test_a_local_script_reports_through_its_supervisor(ws: Workspace, tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(textwrap.dedent(SCRIPT))
    config = ScriptRunConfig(source_directory=tmp_path, script="train.py")
    runs = []
    for _ in range(3):
        runs.append(Experiment(ws, "relay").submit(config))
        runs[-1].wait_for_completion()
        if len(runs) == 1:  # the first submit starts the agent: wait for it
            _poll(lambda: agent.request_launch(load_settings().home, {"ping": True}))
    for run in runs:
        assert run.get_status() == "Completed"
        log = run._backend.runs.read_log(ws.name, run.id, 0)[0].decode()
        assert "backend RelayBackend" in log
        assert "typed NotFoundError" in log
        assert run.get_metrics() == {"acc": 0.5}
        assert run.get_tags()["stage"] == "relay"
        assert "extra/extra.txt" in run.get_file_names()
    # the third run found the second one's supervisor warm, in the same process
    pids = [r._refresh().supervisor["pid"] for r in runs[1:]]  # type: ignore[index]
    assert pids[0] == pids[1]


def _poll(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while not check():
        assert time.monotonic() < deadline, "the agent never answered"
        time.sleep(0.1)


def test_the_relay_serves_only_its_methods_and_types_errors(ws: Workspace) -> None:
    with RelayServer(ws._backend) as server:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(server.path)
        relay = RelayBackend(server.path, sock, ws._backend.tracking_uri)
        assert relay.workspaces.get(ws.name).name == ws.name
        with pytest.raises(NotFoundError, match="no-such-run"):
            relay.runs.get(ws.name, "no-such-run")
        # a method outside the relayed set is refused by the supervisor's end
        with pytest.raises(ValidationError, match="not relayed"):
            relay.call("workspaces", "delete", (ws.name,), {})
        assert ws._backend.workspaces.get(ws.name).name == ws.name  # nothing deleted
    # the supervisor is gone: a typed error, not a hang
    with pytest.raises(StoreError, match="stopped answering"):
        relay.runs.get(ws.name, "anything")
    sock.close()
    assert not Path(server.path).exists()


def test_errors_travel_with_their_type() -> None:
    assert isinstance(rebuild_error(*error_answer(NotFoundError("gone"))), NotFoundError)
    plain = rebuild_error(*error_answer(RuntimeError("boom")))
    assert isinstance(plain, StoreError) and "RuntimeError: boom" in plain.message
