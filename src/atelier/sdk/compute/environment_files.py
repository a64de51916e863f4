"""An environment on disk in azureml's layout, and building one ahead of a run.

``save_to_directory`` writes ``azureml_environment.json`` (the definition, with azureml's
keys), ``conda_dependencies.yml`` (the packages) and, for an environment made from a
Dockerfile, ``BaseDockerfile``; ``load_from_directory`` reads the same three back.
"""

from __future__ import annotations

import io
import json
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atelier.core.errors import AlreadyExistsError, AtelierError, NotFoundError, ValidationError

if TYPE_CHECKING:
    from atelier.sdk.compute.environment import Environment

DEFINITION_FILE = "azureml_environment.json"
CONDA_FILE = "conda_dependencies.yml"
DOCKERFILE = "BaseDockerfile"


def definition(env: Environment) -> dict[str, Any]:
    """The environment as azureml serializes it (camelCase keys)."""
    return {
        "name": env.name,
        "version": env.version,
        "environmentVariables": dict(env.environment_variables),
        "python": {
            "userManagedDependencies": env.python.user_managed_dependencies,
            "interpreterPath": env.python.interpreter_path or "python",
            "condaDependenciesFile": CONDA_FILE,
        },
        "docker": {
            "enabled": env.docker.enabled,
            "baseImage": None if env.docker.base_dockerfile else env.docker.base_image,
            "baseDockerfile": DOCKERFILE if env.docker.base_dockerfile else None,
        },
    }


def save(env: Environment, path: str | Path, overwrite: bool) -> None:
    folder = Path(path)
    if folder.exists() and any(folder.iterdir()) and not overwrite:
        raise AlreadyExistsError(
            f"{folder} is not empty; pass overwrite=True to replace the environment files in it"
        )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / DEFINITION_FILE).write_text(
        json.dumps(definition(env), indent=4) + "\n", encoding="utf-8"
    )
    (folder / CONDA_FILE).write_text(
        env.python.conda_dependencies.serialize_to_string(), encoding="utf-8"
    )
    if env.docker.base_dockerfile:
        (folder / DOCKERFILE).write_text(env.docker.base_dockerfile, encoding="utf-8")


def load(env_class: type[Environment], path: str | Path) -> Environment:
    from atelier.sdk.compute.conda_dependencies import CondaDependencies

    folder = Path(path)
    source = folder / DEFINITION_FILE
    if not source.is_file():
        raise NotFoundError(
            f"no {DEFINITION_FILE} in {folder}; write one with env.save_to_directory(path)"
        )
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValidationError(f"{source} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise ValidationError(f"{source} has no environment 'name'")
    env = env_class(data["name"])
    python = data.get("python") or {}
    env.python.user_managed_dependencies = bool(python.get("userManagedDependencies"))
    interpreter = python.get("interpreterPath")
    env.python.interpreter_path = None if interpreter in (None, "python") else str(interpreter)
    conda_file = folder / str(python.get("condaDependenciesFile") or CONDA_FILE)
    if conda_file.is_file():
        env.python.conda_dependencies = CondaDependencies(conda_file)
    env.environment_variables = {
        str(k): str(v) for k, v in (data.get("environmentVariables") or {}).items()
    }
    docker = data.get("docker") or {}
    env.docker.enabled = bool(docker.get("enabled"))
    if docker.get("baseImage"):
        env.docker.base_image = str(docker["baseImage"])
    dockerfile = folder / str(docker.get("baseDockerfile") or DOCKERFILE)
    if docker.get("baseDockerfile") and dockerfile.is_file():
        env.docker.base_dockerfile = dockerfile.read_text(encoding="utf-8")
    return env


class EnvironmentBuild:
    """A build of an environment started by ``env.build(ws)`` / ``env.build_local(ws)``:
    ``wait_for_completion(show_output=True)`` waits and prints the build's log; ``status``
    is Running, Succeeded or Failed."""

    def __init__(self, env: Environment, spec: dict[str, Any], cache_root: Path) -> None:
        self.environment = env
        self._log = io.StringIO()
        self._lock = threading.Lock()
        self.status = "Running"
        self.error: str | None = None
        self.python: Path | None = None
        self._thread = threading.Thread(
            target=self._build, args=(spec, cache_root), name=f"build-{env.name}", daemon=True
        )
        self._thread.start()

    def _build(self, spec: dict[str, Any], cache_root: Path) -> None:
        from atelier.execution.environments import ensure_environment

        try:
            self.python = ensure_environment(spec, cache_root, self._log)
            self.status = "Succeeded"
        except AtelierError as exc:
            self.error = exc.message
            self.status = "Failed"

    @property
    def log(self) -> str:
        """What the build printed so far."""
        return self._log.getvalue()

    def wait_for_completion(self, show_output: bool = False) -> dict[str, Any]:
        """Wait for the build; with ``show_output`` print its log. Returns its details
        (``status``, ``python``, ``error``); raises ``EnvironmentBuildError`` if it failed."""
        from atelier.core.errors import EnvironmentBuildError

        self._thread.join()
        if show_output:
            sys.stdout.write(self.log)
            sys.stdout.flush()
        if self.status == "Failed":
            raise EnvironmentBuildError(
                f"environment {self.environment.name!r} did not build: {self.error}"
            )
        return self.get_details()

    def get_details(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "environment": self.environment.name,
            "python": None if self.python is None else str(self.python),
            "error": self.error,
        }

    def __repr__(self) -> str:
        return f"EnvironmentBuild(environment={self.environment.name!r}, status={self.status!r})"
