"""Container deployments: ``AciWebservice.deploy_configuration(cpu_cores=, memory_gb=)``.

Azure's ACI becomes a container run by Podman or Docker on this machine, limited to
``cpu_cores`` CPUs and ``memory_gb`` GiB, with the models and the entry script's folder
mounted read-only and the scoring server (``python -m atelier.serving.server``) as its
command, published on 127.0.0.1. The image must hold Python with ``atelier-ml[serve]``
and the environment's packages (``Model.package`` builds such an image); by default it is
the environment's base image.

An engine counts only when it works: ``podman info`` or ``docker info`` must succeed (a
Docker client without a running daemon does not). Without one, deploying raises
:class:`ContainerEngineError` saying what to install, before anything is created.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from atelier.core.endpoints import CONTAINER, FAILED, HEALTHY, TRANSITIONING, check_endpoint_name
from atelier.core.errors import (
    AlreadyExistsError,
    ContainerEngineError,
    NotFoundError,
    ValidationError,
)
from atelier.sdk.models import _endpoint_process as proc
from atelier.sdk.models.webservice import DEFAULT_DEPLOYMENT, Webservice, WebserviceError

if TYPE_CHECKING:
    from atelier.sdk.models.inference import InferenceConfig
    from atelier.sdk.models.model import Model
    from atelier.sdk.workspace import Workspace

__all__ = [
    "AciWebservice",
    "AciWebserviceDeploymentConfiguration",
    "ContainerEngineError",
    "container_run_command",
    "find_container_engine",
]

ENGINES = ("podman", "docker")
DEFAULT_IMAGE = "python:3.11-slim"
APP_ROOT = "/var/azureml-app"
CONTAINER_PORT = 5001
_INFO_TIMEOUT_SECONDS = 15


class AciWebserviceDeploymentConfiguration:
    """CPU and memory limits, key auth and the port of a container deployment."""

    def __init__(
        self,
        cpu_cores: float = 0.1,
        memory_gb: float = 0.5,
        auth_enabled: bool = True,
        port: int | None = None,
        image: str | None = None,
        tags: dict[str, str] | None = None,
        description: str | None = None,
    ) -> None:
        for name, value in (("cpu_cores", cpu_cores), ("memory_gb", memory_gb)):
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValidationError(f"{name} must be a number > 0; got {value!r}")
        if port is not None and (
            isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535
        ):
            raise ValidationError(f"port must be 0-65535, or None for a free port; got {port!r}")
        self.cpu_cores = float(cpu_cores)
        self.memory_gb = float(memory_gb)
        self.auth_enabled = bool(auth_enabled)
        self.port = port or 0
        self.image = image
        self.tags = dict(tags or {})
        self.description = description

    def __repr__(self) -> str:
        return (
            f"AciWebserviceDeploymentConfiguration(cpu_cores={self.cpu_cores:g}, "
            f"memory_gb={self.memory_gb:g}, auth_enabled={self.auth_enabled})"
        )


def _engine_works(path: str) -> tuple[bool, str]:
    try:
        completed = subprocess.run(
            [path, "info"],
            capture_output=True,
            text=True,
            timeout=_INFO_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    last = (completed.stderr.strip() or completed.stdout.strip()).splitlines()[-1:]
    return completed.returncode == 0, (last[0] if last else f"exit code {completed.returncode}")


def find_container_engine() -> str:
    """The path of a working ``podman`` or ``docker``; :class:`ContainerEngineError` saying
    what was found and what to install otherwise."""
    found: builtins.list[str] = []
    for engine in ENGINES:
        path = shutil.which(engine)
        if path is None:
            continue
        works, why = _engine_works(path)
        if works:
            return path
        found.append(f"'{engine} info' failed ({why})")
    seen = "; ".join(found) if found else "neither podman nor docker is installed"
    raise ContainerEngineError(
        f"no working container engine: {seen}. Install Podman ('apt-get install podman') or "
        "Docker Engine with its daemon running (https://docs.docker.com/engine/install/), "
        "or deploy on this machine with LocalWebservice.deploy_configuration()"
    )


def container_run_command(
    engine: str,
    container: str,
    config: AciWebserviceDeploymentConfiguration,
    port: int,
    spec: dict[str, Any],
    keys: tuple[str, ...],
    image: str,
) -> builtins.list[str]:
    """The ``<engine> run`` command of a container deployment, with the CPU and memory
    limits, read-only mounts of the models and the source, and the keys in the
    environment (the command line shows only the variable's name)."""
    source = Path(spec["source_directory"])
    entry = Path(spec["entry_script"]).relative_to(source).as_posix()
    command = [
        engine,
        "run",
        "--detach",
        "--name",
        container,
        "--cpus",
        f"{config.cpu_cores:g}",
        "--memory",
        f"{round(config.memory_gb * 1024)}m",
        "--publish",
        f"127.0.0.1:{port}:{CONTAINER_PORT}",
        "--volume",
        f"{spec['model_dir']}:{APP_ROOT}/models:ro",
        "--volume",
        f"{source}:{APP_ROOT}/src:ro",
        "--env",
        "ATELIER_SCORING_KEYS",
        "--env",
        "PYTHONUNBUFFERED=1",
    ]
    for key, value in (spec.get("environment_variables") or {}).items():
        command += ["--env", f"{key}={value}"]
    command += [
        image,
        "python",
        "-m",
        "atelier.serving.server",
        "--entry-script",
        f"{APP_ROOT}/src/{entry}",
        "--source-dir",
        f"{APP_ROOT}/src",
        "--model-dir",
        f"{APP_ROOT}/models",
        "--host",
        "0.0.0.0",
        "--port",
        str(CONTAINER_PORT),
    ]
    del keys  # they travel in ATELIER_SCORING_KEYS, set in the engine's environment
    return command


class AciWebservice(Webservice):
    """A service in a container (``AciWebservice.deploy_configuration(...)``)."""

    compute_type = "ACI"
    _kind: ClassVar[str | None] = CONTAINER

    @staticmethod
    def deploy_configuration(
        cpu_cores: float = 0.1,
        memory_gb: float = 0.5,
        tags: dict[str, str] | None = None,
        properties: dict[str, str] | None = None,
        description: str | None = None,
        location: str | None = None,
        auth_enabled: bool = True,
        port: int | None = None,
        image: str | None = None,
        **azureml_arguments: Any,
    ) -> AciWebserviceDeploymentConfiguration:
        """Its configuration: CPU cores and memory (GiB) limits, key auth, port, image."""
        del properties, location, azureml_arguments  # Azure placement options
        return AciWebserviceDeploymentConfiguration(
            cpu_cores=cpu_cores,
            memory_gb=memory_gb,
            auth_enabled=auth_enabled,
            port=port,
            image=image,
            tags=tags,
            description=description,
        )

    def _probe(self) -> str:
        import httpx

        self._refresh()
        config = self._record.config
        inspect = subprocess.run(
            [config["engine"], "inspect", "--format", "{{.State.Running}}", config["container"]],
            capture_output=True,
            text=True,
            check=False,
        )
        if inspect.returncode != 0 or inspect.stdout.strip() != "true":
            return FAILED
        try:
            ready = httpx.get(f"http://{proc.HOST}:{self.port}/readyz", timeout=2)
        except httpx.HTTPError:
            return TRANSITIONING
        return HEALTHY if ready.status_code == 200 else FAILED

    def get_logs(self, num_lines: int = 5000) -> str:
        config = self._record.config
        logs = subprocess.run(
            [config["engine"], "logs", "--tail", str(num_lines), config["container"]],
            capture_output=True,
            text=True,
            check=False,
        )
        return logs.stdout + logs.stderr

    def update(self, *args: Any, **kwargs: Any) -> None:
        del args, kwargs
        raise ValidationError(
            "container services are replaced, not rolled: Model.deploy(..., overwrite=True)"
        )

    def delete(self) -> None:
        config = self._record.config
        with contextlib.suppress(OSError):
            subprocess.run(
                [config["engine"], "rm", "--force", config["container"]],
                capture_output=True,
                check=False,
            )
        with contextlib.suppress(NotFoundError):
            self._backend.endpoints.delete(self.workspace.name, self.name)
        shutil.rmtree(self._folder, ignore_errors=True)


def deploy_container(
    workspace: Workspace,
    name: str,
    models: builtins.list[Model],
    inference_config: InferenceConfig | None,
    config: AciWebserviceDeploymentConfiguration,
    overwrite: bool = False,
) -> AciWebservice:
    """``Model.deploy`` with an ACI configuration: run the scoring server in a container.

    Raises :class:`ContainerEngineError` first when no engine works (nothing is created)."""
    check_endpoint_name(name)
    engine = find_container_engine()
    if inference_config is None:
        raise ValidationError("a container deployment needs an InferenceConfig with its script")
    backend = workspace._backend
    with contextlib.suppress(NotFoundError):
        existing = Webservice(workspace, name)
        if not overwrite:
            raise AlreadyExistsError(f"service {name!r} already exists; pass overwrite=True")
        existing.delete()
    port = proc.free_port(config.port)
    folder = proc.endpoint_dir(workspace.name, name)
    folder.mkdir(parents=True, mode=0o700, exist_ok=True)
    container = f"atelier-{workspace.name}-{name}".lower()
    created = False
    try:
        spec = proc.deployment_spec(folder, DEFAULT_DEPLOYMENT, models, inference_config, {})
        environment = inference_config.environment
        image = config.image or (
            environment.docker.base_image if environment is not None else DEFAULT_IMAGE
        )
        record = backend.endpoints.create(
            workspace.name,
            name,
            kind=CONTAINER,
            port=port,
            auth_enabled=config.auth_enabled,
            config={
                "engine": engine,
                "container": container,
                "image": image,
                "tags": dict(config.tags),
                "description": config.description,
            },
        )
        created = True
        backend.endpoints.put_deployment(
            workspace.name, name, DEFAULT_DEPLOYMENT, spec, [(m.name, m.version) for m in models]
        )
        keys = backend.endpoints.get_keys(workspace.name, name) if record.auth_enabled else ()
        command = container_run_command(engine, container, config, port, spec, keys, image)
        _run_container(engine, command, {"ATELIER_SCORING_KEYS": json.dumps(list(keys))})
    except BaseException:
        if created:
            with contextlib.suppress(NotFoundError):
                backend.endpoints.delete(workspace.name, name)
        shutil.rmtree(folder, ignore_errors=True)
        raise
    service = AciWebservice.__new__(AciWebservice)
    Webservice.__init__(service, workspace, name)
    return service


def _run_container(engine: str, command: builtins.list[str], env: dict[str, str]) -> None:
    started = subprocess.run(
        command, capture_output=True, text=True, check=False, env={**os.environ, **env}
    )
    if started.returncode != 0:
        raise WebserviceError(f"'{Path(engine).name} run' failed: {started.stderr.strip()[-2000:]}")
