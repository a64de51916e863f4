"""Running scripts on a machine attached over SSH (``RemoteCompute``), against a real sshd
on a loopback port whose sessions have this test session's Python as ``python3``."""

from __future__ import annotations

import collections
import io
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from atelier import Experiment, ValidationError, Workspace
from atelier.core.errors import ComputeTargetException, ComputeTargetNotFoundError
from atelier.sdk.compute.targets import ComputeTarget, RemoteCompute
from atelier.sdk.tracking.run import Run
from atelier.sdk.tracking.runconfig import ScriptRunConfig
from tests.execution.sshd import SshServer
from tests.execution.sweeping import sweep_on

# the SSH part does not depend on the database: runs are covered on both by test_submit
sqlite_only = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


def _attach(ws: Workspace, server: SshServer, name: str = "box", **changes: Any) -> ComputeTarget:
    settings: dict[str, Any] = {
        "address": server.host,
        "ssh_port": server.port,
        "username": server.user,
        "private_key_file": str(server.key),
        **changes,
    }
    return ComputeTarget.attach(ws, name, RemoteCompute.attach_configuration(**settings))


def _submit(ws: Workspace, tmp_path: Path, body: str, **kwargs: Any) -> Run:
    folder = tmp_path / "src"
    folder.mkdir(exist_ok=True)
    (folder / "train.py").write_text(textwrap.dedent(body))
    config = ScriptRunConfig(
        source_directory=folder, script="train.py", compute_target="box", **kwargs
    )
    return Experiment(ws, "x").submit(config)


def _remote_runs(server: SshServer) -> list[Path]:
    runs = server.home / ".atelier-remote" / "runs"
    return sorted(runs.iterdir()) if runs.is_dir() else []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead


