"""Starting a sweep's controller: a detached process per sweep (it outlives the caller).

Both ``Experiment.submit(HyperDriveConfig)`` and the pipeline runner (for a
HyperDriveStep) start one here. The controller's code sits in the SDK
(:mod:`atelier.sdk.sweeps._controller`, the sweep's domain); it is started by module
name, so nothing here imports it.
"""

from __future__ import annotations

import os
import sys

from atelier.client.backend import Backend
from atelier.execution.agent import spawn_detached

CONTROLLER_MODULE = "atelier.sdk.sweeps._controller"


def start_controller(backend: Backend, workspace: str, run_id: str) -> int:
    """Start the sweep's controller; its pid. A second controller for the same sweep exits
    at once (it cannot take the sweep's lock), so this is safe to repeat."""
    env = {**os.environ, **backend.child_environment()}
    return spawn_detached(
        [sys.executable, "-m", CONTROLLER_MODULE, "--workspace", workspace, "--run-id", run_id],
        env,
    )
