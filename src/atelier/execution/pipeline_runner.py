"""The pipeline runner: moves a pipeline run forward one pass at a time.

A pass reads the pipeline run and its step runs (children named by the property
``azureml.pipeline.step_name``) and, for each step whose upstream steps completed, either
reuses an earlier run with the same reuse key or creates the step run and starts its
supervisor. Independent steps start together; the compute target's slots queue them.
A failed step cancels the running ones and marks the waiting ones Canceled, unless the
run continues on step failure, when only the steps downstream of it are.

Passes hold no state of their own, so the first one runs in the submitting process (a
fully reused pipeline completes there) and the rest in a detached runner process, forked
by the warm agent or started as ``python -m atelier.execution.pipeline_runner``, which
heartbeats for the pipeline run like a supervisor does (a runner that dies gets its run
failed by the reaper).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import os
import socket
import sys
import time
import traceback
import uuid
from pathlib import Path
from typing import Any

from atelier.client.api import SupervisionAPI
from atelier.client.backend import Backend
from atelier.client.registry import backend_for, supervision_for
from atelier.core.data_records import DEFAULT_DATASTORE
from atelier.core.errors import AtelierError
from atelier.core.pipelines import (
    EMPTY_OUTPUTS,
    HYPERDRIVE_RUN_TYPE,
    OUTPUT_LOCATIONS,
    PARAMETER_PREFIX,
    REUSE_KEY,
    REUSED_PIPELINE_RUN,
    REUSED_RUN,
    STEP_NAME,
    STEP_RUN_TYPE,
)
from atelier.core.processes import process_start
from atelier.core.records import RunRecord
from atelier.core.status import TERMINAL_STATUSES, RunStatus
from atelier.core.timeutil import now_ms
from atelier.execution import agent
from atelier.execution import pipeline_reuse as _reuse
from atelier.execution.supervisor_process import launch
from atelier.execution.sweep_start import start_controller

#: what a reused step run takes over from the run it reuses: where its outputs are
_KEPT_WHEN_REUSED = (OUTPUT_LOCATIONS, EMPTY_OUTPUTS)
_PASS_SECONDS = 0.05
_HEARTBEAT_SECONDS = 1.0
_ENDED_BAD = (RunStatus.FAILED, RunStatus.CANCELED)


def _substitute(text: str, parameters: dict[str, Any]) -> str:
    for name, value in parameters.items():
        text = text.replace(f"{PARAMETER_PREFIX}{name}", str(value))
    return text


class _Pass:
    def __init__(self, backend: Backend, workspace: str, record: RunRecord) -> None:
        self.backend = backend
        self.workspace = workspace
        self.record = record
        definition = record.definition or {}
        self.graph: dict[str, Any] = definition.get("graph") or {}
        self.parameters: dict[str, Any] = definition.get("parameters") or {}
        self.regenerate = bool(definition.get("regenerate_outputs"))
        self.keep_going = bool(definition.get("continue_on_step_failure"))
        self._default_store: str | None = None
        self.resolver = _reuse.Resolver(backend, workspace)

    def default_store(self) -> str:
        if self._default_store is None:
            self._default_store = (
                self.backend.datastores.get_default(self.workspace).name or DEFAULT_DATASTORE
            )
        return self._default_store

    def children(self) -> dict[str, RunRecord]:
        found = self.backend.runs.children(self.workspace, self.record.run_id, False)
        return {c.properties[STEP_NAME]: c for c in found if STEP_NAME in c.properties}

    # --- one step -----------------------------------------------------------------------
    def _definition(self, step: dict[str, Any], done: dict[str, RunRecord]) -> dict[str, Any]:
        definition: dict[str, Any] = copy.deepcopy(step["definition"])
        definition["arguments"] = [
            _substitute(str(a), self.parameters) for a in definition.get("arguments") or []
        ]
        definition["environment_variables"] = {
            k: _substitute(str(v), self.parameters)
            for k, v in (definition.get("environment_variables") or {}).items()
        }
        if isinstance(definition.get("command"), str):
            definition["command"] = _substitute(definition["command"], self.parameters)
        for entry in definition.get("inputs") or []:
            source = entry.get("source")
            if not source:
                continue
            producer = done[source["step"]]
            location = _reuse.output_sources(producer.definition or {}, producer.properties)[
                source["output"]
            ]
            entry["definition"] = {"kind": entry["kind"], "sources": [location], "steps": []}
            if entry.get("format"):
                entry["definition"]["format"] = entry["format"]
        return definition

    def _place_outputs(self, definition: dict[str, Any]) -> None:
        """A fresh folder for each output written by this run (unless given a destination)."""
        for entry in definition.get("outputs") or []:
            if entry.get("destination") is None:
                store = entry.get("datastore") or self.default_store()
                entry["destination"] = (store, f"pipelines/{uuid.uuid4().hex}/{entry['name']}")

    def start_step(self, step: dict[str, Any], done: dict[str, RunRecord]) -> RunRecord:
        """The step's run: reused (Completed at once) or created and handed to a supervisor."""
        definition = self._definition(step, done)
        declared = copy.deepcopy(definition.get("outputs") or [])
        parts = _reuse.components(self.resolver, step, definition, declared)
        key = _reuse.key_of(parts)
        properties = {STEP_NAME: step["name"], REUSE_KEY: key}
        reuse = {"key": key, "components": parts, "reused_run_id": None}
        if step.get("allow_reuse", True) and not self.regenerate:
            earlier = _reuse.find_reusable(self.resolver, key)
            if earlier is not None:
                reuse["reused_run_id"] = _reuse.original_of(earlier)
                return self._reused(step, earlier, properties, reuse)
            reuse["why_not"] = "no completed run with this reuse key whose outputs still exist"
        else:
            reuse["why_not"] = (
                "allow_reuse=False" if not step.get("allow_reuse", True) else "regenerate_outputs"
            )
        self._place_outputs(definition)
        definition["reuse"] = reuse
        if step.get("hyperdrive"):
            return self._start_sweep(step, definition, properties)
        child = self._child(
            step, RunStatus.QUEUED, definition,
            {**properties, "azureml.runsource": STEP_RUN_TYPE},
            target=definition["target"],
        )  # fmt: skip
        if definition.get("inputs"):
            try:
                self.backend.datasets.record_run_inputs(
                    self.workspace, child.run_id, definition["inputs"]
                )
            except AtelierError as exc:
                return self.backend.runs.transition(
                    self.workspace, child.run_id, RunStatus.FAILED,
                    error={"code": "InputDatasetError", "message": exc.message},
                )  # fmt: skip
        launch(self.backend, self.workspace, child.run_id)
        return child

    def _child(
        self,
        step: dict[str, Any],
        status: RunStatus,
        definition: dict[str, Any],
        properties: dict[str, str],
        *,
        run_type: str = STEP_RUN_TYPE,
        target: str = "local",
    ) -> RunRecord:
        """A run of ``step`` under the pipeline run (its snapshot, when it has one)."""
        return self.backend.runs.create(
            self.workspace,
            self.record.experiment_name,
            parent_run_id=self.record.run_id,
            display_name=step["name"],
            run_type=run_type,
            target=target,
            status=status,
            properties=properties,
            definition=definition,
            snapshot_id=step.get("snapshot_id"),
        )

    def _start_sweep(
        self, step: dict[str, Any], definition: dict[str, Any], properties: dict[str, str]
    ) -> RunRecord:
        """A HyperDriveStep: the step run is the sweep's parent run, driven by a sweep
        controller; each trial runs the step's definition (less the metrics output)."""
        metrics_output = step.get("metrics_output")
        trial = {k: v for k, v in definition.items() if k != "reuse"}
        trial["outputs"] = [
            o for o in definition.get("outputs") or [] if o["name"] != metrics_output
        ]
        sweep = {
            "hyperdrive": step["hyperdrive"],
            "trial": trial,
            "outputs": definition.get("outputs") or [],
            "metrics_output": metrics_output,
            "reuse": definition["reuse"],
        }
        child = self._child(
            step, RunStatus.RUNNING, sweep, {**properties, **(step.get("properties") or {})},
            run_type=HYPERDRIVE_RUN_TYPE, target=definition["target"],
        )  # fmt: skip
        start_controller(self.backend, self.workspace, child.run_id)
        return child

    def _reused(
        self,
        step: dict[str, Any],
        earlier: RunRecord,
        properties: dict[str, str],
        reuse: dict[str, Any],
    ) -> RunRecord:
        definition = copy.deepcopy(earlier.definition or {})
        definition["reuse"] = reuse
        original = _reuse.original_of(earlier)
        kept = {k: v for k, v in earlier.properties.items() if k in _KEPT_WHEN_REUSED}
        child = self._child(
            step,
            RunStatus.RUNNING,
            definition,
            {
                **properties,
                "azureml.runsource": STEP_RUN_TYPE,
                REUSED_RUN: original,
                **kept,
                REUSED_PIPELINE_RUN: earlier.properties.get(REUSED_PIPELINE_RUN)
                or earlier.parent_run_id
                or "",
            },
            target=definition.get("target") or "local",
        )
        return self.backend.runs.transition(self.workspace, child.run_id, RunStatus.COMPLETED)

    def mark_not_run(self, step: dict[str, Any], why: str) -> RunRecord:
        properties = {STEP_NAME: step["name"], "azureml.runsource": STEP_RUN_TYPE}
        child = self._child(step, RunStatus.NOT_STARTED, {"reuse": None}, properties)
        return self.backend.runs.transition(
            self.workspace, child.run_id, RunStatus.CANCELED,
            error={"code": "UpstreamStepFailed", "message": why},
        )  # fmt: skip

    # --- the whole pass -------------------------------------------------------------------
    def run(self) -> bool:
        """Move the pipeline forward; True once it has ended."""
        status = self.record.status
        if status in TERMINAL_STATUSES:
            return True
        children = self.children()
        if status == RunStatus.CANCEL_REQUESTED:
            return self._cancel(children)
        if status != RunStatus.RUNNING:
            self.backend.runs.transition(self.workspace, self.record.run_id, RunStatus.RUNNING)
        while self._start_ready(children):  # reused steps complete at once: look again
            pass
        return self._conclude(children)

    def _start_ready(self, children: dict[str, RunRecord]) -> bool:
        """Start (or mark not run) every step that can go now, adding their runs to
        ``children``; True if any was."""
        failed = [n for n, c in children.items() if c.status in _ENDED_BAD]
        stopping = bool(failed) and not self.keep_going
        started = False
        for step in self.graph.get("steps") or []:
            name = step["name"]
            if name in children:
                continue
            ups = [children.get(u) for u in step.get("upstream") or []]
            bad = [
                u
                for u, c in zip(step["upstream"], ups, strict=True)
                if c and c.status in _ENDED_BAD
            ]
            if bad or stopping:
                why = f"step(s) {bad or failed} failed or were canceled"
                children[name] = self.mark_not_run(step, f"not run because {why}")
                started = True
            elif all(c is not None and c.status == RunStatus.COMPLETED for c in ups):
                done = {u: c for u, c in zip(step["upstream"], ups, strict=True) if c is not None}
                children[name] = self.start_step(step, done)
                started = True
        if stopping:
            for child in children.values():
                if child.status not in TERMINAL_STATUSES:
                    with contextlib.suppress(AtelierError):
                        self.backend.runs.cancel(self.workspace, child.run_id)
        return started

    def _conclude(self, children: dict[str, RunRecord]) -> bool:
        steps = self.graph.get("steps") or []
        if len(children) < len(steps):
            return False
        if any(c.status not in TERMINAL_STATUSES for c in children.values()):
            return False
        bad = [n for n, c in children.items() if c.status in _ENDED_BAD]
        if not bad:
            self.backend.runs.transition(self.workspace, self.record.run_id, RunStatus.COMPLETED)
            return True
        first = next(
            (c for c in children.values() if c.status == RunStatus.FAILED), children[bad[0]]
        )
        message = (first.error or {}).get("message", "no error recorded")
        failed_names = [n for n, c in children.items() if c.status == RunStatus.FAILED]
        self.backend.runs.transition(
            self.workspace, self.record.run_id, RunStatus.FAILED,
            error={
                "code": "StepFailed",
                "message": f"step(s) {failed_names or bad} failed; "
                f"{first.properties.get(STEP_NAME)}: {message}",
            },
        )  # fmt: skip
        return True

    def _cancel(self, children: dict[str, RunRecord]) -> bool:
        """Ask every unfinished step run to stop; the pipeline run is Canceled once they
        all have ended."""
        waiting = False
        for child in children.values():
            if child.status in TERMINAL_STATUSES:
                continue
            waiting = True
            if child.status != RunStatus.CANCEL_REQUESTED:
                with contextlib.suppress(AtelierError):
                    self.backend.runs.cancel(self.workspace, child.run_id)
        if waiting:
            return False
        with contextlib.suppress(AtelierError):
            self.backend.runs.transition(self.workspace, self.record.run_id, RunStatus.CANCELED)
        return True