def _gone(pids: list[int], seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not any(_alive(pid) for pid in pids)


TRAIN = """
    import os, sys
    from atelier import Run
    print("args", sys.argv[1:], "in", os.getcwd(), flush=True)
    print("setting", os.environ.get("MY_SETTING"), flush=True)
    Run.get_context().log("acc", 0.9)
    os.makedirs("outputs", exist_ok=True)
    with open("outputs/x.txt", "w") as handle:
        handle.write("made remotely")
    print("a warning", file=sys.stderr)
"""


@sqlite_only
def test_an_attached_machine_runs_a_script(ws: Workspace, sshd: SshServer, tmp_path: Path) -> None:
    target = _attach(ws, sshd)
    assert target.type == "RemoteCompute"
    assert target.get_status() == "Succeeded"
    assert Path(target.config["python"]).parent == Path(sys.executable).parent
    assert target.config["work_root"] == str(sshd.home / ".atelier-remote")
    known_hosts = Path(os.environ["ATELIER_HOME"]) / "ssh" / "known_hosts"
    assert f"[127.0.0.1]:{sshd.port}" in known_hosts.read_text()

    run = _submit(ws, tmp_path, TRAIN, arguments=["--epochs", 3])
    out = io.StringIO()
    run.stream_logs(out)
    details = run.wait_for_completion()
    assert details["status"] == "Completed"
    assert details["exitCode"] == 0
    log = out.getvalue()
    assert "args ['--epochs', '3'] in " + str(sshd.home / ".atelier-remote" / "runs") in log
    assert "a warning" in log
    assert run.get_metrics()["acc"] == 0.9
    assert "outputs/x.txt" in run.get_file_names()
    assert run.download_file("outputs/x.txt", tmp_path / "x.txt").read_text() == "made remotely"
    assert _remote_runs(sshd) == []  # the run's remote folder is removed


@sqlite_only
def test_a_failing_remote_script_fails_the_run(
    ws: Workspace, sshd: SshServer, tmp_path: Path
) -> None:
    _attach(ws, sshd)
    run = _submit(ws, tmp_path, "print('working', flush=True)\nraise SystemExit('no data here')\n")
    details = run.wait_for_completion(raise_on_error=False, timeout_seconds=60)
    assert details["status"] == "Failed"
    assert details["exitCode"] == 1
    assert details["error"]["code"] == "ScriptExecutionError"
    assert "no data here" in details["error"]["message"]
    assert "user_logs/std_log.txt" in run.get_file_names()
    assert _remote_runs(sshd) == []


@sqlite_only
def test_cancel_stops_the_remote_process_tree(
    ws: Workspace, sshd: SshServer, tmp_path: Path
) -> None:
    _attach(ws, sshd)
    marker = tmp_path / "pids"
    body = f"""
        import os, subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        open({str(marker)!r}, "w").write(f"{{os.getpid()}} {{child.pid}}")
        print("started", flush=True)
        time.sleep(120)
    """
    run = _submit(ws, tmp_path, body)
    deadline = time.monotonic() + 30
    while not marker.exists() or len(marker.read_text().split()) < 2:
        assert time.monotonic() < deadline, run.get_status()
        time.sleep(0.1)
    pids = [int(pid) for pid in marker.read_text().split()]
    run.cancel()
    details = run.wait_for_completion(raise_on_error=False, timeout_seconds=60)
    assert details["status"] == "Canceled"
    assert _gone(pids)
    assert _remote_runs(sshd) == []


@sqlite_only
def test_attaching_a_machine_that_does_not_let_us_in_fails(
    ws: Workspace, sshd: SshServer, tmp_path: Path
) -> None:
    with pytest.raises(ComputeTargetException, match=r"no SSH server answers at 127\.0\.0\.1"):
        _attach(ws, sshd, name="wrong-port", ssh_port=_closed_port())
    # a failed attach keeps nothing: the name is free for the next try (issue 15)
    with pytest.raises(ComputeTargetNotFoundError):
        ComputeTarget(ws, "wrong-port")
    other = tmp_path / "other_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)],
        check=True,
        capture_output=True,
    )
    with pytest.raises(ComputeTargetException, match=r"refused the SSH login with .*other_key"):
        _attach(ws, sshd, name="wrong-key", private_key_file=str(other))
    with pytest.raises(ComputeTargetException, match="does not exist on this machine"):
        _attach(ws, sshd, name="no-key", private_key_file=str(tmp_path / "absent"))
    with pytest.raises(ComputeTargetException, match="password logins are not supported"):
        _attach(ws, sshd, name="password", private_key_file=None, password="secret")


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@sqlite_only
def test_a_machine_without_atelier_is_refused(
    ws: Workspace, sshd: SshServer, tmp_path: Path
) -> None:
    from atelier.execution.ssh_provision import provision

    del ws  # for the home: known_hosts goes there
    settings = {
        "address": sshd.host,
        "ssh_port": sshd.port,
        "username": sshd.user,
        "private_key_file": str(sshd.key),
    }
    bare = tmp_path / "bare-python"
    bare.write_text('#!/bin/sh\nexec python3 -I -S "$@"\n')  # no site-packages: no atelier
    bare.chmod(0o755)
    for python in (str(bare), "/nonexistent/python3"):
        with pytest.raises(ComputeTargetException, match="has no Python with Atelier"):
            provision({**settings, "python": python}, "ws", "box")
    found = provision({**settings, "python": sys.executable, "work_root": "~/elsewhere"}, "", "")
    assert found["work_root"] == str(sshd.home / "elsewhere")
    assert found["atelier_version"]


