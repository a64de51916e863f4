"""A run's supervisor on a Ray node that shares no filesystem with the submitting machine
(``python -m atelier.execution.ray_node --workspace W --run-id R``): the entrypoint of the
Ray job that :mod:`atelier.execution.ray_handover` submits.

It works in the node's own folder (``ATELIER_NODE_ROOT``, by default
``~/.cache/atelier-node``): the run's snapshot is fetched there (through the server with
the run's token, or from the workspace's blob store for an embedded home on PostgreSQL), the
environment is built or reused there (uv, cached by the spec's hash in ``envs/``), and the
script runs there with the run's variables. Metrics, logs, outputs and the status go back
through the backend, so nothing depends on the submitting machine once the job started.

With ``--serve PORT`` the job is also the node's *warm launcher*: it imports the
supervisor's stack once, forks the supervisor of its first run, and then listens on
``PORT`` for further hand-overs (one JSON line: the launcher's key, the run and its
variables), forking each run's supervisor at once, one run at a time (the job holds one
run's Ray resources). A hand-over while a run is going is answered ``busy``; the submitting
side then starts a new job. It exits ``--idle`` seconds after its last run ended, and fails
(so the job ends FAILED and the run can be retried) when a run's supervisor was killed.
Whoever reaches the port and knows the key (from the job's details in Ray's Jobs API) can
start runs here: the same trust as Ray's Jobs API itself.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from types import FrameType
from typing import Any

from atelier.execution.ray_launcher import Launcher, listen, use_node_home

__all__ = ["main"]


def _supervise(run: dict[str, Any]) -> int:
    """Supervise one run here (in this process), with the run's variables already set."""
    root = use_node_home()

    from atelier.client.registry import backend_for, supervision_for
    from atelier.execution.supervisor import NodeAttempt, Supervisor

    tracking_uri = os.environ["ATELIER_TRACKING_URI"]
    attempt = int(run.get("attempt") or 1)
    supervisor = Supervisor(
        backend_for(tracking_uri),
        supervision_for(tracking_uri),
        str(run["workspace"]),
        str(run["run_id"]),
        root,
        node=NodeAttempt(
            attempt, max(attempt, int(run.get("attempts") or 1)), str(run.get("previous") or "")
        ),
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        supervisor.cancel.set()  # Ray stops the job: stop the script and end the run

    signal.signal(signal.SIGTERM, stop)
    return supervisor.run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Supervise Atelier runs on this Ray node.")
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--attempt", type=int, default=1)
    parser.add_argument("--attempts", type=int, default=1)
    parser.add_argument("--previous", default="", help="why the previous attempt ended")
    parser.add_argument("--serve", type=int, default=0, help="stay as a warm launcher on PORT")
    parser.add_argument("--idle", type=float, default=60.0, help="seconds a launcher waits")
    args = parser.parse_args(argv)
    first = {"workspace": args.workspace, "run_id": args.run_id, "attempt": args.attempt,
             "attempts": args.attempts, "previous": args.previous}  # fmt: skip
    if not args.serve:
        return _supervise(first)
    # the stack every supervisor needs, imported once, before any fork
    import atelier.execution.supervisor

    if os.environ.get("ATELIER_TRACKING_URI", "").startswith(("http://", "https://")):
        import atelier.client.http.backend
    else:
        import atelier.client.embedded.backend  # noqa: F401

    return Launcher(listen(args.serve), args.idle, _supervise, single=True).serve(first)


if __name__ == "__main__":
    sys.exit(main())
