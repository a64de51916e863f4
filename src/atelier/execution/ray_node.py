"""A run's supervisor on a Ray node that shares no filesystem with the submitting machine
(``python -m atelier.execution.ray_node --workspace W --run-id R``): the entrypoint of the
Ray job that :mod:`atelier.execution.ray_handover` submits.

It works in the node's own folder (``ATELIER_NODE_ROOT``, by default
``~/.cache/atelier-node``): the run's snapshot is fetched there (through the server with
the run's token, or from the workspace's blob store for an embedded home on PostgreSQL), the
environment is built or reused there (uv, cached by the spec's hash in ``envs/``), and the
script runs there with the run's variables. Metrics, logs, outputs and the status go back
through the backend, so nothing depends on the submitting machine once the job started.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from types import FrameType

__all__ = ["NODE_ROOT_VARIABLE", "main", "node_root"]

#: where a node keeps run folders and built environments (set on the node's ``ray start``)
NODE_ROOT_VARIABLE = "ATELIER_NODE_ROOT"


def node_root() -> Path:
    """This node's folder for runs and environments."""
    configured = os.environ.get(NODE_ROOT_VARIABLE)
    root = Path(configured) if configured else Path.home() / ".cache" / "atelier-node"
    root = root.expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    return root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Supervise one Atelier run on this Ray node.")
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--attempt", type=int, default=1)
    parser.add_argument("--attempts", type=int, default=1)
    parser.add_argument("--previous", default="", help="why the previous attempt ended")
    args = parser.parse_args(argv)
    root = node_root()
    # the node's own home: run folders and environments stay on this node
    os.environ["ATELIER_HOME"] = str(root)
    uri = os.environ.get("ATELIER_TRACKING_URI", "")
    if not uri.startswith(("http://", "https://")):
        # an embedded home: its database and blob store come in ATELIER_DATABASE_URL and
        # ATELIER_BLOB_URL, reached from here with this node's home for the rest
        os.environ["ATELIER_TRACKING_URI"] = f"file://{root}"

    from atelier.client.registry import backend_for, supervision_for
    from atelier.execution.supervisor import NodeAttempt, Supervisor

    tracking_uri = os.environ["ATELIER_TRACKING_URI"]
    supervisor = Supervisor(
        backend_for(tracking_uri),
        supervision_for(tracking_uri),
        args.workspace,
        args.run_id,
        root,
        node=NodeAttempt(args.attempt, max(args.attempt, args.attempts), args.previous),
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        supervisor.cancel.set()  # Ray stops the job: stop the script and end the run

    signal.signal(signal.SIGTERM, stop)
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