@sqlite_only
def test_the_remote_process_dies_with_the_connection(
    ws: Workspace, sshd: SshServer, tmp_path: Path
) -> None:
    """Without the supervisor: a killed local ssh (a supervisor gone) stops the remote
    script, and a script that leaves a child behind still ends the run."""
    from atelier.execution.ssh_compute import SshExecutor

    config = _attach(ws, sshd).config
    home = Path(os.environ["ATELIER_HOME"])
    runner = SshExecutor(config, home)
    python = runner.prepare({"user_managed": True}, io.StringIO())
    assert python.parent == Path(sys.executable).parent
    with pytest.raises(
        ValidationError,
        match=rf"invalid python_version .* \(on {sshd.user}@127\.0\.0\.1:{sshd.port}\)",
    ):
        runner.prepare({"python_version": "three"}, io.StringIO())
    workdir = tmp_path / "wd"
    workdir.mkdir()
    marker = tmp_path / "pids"
    (workdir / "job.py").write_text(
        textwrap.dedent(f"""
        import os, subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        open({str(marker)!r}, "w").write(f"{{os.getpid()}} {{child.pid}}")
        print("started", flush=True)
        if sys.argv[1] == "wait":
            time.sleep(120)
    """)
    )
    for mode in ("wait", "leave-a-child"):
        marker.unlink(missing_ok=True)
        out = io.BytesIO()
        script = runner.start(
            [str(python), "-u", str(workdir / "job.py"), mode],
            workdir,
            {"ATELIER_RUN_ID": "direct"},
            out,
            collections.deque(maxlen=10),
        )
        deadline = time.monotonic() + 30
        # the script's pids on disk and its first line relayed over the connection (killed
        # next: a line still in flight would be lost with it)
        while (
            not marker.exists()
            or len(marker.read_text().split()) < 2
            or b"started" not in out.getvalue()
        ):
            assert time.monotonic() < deadline, out.getvalue()
            time.sleep(0.05)
        pids = [int(pid) for pid in marker.read_text().split()]
        if mode == "wait":
            script.proc.kill()  # the connection ends, the script has not
        code = None
        deadline = time.monotonic() + 15
        while code is None and time.monotonic() < deadline:
            code = script.wait(0.1)
        script.close()
        assert code == (-9 if mode == "wait" else 0), out.getvalue()
        assert _gone(pids), mode
        assert b"started" in out.getvalue()


UNSAFE_ADDRESSES = [
    "-oProxyCommand=touch pwned",
    "-p2222",
    "host;touch pwned",
    "$(touch pwned)",
    "host name",
    "`id`",
    "a|b",
]


@sqlite_only
@pytest.mark.parametrize("address", UNSAFE_ADDRESSES)
def test_an_address_with_option_or_shell_syntax_is_refused_and_not_stored(
    ws: Workspace, tmp_path: Path, address: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValidationError, match="invalid SSH address"):
        ComputeTarget.attach(ws, "evil", RemoteCompute.attach_configuration(address=address))
    assert "evil" not in [target.name for target in ComputeTarget.list(ws)]
    assert not (tmp_path / "pwned").exists()


@sqlite_only
@pytest.mark.parametrize("username", ["-oProxyCommand=touch pwned", "root;id", "a b", ".x"])
def test_a_username_with_option_or_shell_syntax_is_refused(ws: Workspace, username: str) -> None:
    configuration = RemoteCompute.attach_configuration(address="127.0.0.1", username=username)
    with pytest.raises(ValidationError, match="invalid SSH username"):
        ComputeTarget.attach(ws, "evil", configuration)
    assert "evil" not in [target.name for target in ComputeTarget.list(ws)]


@pytest.mark.parametrize("address", ["box-1.example.org", "10.0.0.7", "::1", "[fe80::1]", "h_1"])
def test_plain_addresses_pass_and_options_end_before_the_host(tmp_path: Path, address: str) -> None:
    from atelier.execution.ssh_target import SshTarget

    target = SshTarget.from_config({"address": address, "username": "ci.user"}, tmp_path)
    command = target.command("true")
    assert command[-3:] == ["--", address, "true"]
    assert command[command.index("-l") + 1] == "ci.user"


@pytest.mark.slow  # trials run over SSH
@sqlite_only
def test_a_sweep_runs_its_trials_on_the_attached_machine(
    ws: Workspace, sshd: SshServer, tmp_path: Path
) -> None:
    _attach(ws, sshd)
    for log in sweep_on(ws, tmp_path, "box"):
        assert f"ran in {sshd.home / '.atelier-remote' / 'runs'}" in log
