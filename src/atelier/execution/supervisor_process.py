"""The run supervisor's process: how one is started for a submitted run, and its entries.

:func:`launch` starts it detached, forked by the home's warm agent
(:mod:`atelier.execution.agent`) when one answers, else as a fresh interpreter
(``python -m atelier.execution.supervisor_process --workspace W --run-id R``, :func:`main`);
:func:`run_forked` is what the agent's fork runs. Either way the process builds the run's
backend and hands the run to :class:`atelier.execution.supervisor.Supervisor`, and a
failure of the supervisor itself is left in the run's ``system_logs/supervisor-crash.log``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
from pathlib import Path

from atelier.client.backend import Backend
from atelier.client.registry import backend_for, supervision_for
from atelier.core.paths import run_work_dir
from atelier.core.settings import load_settings
from atelier.execution import agent
from atelier.execution.supervisor import Supervisor

__all__ = ["SUPERVISOR_MODULE", "launch", "main", "run_forked"]

#: what a supervisor started afresh runs (``python -m``): this module
SUPERVISOR_MODULE = agent.ENTRY_MODULES["run"]


def launch(backend: Backend, workspace: str, run_id: str) -> None:
    """Start the run's supervisor as a detached process that outlives the caller: forked by
    the home's warm agent (:func:`atelier.execution.agent.hand_over`; an agent is started
    when none answers), else a fresh interpreter. ``ATELIER_AGENT=0`` turns the agent off."""
    child_env = {**os.environ, **backend.child_environment()}
    payload = {"workspace": workspace, "run_id": run_id, "env": child_env}
    agent.hand_over(Path(child_env["ATELIER_HOME"]), payload, child_env)


def _record_crash(run_id: str) -> None:
    """Leave the supervisor's own failure where ``supervisor.log`` would be."""
    with contextlib.suppress(Exception):
        folder = run_work_dir(load_settings().home, run_id) / "system_logs"
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / "supervisor-crash.log").open("a", encoding="utf-8") as handle:
            handle.write(traceback.format_exc())


def run_forked(workspace: str, run_id: str, env: dict[str, str]) -> int:
    """The supervisor in a process forked by the agent: take the submitter's variables,
    leave the agent's standard streams, supervise."""
    agent.enter_fork(env)
    try:
        return _supervise(workspace, run_id)
    except BaseException:
        _record_crash(run_id)
        return 1


def _supervise(workspace: str, run_id: str) -> int:
    tracking_uri = os.environ.get("ATELIER_TRACKING_URI")
    backend, supervision = backend_for(tracking_uri), supervision_for(tracking_uri)
    home = load_settings().home.expanduser().resolve()
    return Supervisor(backend, supervision, workspace, run_id, home).run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Supervise one Atelier run.")
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--run-id", required=True)
    args = parser.parse_args(argv)
    try:
        return _supervise(args.workspace, args.run_id)
    except BaseException:
        _record_crash(args.run_id)
        raise


if __name__ == "__main__":
    sys.exit(main())