def advance(backend: Backend, workspace: str, run_id: str) -> bool:
    """One pass over the pipeline run; True once it has ended."""
    record = backend.runs.get(workspace, run_id)
    return _Pass(backend, workspace, record).run()


def fail(backend: Backend, workspace: str, run_id: str, message: str) -> None:
    with contextlib.suppress(AtelierError):
        backend.runs.transition(
            workspace, run_id, RunStatus.FAILED, error={"code": "SystemError", "message": message}
        )


def start_runner(backend: Backend, workspace: str, run_id: str) -> None:
    """Continue the pipeline run in a detached process that outlives the caller: forked by
    the home's warm agent (:func:`atelier.execution.agent.hand_over`), else a fresh one."""
    env = {**os.environ, **backend.child_environment()}
    payload = {"workspace": workspace, "run_id": run_id, "env": env, "kind": "pipeline"}
    agent.hand_over(Path(env["ATELIER_HOME"]), payload, env)


def run_forked(workspace: str, run_id: str, env: dict[str, str]) -> int:
    """The runner in a process forked by the agent: take the submitter's variables, leave
    the agent's standard streams, run."""
    agent.enter_fork(env)
    uri = os.environ.get("ATELIER_TRACKING_URI")
    try:
        return drive(backend_for(uri), supervision_for(uri), workspace, run_id)
    except BaseException:
        return 1


