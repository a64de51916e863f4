"""``Environment``: what a run's script needs installed, registered by name and version.

The names and shapes follow ``azureml.core.Environment``. An environment turns into a
plain spec dict (:meth:`Environment.to_spec`) that the workspace stores and the
execution layer builds (with uv, cached by what affects the build).
"""

from __future__ import annotations

import builtins
import copy
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atelier.core.errors import NotFoundError, ValidationError
from atelier.core.settings import load_settings
from atelier.sdk.compute import curated, environment_files
from atelier.sdk.compute.conda_dependencies import CondaDependencies, read_requirements
from atelier.sdk.compute.environment_files import EnvironmentBuild

if TYPE_CHECKING:
    from atelier.core.records import EnvironmentRecord
    from atelier.sdk.workspace import Workspace

DEFAULT_BASE_IMAGE = "python:3.11-slim"
#: azureml's name for the image a CPU run starts from (samples set docker.base_image to it)
DEFAULT_CPU_IMAGE = DEFAULT_BASE_IMAGE
_VARIABLE = re.compile(r"[^=\x00]+")


@dataclass
class PythonSection:
    """How the run's Python is provided.

    ``user_managed_dependencies=True`` runs scripts with ``interpreter_path`` (default: the
    Python running Atelier) and installs nothing; otherwise Atelier builds a virtual
    environment from ``conda_dependencies``.
    """

    user_managed_dependencies: bool = False
    interpreter_path: str | None = None
    conda_dependencies: CondaDependencies = field(default_factory=CondaDependencies)


@dataclass
class DockerSection:
    """The container image a containerized compute target starts from."""

    enabled: bool = False
    base_image: str = DEFAULT_BASE_IMAGE
    #: the text of a Dockerfile to build the image from (``Environment.from_dockerfile``)
    base_dockerfile: str | None = None


