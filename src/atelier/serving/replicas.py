"""Replica processes of an endpoint's deployments, as its manager runs them.

A replica is one ``python -m atelier.serving.server --workers 1`` process on a free
loopback port (the model is loaded once, by its ``init()``), started with the Python of
the deployment's environment. On that port it accepts only the endpoint manager's internal
key (the router's proxied requests and the manager's probes). Client connections the
router hands over on the replica's channel (:mod:`atelier.serving.handoff`) are answered
by the replica itself, with the endpoint's keys. Replicas stay in the manager's process
group: stopping the manager's group stops them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import mmap
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from atelier.core.endpoints import TRANSITIONING, ReplicaRecord
from atelier.serving.container_replica import container_replica_command
from atelier.serving.handoff import channel_pair
from atelier.serving.metrics import process_gone
from atelier.serving.server import HANDOFF_FD, LOAD_FILE
from atelier.serving.upstream import Upstream, UpstreamError

__all__ = ["Deployment", "Replica", "ReplicaStartError", "spec_key"]

HOST = "127.0.0.1"
SERVER_MODULE = "atelier.serving.server"
_LOG_TAIL_CHARACTERS = 6000
STARTING = "Starting"
READY = "Ready"
DRAINING = "Draining"


#: the traceback of a replica whose Python cannot import the scoring server's packages
_MISSING_SERVER_MODULE = re.compile(
    r"ModuleNotFoundError: No module named '(uvicorn|fastapi|starlette|httptools)[.']"
)


class ReplicaStartError(Exception):
    """A replica exited, or never became ready, while starting; the message has its log."""


def spec_key(spec: dict[str, Any]) -> str:
    """What a replica runs, as a string: equal keys mean a rollout changes nothing."""
    return json.dumps(spec, sort_keys=True, default=str)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@dataclass(eq=False)
class Replica:
    """One scoring process, the connections to it and the requests it is handling."""

    deployment: str
    index: int
    generation: int
    port: int
    process: subprocess.Popen[bytes]
    client: Upstream
    restarts: int = 0
    state: str = STARTING
    in_flight: int = 0
    started_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    #: the router's end of the handoff channel (client connections go over it)
    channel: socket.socket | None = None
    #: the replica's count of direct requests in flight (a shared 8-byte file)
    load_path: Path | None = None
    load: memoryview | None = None
    #: set when the replica says it has given back every connection it was asked to
    drained: asyncio.Event = field(default_factory=asyncio.Event)

    def direct_in_flight(self) -> int:
        return int(self.load[0]) if self.load is not None else 0

    def busy(self) -> bool:
        return self.in_flight > 0 or self.direct_in_flight() > 0

    @property
    def label(self) -> str:
        return f"{self.deployment}#{self.index} (pid {self.process.pid}, port {self.port})"

    def exited(self) -> int | None:
        return self.process.poll()

    def record(self) -> ReplicaRecord:
        return ReplicaRecord(
            index=self.index,
            pid=self.process.pid,
            port=self.port,
            generation=self.generation,
            state=self.state,
            restarts=self.restarts,
            started_ms=self.started_ms,
        )

    async def stop(self, grace: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds; close its connections."""
        self.state = DRAINING
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + grace
            while self.process.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            if self.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await asyncio.to_thread(self.process.wait)
        await self.client.aclose()
        self.release()

    def release(self) -> None:
        """Let go of the channel and the load file of a replica that has exited."""
        if self.channel is not None:
            with contextlib.suppress(ValueError, OSError, RuntimeError):
                asyncio.get_running_loop().remove_reader(self.channel.fileno())
            self.channel.close()
            self.channel = None
        if self.load is not None:
            self.load.release()
            self.load = None
        if self.load_path is not None:
            self.load_path.unlink(missing_ok=True)
            self.load_path = None
        process_gone(self.process.pid)


@dataclass(eq=False)
class Deployment:
    """A deployment's replicas: ``active`` ones take requests, ``draining`` ones finish
    theirs and stop. ``generation`` is the newest one acted on; ``served`` the one the
    active replicas run."""

    name: str
    generation: int = 0
    spec: dict[str, Any] = field(default_factory=dict)
    served: int = 0
    served_key: str = ""
    state: str = TRANSITIONING
    error: str | None = None
    active: list[Replica] = field(default_factory=list)
    starting: list[Replica] = field(default_factory=list)
    draining: list[Replica] = field(default_factory=list)
    busy: bool = False  # a rollout is under way
    low_since: float | None = None
    samples: list[float] = field(default_factory=list)

    def desired(self) -> int:
        """How many replicas to start with: ``autoscale_min_replicas`` when autoscaling."""
        if self.spec.get("autoscale_enabled"):
            return int(self.spec.get("autoscale_min_replicas") or 1)
        return int(self.spec.get("num_replicas") or 1)

    def pick(self) -> Replica | None:
        """The active replica with the fewest requests in flight."""
        ready = [replica for replica in self.active if replica.state == READY]
        if not ready:
            return None
        return min(ready, key=lambda replica: replica.in_flight)

    def records(self) -> tuple[ReplicaRecord, ...]:
        every = [*self.active, *self.starting, *self.draining]
        return tuple(replica.record() for replica in every)