def drive(backend: Backend, supervision: SupervisionAPI, workspace: str, run_id: str) -> int:
    """Pass after pass until the pipeline run ends, heartbeating for it."""
    info = {
        "pid": os.getpid(),
        "pgid": os.getpgid(0),
        "pid_start": process_start(os.getpid()),
        "host": socket.gethostname(),
        "started_ms": now_ms(),
        "phase": "running",
        "message": "running the pipeline's steps",
    }
    last_beat = 0.0
    try:
        while True:
            if time.monotonic() - last_beat > _HEARTBEAT_SECONDS:
                with contextlib.suppress(AtelierError):
                    supervision.heartbeat(workspace, run_id, dict(info))
                last_beat = time.monotonic()
            if advance(backend, workspace, run_id):
                return 0
            time.sleep(_PASS_SECONDS)
    except Exception as exc:  # the pipeline run must end truthfully whatever happened
        fail(backend, workspace, run_id, f"the pipeline runner failed: {type(exc).__name__}: {exc}")
        traceback.print_exc()
        return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the steps of one Atelier pipeline run.")
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--run-id", required=True)
    args = parser.parse_args(argv)
    uri = os.environ.get("ATELIER_TRACKING_URI")
    return drive(backend_for(uri), supervision_for(uri), args.workspace, args.run_id)


if __name__ == "__main__":
    sys.exit(main())
