"""The run supervisor: one per submitted run (DESIGN.md section 5).

It waits for a slot on the compute target (first in, first out), restores the snapshot,
gets the environment (a cached build), starts the script with the run's variables,
streams its output to the run's log, heartbeats, enforces the time limit, obeys cancel,
uploads ``./outputs`` and ``./logs`` and sets the final status with the exit code.

Its process is started by :mod:`atelier.execution.supervisor_process`; the run's files
reach the backend through :mod:`atelier.execution.run_files`.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import functools
import os
import shutil
import socket
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from atelier.client.api import SupervisionAPI
from atelier.client.backend import Backend
from atelier.client.relay import ENV_SOCKET
from atelier.core.errors import AtelierError
from atelier.core.paths import LOG_NAME, run_work_dir
from atelier.core.processes import process_start
from atelier.core.status import TERMINAL_STATUSES, RunStatus
from atelier.core.timeutil import now_ms
from atelier.execution import distributed, run_data
from atelier.execution.compute import Executor, ScriptProcess, executor
from atelier.execution.local import LocalExecutor
from atelier.execution.reaper import reap
from atelier.execution.relay_server import RelayServer
from atelier.execution.run_files import SUPERVISOR_LOG, say, stream_log, upload_outputs
from atelier.execution.sweep_start import wake_controller

__all__ = ["HEARTBEAT_SECONDS", "NodeAttempt", "Supervisor"]

HEARTBEAT_SECONDS = 1.0
_TAIL_LINES = 30

#: how long a reaper waits for a node supervisor with retries left (Ray may take this long to
#: notice a dead node and let the submitting side resubmit)
NODE_GRACE_SECONDS = 90.0


@dataclass(frozen=True)
class NodeAttempt:
    """A supervisor on a Ray node (:mod:`atelier.execution.ray_node`): which attempt of the
    run this is, of how many, and why the previous one ended."""

    attempt: int = 1
    attempts: int = 1
    previous: str = ""


class _StopError(Exception):
    """The run was canceled (or ended elsewhere) while the supervisor was working."""


class Supervisor:
    def __init__(
        self,
        backend: Backend,
        supervision: SupervisionAPI,
        workspace: str,
        run_id: str,
        home: Path,
        node: NodeAttempt | None = None,
    ) -> None:
        self.backend = backend
        #: set on a Ray node: the script runs here, Ray has already chosen the node
        self.node = node
        self.supervision = supervision
        self.workspace = workspace
        self.run_id = run_id
        self.home = home
        self.run_dir = run_work_dir(home, run_id)
        self.status = RunStatus.QUEUED
        self.cancel = threading.Event()
        self.done = threading.Event()
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
        self.timed_out = False
        #: what the heartbeat reports: the supervisor's process and the run's current phase
        self.info: dict[str, Any] = {}
        #: the run's output datasets, uploaded (and registered) when the script succeeded
        self.data_outputs: list[dict[str, Any]] = []
        self.parent_run_id: str | None = None

    def _phase(self, log: IO[str], phase: str, message: str) -> None:
        """Say what the run is doing now, in its log and (with the next heartbeat) its record."""
        say(log, message)
        self.info.update(phase=phase, message=message, updated_ms=now_ms())

    # --- heartbeat ---------------------------------------------------------------
    def _heartbeat_loop(self, info: dict[str, Any]) -> None:
        while not self.done.is_set():
            # a missed beat is retried; the reaper waits several beats
            with contextlib.suppress(AtelierError):
                self.status = self.supervision.heartbeat(self.workspace, self.run_id, dict(info))
            if self.status in (RunStatus.CANCEL_REQUESTED, *TERMINAL_STATUSES):
                self.cancel.set()
            self.done.wait(HEARTBEAT_SECONDS)

    def _move(self, status: RunStatus, **extra: Any) -> None:
        record = self.backend.runs.transition(self.workspace, self.run_id, status, **extra)
        self.status = record.status

    # --- the whole life ----------------------------------------------------------
    def run(self) -> int:
        record = self.backend.runs.get(self.workspace, self.run_id)
        if self.node is None:
            compute = self.backend.compute.get(self.workspace, record.target)
            if compute.kind == "ray":
                from atelier.execution import ray_handover

                if ray_handover.node_supervised(compute.config, self.backend):
                    # the supervisor runs on the node; this process only submits and watches
                    return ray_handover.hand_over(
                        self.backend, self.supervision, self.workspace, record, compute.config
                    )
        if self.node is not None:  # a resubmitted attempt starts from the snapshot again
            shutil.rmtree(self.run_dir / "wd", ignore_errors=True)
        (self.run_dir / "system_logs").mkdir(parents=True, exist_ok=True)
        (self.run_dir / "user_logs").mkdir(parents=True, exist_ok=True)
        definition = record.definition or {}
        self.parent_run_id = record.parent_run_id
        info = self.info
        # who to look for (and stop) if this process dies: pid, group, and start time, since
        # pids are reused
        info.update(
            pid=os.getpid(),
            pgid=os.getpgid(0),
            pid_start=process_start(os.getpid()),
            host=socket.gethostname(),
            started_ms=now_ms(),
        )
        if self.node is not None:
            # not this host's name alone: a node in a container may share it, and its pids
            # mean nothing to the host's reapers (they wait for the heartbeats instead)
            info.update(host=f"{info['host']} (Ray node)", node=True,
                        attempt=self.node.attempt, attempts=self.node.attempts)  # fmt: skip
            if self.node.attempt < self.node.attempts:
                info.update(grace_seconds=NODE_GRACE_SECONDS)
        self.status = self.supervision.heartbeat(self.workspace, self.run_id, dict(info))
        beat = threading.Thread(target=self._heartbeat_loop, args=(info,), daemon=True)
        beat.start()
        with (self.run_dir / SUPERVISOR_LOG).open("a", encoding="utf-8") as log:
            try:
                return self._lifecycle(record.target, record.snapshot_id, definition, log)
            finally:
                self.done.set()
                beat.join(timeout=5)

    def _lifecycle(
        self, target: str, snapshot_id: str | None, definition: dict[str, Any], log: IO[str]
    ) -> int:
        exit_code: int | None = None
        error: dict[str, Any] | None = None
        slot = None
        try:
            runner, slot = self._runner(target, log)
            if self.node is None or self.status in (RunStatus.QUEUED, RunStatus.NOT_STARTED):
                self._move(RunStatus.PREPARING)  # a retried attempt continues where it was
            workdir = self.run_dir / "wd"
            if snapshot_id:
                self.backend.snapshots.restore(self.workspace, snapshot_id, workdir)
            else:
                workdir.mkdir(parents=True, exist_ok=True)
            self._phase(log, "environment", "getting the environment (cached builds are reused)")
            spec = (definition.get("environment") or {}).get("spec") or {"user_managed": True}
            python = runner.prepare(spec, log)
            self._check_cancel()
            definition = run_data.prepare(
                self.backend, self.workspace, self.home, workdir, definition, log
            )
            self.data_outputs = definition.get("outputs") or []
            self._move(RunStatus.RUNNING)
            exit_code = self._execute(runner, python, workdir, definition, log)
            if exit_code != 0 and not self.cancel.is_set():
                error = self._script_error(exit_code, definition)
        except _StopError:
            say(log, "canceled")
        except AtelierError as exc:
            say(log, f"failed: {exc.message}")
            error = {"code": getattr(exc, "code", "SystemError"), "message": exc.message}
        except Exception as exc:  # any failure must still end the run truthfully
            say(log, traceback.format_exc())
            error = {"code": "SystemError", "message": f"{type(exc).__name__}: {exc}"}
        try:
            return self._finish(exit_code, error, log)
        finally:
            # the slot is held until the run has ended, so the next one starts after it
            if slot is not None:
                slot.close()

    def _finish(self, exit_code: int | None, error: dict[str, Any] | None, log: IO[str]) -> int:
        current = self.backend.runs.get(self.workspace, self.run_id).status
        if current in TERMINAL_STATUSES:
            return exit_code or 0
        canceled = self.cancel.is_set() and not self.timed_out and error is None
        with contextlib.suppress(AtelierError):
            self._move(RunStatus.FINALIZING)
        if self.data_outputs and error is None and not canceled:
            error = run_data.publish_outputs(
                self.backend, self.workspace, self.run_id, self.run_dir / "wd",
                {"outputs": self.data_outputs}, log,
            )  # fmt: skip
        upload_error = upload_outputs(
            self.backend, self.workspace, self.run_id, self.run_dir, log,
            functools.partial(self._phase, log, "finalizing"),
        )  # fmt: skip
        if upload_error is not None and error is None and not canceled:
            error = upload_error
        if canceled:
            self._move(RunStatus.CANCELED, exit_code=exit_code)
        elif error is not None:
            self._move(RunStatus.FAILED, error=error, exit_code=exit_code)
        else:
            self._move(RunStatus.COMPLETED, exit_code=exit_code)
        if self.parent_run_id:  # a sweep's trial: its controller starts the next at once
            wake_controller(self.parent_run_id)
        if os.environ.get("ATELIER_KEEP_RUN_DIRS") != "1":
            shutil.rmtree(self.run_dir, ignore_errors=True)
        return exit_code or 0

    def _runner(self, target: str, log: IO[str]) -> tuple[Executor, IO[str] | None]:
        """The executor for the run's target, and the target's slot it holds (none on a Ray
        node: Ray placed the job there, and the script runs there as a local one)."""
        if self.node is None:
            compute = self.backend.compute.get(self.workspace, target)
            runner = executor(compute.kind, compute.config, self.home)
            limit = int(compute.config.get("max_concurrent_runs") or 1)
            return runner, self._wait_for_slot(target, limit, log)
        if self.node.previous:
            say(log, f"attempt {self.node.attempt} of {self.node.attempts}: {self.node.previous}")
        if self.status in TERMINAL_STATUSES:
            raise _StopError  # ended (e.g. canceled) while its job waited for a node
        return executor("local", {"die_with_supervisor": True}, self.home), None

    def _check_cancel(self) -> None:
        if self.cancel.is_set():
            raise _StopError

    # --- queueing ------------------------------------------------------------------
    def _wait_for_slot(self, target: str, limit: int, log: IO[str]) -> IO[str]:
        """Hold one of the target's ``max_concurrent_runs`` slot locks, first come first served."""
        slots = self.home / "compute" / self.workspace / target
        slots.mkdir(parents=True, exist_ok=True)
        last_reap = 0.0
        announced = False
        while True:
            self._check_cancel()
            ahead, _ = self.supervision.queue_state(self.workspace, self.run_id)
            if ahead == 0:
                for index in range(limit):
                    handle = (slots / f"slot-{index}.lock").open("w")
                    try:
                        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        handle.close()
                        continue
                    return handle
            if not announced:
                self._phase(
                    log, "queued", f"queued on {target!r}: {ahead} run(s) ahead, {limit} slot(s)"
                )
                announced = True
            if time.monotonic() - last_reap > 2:
                reap(self.backend, self.workspace)
                last_reap = time.monotonic()
            time.sleep(0.05)

    # --- running the script ----------------------------------------------------------
    def _command(self, python: Path, workdir: Path, definition: dict[str, Any]) -> list[str]:
        command = definition.get("command")
        if command:
            return ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)
        script = definition.get("script") or ""
        return [
            str(python),
            "-u",
            str(workdir / script),
            *map(str, definition.get("arguments") or []),
        ]

    def _environment(self, python: Path, definition: dict[str, Any]) -> dict[str, str]:
        env = dict(os.environ)
        env.pop(ENV_SOCKET, None)  # a relay of the submitter's own supervisor is not this run's
        env.update(self.backend.child_environment())
        # a server hands the script a token that reaches only this run
        env.update(self.supervision.run_environment(self.workspace, self.run_id))
        spec = (definition.get("environment") or {}).get("spec") or {}
        env.update({str(k): str(v) for k, v in (spec.get("environment_variables") or {}).items()})
        env.update(
            {str(k): str(v) for k, v in (definition.get("environment_variables") or {}).items()}
        )
        env.update(
            {
                "ATELIER_RUN_ID": self.run_id,
                "ATELIER_WORKSPACE": self.workspace,
                "AZUREML_RUN_ID": self.run_id,
                "PYTHONUNBUFFERED": "1",
                "PATH": f"{python.parent}{os.pathsep}{env.get('PATH', '')}",
            }
        )
        return env

    def _execute(
        self,
        runner: Executor,
        python: Path,
        workdir: Path,
        definition: dict[str, Any],
        log: IO[str],
    ) -> int:
        limit = float(definition.get("max_run_duration_seconds") or 0) or None
        command = self._command(python, workdir, definition)
        self._phase(log, "running", f"starting {command!r} in {workdir}")
        out_path = self.run_dir / LOG_NAME
        with (
            out_path.open("ab", buffering=0) as out,
            self._relay(runner) as relay,
        ):
            env = self._environment(python, definition)
            if relay is not None:
                env[ENV_SOCKET] = relay.path
            script: ScriptProcess
            if distributed.process_count(definition) > 1:
                record = self.backend.runs.get(self.workspace, self.run_id)
                run = {"run_id": self.run_id, "experiment": record.experiment_name,
                       "target": record.target, "definition": definition}  # fmt: skip
                script = distributed.start_group(
                    runner, self.backend, self.supervision, self.workspace, run,
                    command, workdir, env, out, self.stderr_tail,
                )  # fmt: skip
            else:
                script = runner.start(command, workdir, env, out, self.stderr_tail)
            self._report_script(script)
            streamed = threading.Event()
            streamer = threading.Thread(
                target=stream_log,
                args=(self.supervision, self.workspace, self.run_id, out_path, streamed),
                daemon=True,
            )
            if self.node is not None:  # its readers are on other machines: send it as it comes
                streamer.start()
            deadline = time.monotonic() + limit if limit else None
            while (code := script.wait(0.1)) is None:
                if deadline is not None and time.monotonic() > deadline:
                    self.timed_out = True
                    say(log, f"time limit of {limit:g} s reached; stopping the script")
                    script.stop()
                elif self.cancel.is_set():
                    say(log, "cancel requested; stopping the script")
                    script.stop()
            script.close()
            streamed.set()
            if streamer.is_alive():
                streamer.join(timeout=30)
        say(log, f"script exited with code {code}")
        return code

    def _relay(self, runner: Executor) -> contextlib.AbstractContextManager[RelayServer | None]:
        """A relay for a script that runs on this host and reports to a local store: it
        then reports through this process, which has the store open already."""
        if isinstance(runner, LocalExecutor) and self.backend.tracking_uri.startswith("file://"):
            return RelayServer(self.backend)
        return contextlib.nullcontext()

    def _report_script(self, script: ScriptProcess) -> None:
        """Put the script's process group in the heartbeat at once, so a reaper can stop
        the script even if this process dies before the next beat."""
        pid = script.local_pid
        if pid is None:
            return
        self.info.update(script_pgid=pid)
        with contextlib.suppress(AtelierError):
            self.supervision.heartbeat(self.workspace, self.run_id, dict(self.info))

    def _script_error(self, exit_code: int, definition: dict[str, Any]) -> dict[str, Any]:
        tail = "".join(self.stderr_tail).strip()
        if self.timed_out:
            return {
                "code": "RunTimeout",
                "message": "the run exceeded max_run_duration_seconds="
                f"{definition.get('max_run_duration_seconds')} and was stopped",
                "stderr_tail": tail,
            }
        last = tail.splitlines()[-1] if tail else "no output on stderr"
        return {
            "code": "ScriptExecutionError",
            "message": f"the script exited with code {exit_code}: {last}",
            "stderr_tail": tail,
        }
