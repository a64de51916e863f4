"""A local run in a container: what ``environment.docker.enabled = True`` asks for.

The run's image is the offline Python base image with Atelier's runtime packages and the
environment's pip packages installed from wheels resolved on the host (the same first
layers as a model package's image, so either reuses the other's). It is tagged by what it
holds (``localhost/atelier-cache/run-env:<key>``): a rerun of the same environment builds
nothing. The supervisor stays on the host; the script runs in ``<engine> run --rm`` in the
foreground, with the run's folder mounted at the same path (its ``./outputs`` and ``./logs``
are then collected as for any local run), Atelier's source mounted read-only on the
image's ``PYTHONPATH``, and the supervisor's relay socket folder mounted, so
``Run.get_context()`` reports through the supervisor. Stopping the run stops the container;
``--rm`` and a final ``rm --force`` leave none behind.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import IO, Any

from atelier.client.relay import ENV_SOCKET
from atelier.containers import BASE_IMAGE, VENV, Engine, ensure_base_image, find_engine
from atelier.containers import host_wheels as resolve_wheels
from atelier.core.errors import EnvironmentBuildError, ImageBuildError
from atelier.execution import packaging

__all__ = ["IMAGE_REPOSITORY", "LABEL", "ContainerCommand", "RunImage", "prepare_image"]

IMAGE_REPOSITORY = "localhost/atelier-cache/run-env"
LABEL = "atelier.run"
#: the base image's Python (Debian bookworm's python3)
CONTAINER_PYTHON = "3.11"
_PYTHON = f"{VENV}/bin/python"
_PATH = f"{VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#: host variables a container must not inherit (its own paths and home differ)
_HOST_ONLY = frozenset({"PATH", "HOME", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "TMPDIR"})
_STOP_SECONDS = 5


class RunImage:
    """The engine and the image a containerized run starts from."""

    def __init__(self, engine: Engine, image: str) -> None:
        self.engine = engine
        self.image = image
        self.python = Path(_PYTHON)


def _wheel_cache() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "atelier" / "wheels"


def _packages(spec: dict[str, Any]) -> list[str]:
    """The environment's pip requirements for the image; ``EnvironmentBuildError`` for what
    the base image cannot hold (conda packages, another Python)."""
    if spec.get("conda_packages"):
        raise EnvironmentBuildError(
            "a Docker-enabled environment installs pip packages only; conda packages "
            f"{', '.join(spec['conda_packages'])} need environment.docker.enabled = False"
        )
    version = spec.get("python_version")
    if version and ".".join(str(version).split(".")[:2]) != CONTAINER_PYTHON:
        raise EnvironmentBuildError(
            f"the container's Python is {CONTAINER_PYTHON} (Atelier's base image), not "
            f"{version}: set python_version to {CONTAINER_PYTHON} or leave it unset"
        )
    if spec.get("user_managed"):
        return []
    return [line for line in spec.get("pip") or [] if line.strip() and not line.startswith("-")]


def prepare_image(spec: dict[str, Any], home: Path, log: IO[str]) -> RunImage:
    """The engine and the run image of ``spec``, built when no image holds it yet.
    ``ContainerEngineError`` (no engine), ``ImageBuildError`` or ``EnvironmentBuildError``."""
    packages = _packages(spec)
    engine = find_engine()
    runtime = packaging.runtime_requirements(packages)
    key = hashlib.sha256(
        "\n".join([BASE_IMAGE, *runtime, "--", *sorted(packages)]).encode()
    ).hexdigest()[:32]
    reference = f"{IMAGE_REPOSITORY}:{key}"
    if engine.image_exists(reference):
        log.write(f"[atelier] the run image {reference} is built already\n")
        return RunImage(engine, reference)
    ensure_base_image(engine, log)
    with tempfile.TemporaryDirectory(prefix="atelier-run-image-", dir=home) as scratch:
        context = Path(scratch) / "context"
        context.mkdir()
        (context / packaging.RUNTIME_REQUIREMENTS_FILE).write_text(
            "".join(f"{r}\n" for r in runtime)
        )
        (context / packaging.LOCK_FILE).write_text("".join(f"{p}\n" for p in packages))
        for part, lines in (("runtime", runtime), ("env", packages)):
            wheels = resolve_wheels(lines, _wheel_cache(), log)
            _link_files(wheels, context / packaging.WHEELS_DIR / part)
        (context / packaging.DOCKERFILE).write_text(_dockerfile(), encoding="utf-8")
        log.write(f"[atelier] building the run image {reference}\n")
        engine.build(context, [reference], log)
    return RunImage(engine, reference)


def _dockerfile() -> str:
    """A package image's Dockerfile up to its environment's packages (the same layers)."""
    whole = packaging.render_dockerfile(
        {"baseImage": BASE_IMAGE, "entryScript": "-", "modelDir": "-"}
    )
    cut = whole.index(packaging.RUNTIME_LINE)
    if not whole.startswith("#") or cut <= 0:
        raise ImageBuildError("the package Dockerfile changed shape; the run image needs its start")
    return whole[:cut]


def _link_files(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for path in source.iterdir():
        if path.is_file() and not path.name.startswith("."):
            try:
                os.link(path, target / path.name)
            except OSError:
                shutil.copy2(path, target / path.name)


def container_variables(env: dict[str, str]) -> dict[str, str]:
    """What the container gets of the script's environment: the run's own variables (those
    the supervisor added or changed, and every ATELIER_/AZUREML_ one), not the host's."""
    chosen = {
        key: value
        for key, value in env.items()
        if key not in _HOST_ONLY
        and (os.environ.get(key) != value or key.startswith(("ATELIER_", "AZUREML_")))
    }
    return {**chosen, "PATH": _PATH, "HOME": "/root"}


class ContainerCommand:
    """``<engine> run --rm`` of a script in the foreground (the engine's client is then the
    script's local process, its output the script's), and how to stop and remove it."""

    def __init__(
        self, run_image: RunImage, command: list[str], workdir: Path, env: dict[str, str]
    ) -> None:
        self.engine = run_image.engine
        run_id = env.get("ATELIER_RUN_ID", "run")
        self.name = f"atelier-run-{run_id[:24]}-{uuid.uuid4().hex[:8]}".lower()
        variables = container_variables(env)
        volumes = [
            f"{workdir}:{workdir}",
            f"{Path(packaging.__file__).resolve().parents[1]}:"
            f"{packaging.APP_ROOT}/{packaging.RUNTIME_DIR}/atelier:ro",
        ]
        if env.get(ENV_SOCKET):
            folder = Path(env[ENV_SOCKET]).parent
            volumes.append(f"{folder}:{folder}")
        args = [
            # --init: a small init as PID 1 passes SIGTERM on (a script as PID 1 ignores it)
            self.engine.path, "run", "--rm", "--init", "--name", self.name, "--network", "host",
            "--label", f"{LABEL}={run_id}", "--workdir", str(workdir),
        ]  # fmt: skip
        for volume in volumes:
            args += ["--volume", volume]
        for key in variables:
            args += ["--env", key]
        self.args = [*args, run_image.image, *command]
        #: the engine's environment: the variables' values travel here, not on its command line
        self.env = self.engine.env(variables)

    def stop(self) -> None:
        self.engine.stop(self.name, timeout=_STOP_SECONDS)

    def remove(self) -> None:
        self.engine.remove(self.name)