def start_replica(
    spec: dict[str, Any],
    deployment: str,
    index: int,
    generation: int,
    internal_key: str,
    log: IO[bytes],
    restarts: int = 0,
) -> Replica:
    """Start a replica process (or container: ``spec["container"]``, see
    :mod:`atelier.serving.container_replica`) for ``spec``; it is not ready yet (see
    :func:`wait_ready`)."""
    port = free_port()
    ours, theirs = channel_pair()
    # beside the endpoint's log (its folder), else in the temporary folder
    log_name = getattr(log, "name", None)
    folder = Path(log_name).parent if isinstance(log_name, str) else None
    handle, load_name = tempfile.mkstemp(
        prefix=f".replica-{deployment}-{index}-load-",
        dir=folder if folder is not None and folder.is_dir() else None,
    )
    os.write(handle, bytes(8))
    load = memoryview(mmap.mmap(handle, 8)).cast("q")
    os.close(handle)
    if spec.get("container"):
        command, env = _container_command(spec, deployment, index, port, theirs.fileno(), load_name)
        what = f"container replica {deployment}#{index} ({spec['container']['image']})"
    else:
        command, env = _process_command(spec, port, theirs.fileno())
        what = f"replica {deployment}#{index}"
    env.update({
        "ATELIER_SCORING_KEYS": json.dumps([internal_key]), "PYTHONUNBUFFERED": "1",
        "ATELIER_DEPLOYMENT": deployment, LOAD_FILE: load_name,
    })  # fmt: skip
    log.write(f"[manager] starting {what} generation {generation} on port {port}\n".encode())
    log.flush()
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            pass_fds=(theirs.fileno(),),
        )
    except BaseException:
        ours.close()
        load.release()
        Path(load_name).unlink(missing_ok=True)
        raise
    finally:
        theirs.close()
    client = Upstream(HOST, port, internal_key, float(spec.get("timeout_seconds") or 60) + 5)
    return Replica(
        deployment=deployment,
        index=index,
        generation=generation,
        port=port,
        process=process,
        client=client,
        restarts=restarts,
        channel=ours,
        load_path=Path(load_name),
        load=load,
    )


def _process_command(
    spec: dict[str, Any], port: int, channel_fd: int
) -> tuple[list[str], dict[str, str]]:
    command = [
        str(spec.get("python") or "python"),
        "-m",
        SERVER_MODULE,
        "--entry-script",
        str(spec["entry_script"]),
        "--source-dir",
        str(spec["source_directory"]),
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        "1",
        "--max-body-bytes",
        str(int(spec.get("max_body_bytes") or 10 * 1024 * 1024)),
        "--timeout",
        str(float(spec.get("timeout_seconds") or 60)),
    ]
    if spec.get("model_dir"):
        command += ["--model-dir", str(spec["model_dir"])]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATELIER_SCORING")}
    env.update({str(k): str(v) for k, v in (spec.get("environment_variables") or {}).items()})
    env["ATELIER_SCORING_PARENT_PID"] = str(os.getpid())
    env[HANDOFF_FD] = str(channel_fd)
    return command, env


#: run argv[2:] with descriptor argv[1] as descriptor 3 (dash cannot redirect fds above 9)
_AS_FD_3 = "import os, sys; os.dup2(int(sys.argv[1]), 3); os.execv(sys.argv[2], sys.argv[2:])"


def _container_command(
    spec: dict[str, Any], deployment: str, index: int, port: int, channel_fd: int, load: str
) -> tuple[list[str], dict[str, str]]:
    """The engine gets the channel as its descriptor 3 and passes it on (``--preserve-fds``)
    with the load file mounted, so client connections are handed over to the container as
    to a process replica (a passed socket works whatever the network namespace)."""
    command, env = container_replica_command(spec, deployment, index, port, HOST)
    image_at = command.index(spec["container"]["image"])
    command[image_at:image_at] = [
        "--preserve-fds", "1", "--env", HANDOFF_FD, "--env", LOAD_FILE,
        "--volume", f"{load}:{load}",
    ]  # fmt: skip
    env[HANDOFF_FD] = "3"
    return [sys.executable, "-c", _AS_FD_3, str(channel_fd), *command], env


async def wait_ready(replica: Replica, timeout: float, log_path: Path) -> None:
    """Return once the replica answers ``/readyz`` with 200 (its ``init()`` succeeded).

    Raises :class:`ReplicaStartError` with the end of the log when the process exits,
    ``init()`` fails (503) or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        code = replica.exited()
        if code is not None:
            tail = log_tail(log_path)
            missing = _MISSING_SERVER_MODULE.search(tail)
            if missing is not None:
                raise ReplicaStartError(
                    f"replica {replica.label} cannot import {missing.group(1)}: its Python "
                    "lacks the 'serve' extra; add 'atelier-ml[serve]' (or uvicorn and fastapi) "
                    "to the environment's pip packages"
                )
            raise ReplicaStartError(
                f"replica {replica.label} exited with code {code} while starting; the end of "
                f"the log:\n{tail}"
            )
        try:
            response = await replica.client.request("GET", "/readyz")
        except UpstreamError:
            response = None  # not listening yet
        if response is not None:
            if response.status == 200:
                replica.state = READY
                return
            raise ReplicaStartError(
                f"init() of replica {replica.label} failed; the end of the log:\n"
                f"{log_tail(log_path)}"
            )
        if time.monotonic() >= deadline:
            raise ReplicaStartError(
                f"replica {replica.label} was not ready after {timeout:g} s; the end of the "
                f"log:\n{log_tail(log_path)}"
            )
        await asyncio.sleep(0.05)


def log_tail(path: Path, characters: int = _LOG_TAIL_CHARACTERS) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - characters))
            return handle.read().decode(errors="replace")
    except OSError:
        return "(no log)"