class Environment:
    """A named set of Python packages and variables for runs; versioned when registered.

    ``Environment("sklearn")`` is unregistered (``version`` is None); ``env.register(ws)``
    returns the registered copy with its version (a string, as in azureml: ``"1"``).
    """

    def __init__(self, name: str, **kwargs: Any) -> None:
        del kwargs  # azureml's private flags (_skip_validation, ...) are accepted
        if not isinstance(name, str) or not name:
            raise ValidationError("an environment needs a name, e.g. Environment('sklearn-env')")
        self.name = name
        self.version: str | None = None
        self.python = PythonSection()
        self.docker = DockerSection()
        self.environment_variables: dict[str, str] = {}

    # --- construction from files and specs -----------------------------------------
    @classmethod
    def from_pip_requirements(
        cls, name: str, file_path: str | Path, pip_version: str | None = None
    ) -> Environment:
        """An environment with the requirements of a pip ``requirements.txt``.

        ``-r`` includes are inlined and option lines (``--index-url``) kept. Raises
        ``NotFoundError`` if a file is missing, ``ValidationError`` if a line is unusable.
        """
        packages = read_requirements(Path(file_path))
        if pip_version:
            packages.append(f"pip=={pip_version}")
        env = cls(name)
        env.python.conda_dependencies = CondaDependencies.create(pip_packages=packages)
        return env

    @classmethod
    def from_conda_specification(cls, name: str, file_path: str | Path) -> Environment:
        """An environment from a conda ``environment.yml``.

        ``python=X.Y`` pins the Python version, the ``pip:`` list becomes the pip
        requirements and ``variables:`` the environment variables. Any other conda
        package raises ``ValidationError`` unless conda is installed on this machine
        (then it is kept and built with conda). ``NotFoundError`` if the file is missing.
        """
        deps = CondaDependencies._from_file(file_path)
        conda_only = deps.conda_packages
        if conda_only and shutil.which("conda") is None:
            raise ValidationError(
                f"{file_path} lists conda-only packages {', '.join(conda_only)}; building "
                "them needs conda on this machine. Install conda (e.g. Miniforge), or move "
                "the packages under 'pip:' if they are published on PyPI"
            )
        env = cls(name)
        env.python.conda_dependencies = deps
        env.environment_variables = dict(deps._variables)
        return env

    @classmethod
    def from_docker_image(
        cls,
        name: str,
        image: str,
        container_registry: Any = None,
        conda_specification: str | Path | None = None,
        pip_requirements: str | Path | None = None,
    ) -> Environment:
        """An environment whose runs start from the container image ``image`` (recorded;
        used by container targets), with the packages of a conda or pip file if given."""
        del container_registry
        if not isinstance(image, str) or not image.strip():
            raise ValidationError("from_docker_image needs an image name, e.g. 'python:3.11-slim'")
        env = cls._with_files(name, conda_specification, pip_requirements)
        env.docker.enabled = True
        env.docker.base_image = image
        return env

    @classmethod
    def from_dockerfile(
        cls,
        name: str,
        dockerfile: str | Path,
        conda_specification: str | Path | None = None,
        pip_requirements: str | Path | None = None,
    ) -> Environment:
        """An environment built from a Dockerfile: ``dockerfile`` is its path or its text
        (recorded; built where a container engine exists)."""
        text = str(dockerfile)
        if "\n" not in text and Path(text).is_file():
            text = Path(text).read_text(encoding="utf-8")
        elif "\n" not in text and not text.upper().startswith("FROM "):
            raise NotFoundError(f"Dockerfile {dockerfile} not found; pass its path or its text")
        env = cls._with_files(name, conda_specification, pip_requirements)
        env.docker.enabled = True
        env.docker.base_dockerfile = text
        return env

    @classmethod
    def _with_files(
        cls, name: str, conda: str | Path | None, pip: str | Path | None
    ) -> Environment:
        if conda is not None and pip is not None:
            raise ValidationError("give conda_specification or pip_requirements, not both")
        if conda is not None:
            return cls.from_conda_specification(name, conda)
        if pip is not None:
            return cls.from_pip_requirements(name, pip)
        return cls(name)

    # --- files and builds -------------------------------------------------------------
    def save_to_directory(self, path: str | Path, overwrite: bool = False) -> None:
        """Write the environment in azureml's layout: ``azureml_environment.json``,
        ``conda_dependencies.yml`` (and ``BaseDockerfile``); ``AlreadyExistsError`` when
        the folder is not empty and ``overwrite`` is False."""
        environment_files.save(self, path, overwrite)

    @staticmethod
    def load_from_directory(path: str | Path) -> Environment:
        """The environment ``save_to_directory`` wrote into ``path``."""
        return environment_files.load(Environment, path)

    def build(
        self, workspace: Workspace, image_build_compute: str | None = None
    ) -> EnvironmentBuild:
        """Build the environment now, ahead of a run (in the background); returns the
        build, whose ``wait_for_completion(show_output=True)`` waits for it."""
        del image_build_compute, workspace
        return EnvironmentBuild(self, self.to_spec(), load_settings().home.expanduser() / "envs")

    def build_local(
        self, workspace: Workspace, platform: str | None = None, **kwargs: Any
    ) -> EnvironmentBuild:
        """As :meth:`build`: on this machine (Atelier always builds where it runs)."""
        del platform, kwargs
        return self.build(workspace)

    @classmethod
    def from_spec(
        cls, name: str, spec: dict[str, Any], version: str | int | None = None
    ) -> Environment:
        """The environment a spec dict (from :meth:`to_spec`) describes; ``ValidationError``
        if the spec holds values of the wrong type."""
        env = cls(name)
        env.version = None if version is None else str(version)
        env.python.conda_dependencies = CondaDependencies.create(
            pip_packages=_str_list(spec, "pip"),
            conda_packages=_str_list(spec, "conda_packages"),
            python_version=spec.get("python_version"),
        )
        env.python.user_managed_dependencies = bool(spec.get("user_managed", False))
        interpreter = spec.get("interpreter_path")
        if interpreter is not None and not isinstance(interpreter, str):
            raise ValidationError(f"interpreter_path must be a string, not {interpreter!r}")
        env.python.interpreter_path = interpreter
        env.environment_variables = _check_variables(spec.get("environment_variables") or {})
        env.docker.base_image = str(spec.get("base_image") or DEFAULT_BASE_IMAGE)
        env.docker.enabled = bool(spec.get("docker_enabled", False))
        dockerfile = spec.get("base_dockerfile")
        env.docker.base_dockerfile = dockerfile if isinstance(dockerfile, str) else None
        return env

    def to_spec(self) -> dict[str, Any]:
        """The plain dict the workspace stores and the builder builds from.

        Package lists are sorted and de-duplicated, so the same environment always gives
        the same spec. Raises ``ValidationError`` for non-string environment variables.
        """
        deps = self.python.conda_dependencies
        docker: dict[str, Any] = {}  # only when set, so older specs keep their hashes
        if self.docker.enabled:
            docker["docker_enabled"] = True
        if self.docker.base_dockerfile:
            docker["base_dockerfile"] = self.docker.base_dockerfile
        return docker | {
            "python_version": deps.get_python_version(),
            "pip": sorted(set(deps.pip_packages)),
            "conda_packages": sorted(set(deps.conda_packages)),
            "user_managed": bool(self.python.user_managed_dependencies),
            "interpreter_path": self.python.interpreter_path,
            "environment_variables": dict(
                sorted(_check_variables(self.environment_variables).items())
            ),
            "base_image": self.docker.base_image,
        }

    # --- the workspace ----------------------------------------------------------------
    def register(self, workspace: Workspace) -> Environment:
        """Register this environment in ``workspace``; returns the registered copy.

        The first registration is version "1"; registering an unchanged environment again
        returns the existing version; a changed one becomes the next version. Raises
        ``ValidationError`` for a bad name (letters, digits, '-', '_', '.').
        """
        if curated.is_curated_name(self.name):
            raise ValidationError(
                f"environment names starting with {' or '.join(curated.CURATED_PREFIXES)} are "
                f"kept for curated environments; register a copy under your own name: "
                f"env.clone('my-env').register(ws)"
            )
        record = workspace._backend.environments.register(workspace.name, self.name, self.to_spec())
        return self._from_record(record, template=self)

    @classmethod
    def get(cls, workspace: Workspace, name: str, version: str | int | None = None) -> Environment:
        """The registered environment: its latest version, or ``version``.

        Curated names (``AzureML-Minimal`` ...) come from the built-in catalogue.
        Raises ``NotFoundError`` if the name or version is not registered (for an unknown
        curated name, listing the curated ones).
        """
        number = None if version is None else _version_number(version)
        if curated.is_curated_name(name):
            return cls.from_spec(name, curated.curated_spec(name), version="1")
        return cls._from_record(workspace._backend.environments.get(workspace.name, name, number))

    @classmethod
    def list(cls, workspace: Workspace) -> dict[str, Environment]:
        """The curated environments, then the latest version of every registered one."""
        found = {
            name: cls.from_spec(name, curated.curated_spec(name), version="1")
            for name in sorted(curated.CATALOGUE)
        }
        for record in workspace._backend.environments.list(workspace.name):
            found[record.name] = cls._from_record(record)
        return found

    @classmethod
    def _from_record(
        cls, record: EnvironmentRecord, template: Environment | None = None
    ) -> Environment:
        env = cls.from_spec(record.name, record.spec, record.version)
        if template is not None:  # keep what the spec does not carry (channels, docker.enabled)
            for channel in template.python.conda_dependencies.conda_channels:
                env.python.conda_dependencies.add_channel(channel)
            env.docker.enabled = template.docker.enabled
        return env

    def clone(self, new_name: str) -> Environment:
        """An unregistered copy under another name."""
        twin = copy.deepcopy(self)
        twin.name = new_name
        twin.version = None
        return twin

    def __repr__(self) -> str:
        return f"Environment(name={self.name!r}, version={self.version!r})"


def _str_list(spec: dict[str, Any], key: str) -> builtins.list[str]:
    value = spec.get(key) or []
    if not isinstance(value, builtins.list) or not all(isinstance(v, str) for v in value):
        raise ValidationError(f"environment spec key {key!r} must be a list of strings")
    return value


def _check_variables(variables: object) -> dict[str, str]:
    if not isinstance(variables, dict):
        raise ValidationError("environment_variables must be a dict of strings to strings")
    for key, value in variables.items():
        if not isinstance(key, str) or not _VARIABLE.fullmatch(key):
            raise ValidationError(
                f"invalid environment variable name {key!r}: use a non-empty string "
                "without '=' or NUL"
            )
        if not isinstance(value, str):
            raise ValidationError(
                f"environment variable {key!r} must be a string, not "
                f"{type(value).__name__}; wrap it in str()"
            )
    return dict(variables)


def _version_number(version: str | int) -> int:
    text = str(version)
    if isinstance(version, bool) or not text.isdigit() or int(text) < 1:
        raise ValidationError(
            f"environment version must be a positive whole number like '2', not {version!r}"
        )
    return int(text)
