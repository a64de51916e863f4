"""A replica that is a container: ``<engine> run --rm`` of a package's image in the
foreground, its scoring server published on a loopback port.

The endpoint's manager runs it like a process replica (it is the replica's process:
SIGTERM reaches the container through the engine, ``--rm`` removes it), probes it on its
port and proxies to it; client connections are never handed over (no channel crosses the
container's boundary), so the router serves every request. Each container carries the
label ``atelier.endpoint=<workspace>/<endpoint>`` so that deleting the endpoint can find
any left behind by a killed manager.
"""

from __future__ import annotations

import uuid
from typing import Any

from atelier.containers import Engine

__all__ = ["CONTAINER_PORT", "LABEL", "container_replica_command"]

#: the port the scoring server listens on inside the image
CONTAINER_PORT = 5001
LABEL = "atelier.endpoint"


def container_replica_command(
    spec: dict[str, Any], deployment: str, index: int, port: int, host: str
) -> tuple[list[str], dict[str, str]]:
    """The engine command of a container replica and the environment to run it with.

    ``spec["container"]`` holds the engine (``engine``, ``engine_name``, ``conf``), the
    ``image``, the limits (``cpus``, ``memory_mb``), the endpoint's ``label`` and the
    server's ``command`` in the image (None: the image's own). The keys and variables
    travel in the engine's environment, so the command line shows only their names."""
    container = spec["container"]
    engine = Engine(container["engine"], container["engine_name"], container.get("conf"))
    name = f"{container['name']}-{deployment}-{index}-{uuid.uuid4().hex[:6]}".lower()
    command = container.get("command")
    # with the server's command known, it shares the host's network and listens on the
    # replica's loopback port itself: no bridge and no NAT on each request's path
    network = ["--network", "host"] if command else ["--publish", f"{host}:{port}:{CONTAINER_PORT}"]
    args = [
        engine.path, "run", "--rm", "--name", name, *network,
        "--label", f"{LABEL}={container['label']}",
        "--env", "ATELIER_SCORING_KEYS", "--env", "ATELIER_DEPLOYMENT",
        "--env", "PYTHONUNBUFFERED",
    ]  # fmt: skip
    if container.get("cpus"):
        args += ["--cpus", f"{float(container['cpus']):g}"]
    if container.get("memory_mb"):
        args += ["--memory", f"{int(container['memory_mb'])}m"]
    variables = {str(k): str(v) for k, v in (spec.get("environment_variables") or {}).items()}
    for key in variables:
        args += ["--env", key]
    args.append(container["image"])
    if command:
        args += [
            *command, "--host", host, "--port", str(port),
            "--workers", "1",
            "--max-body-bytes", str(int(spec.get("max_body_bytes") or 10 * 1024 * 1024)),
            "--timeout", str(float(spec.get("timeout_seconds") or 60)),
        ]  # fmt: skip
    return args, engine.env(variables)
