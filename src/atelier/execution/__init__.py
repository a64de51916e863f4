"""Running submitted scripts: environment builds, the run supervisor, compute backends.

- :mod:`atelier.execution.environments` — builds environments (uv), cached by spec hash.
- :mod:`atelier.execution.supervisor` — one run: snapshot, environment, process, logs,
  outputs, final status; :mod:`atelier.execution.run_files` takes its logs and outputs to
  the backend. :mod:`atelier.execution.supervisor_process` starts it, through the warm
  agent (:mod:`atelier.execution.agent`, :mod:`atelier.execution.agent_process`) or a fresh
  interpreter.
- :mod:`atelier.execution.compute` — compute backends registered by kind, each a
  provisioner plus an executor: ``local``, ``ray`` (:mod:`~atelier.execution.ray_provision`,
  whose heads scale with :mod:`~atelier.execution.ray_autoscaler`, and
  :mod:`~atelier.execution.ray_compute`) and ``ssh``.
- :mod:`atelier.execution.packaging` — model packages (images): lock, Dockerfile, build.
"""
