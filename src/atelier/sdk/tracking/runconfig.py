"""``ScriptRunConfig`` and ``RunConfiguration``: what to run, where, and in which environment."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from atelier.core.errors import NotFoundError, ValidationError
from atelier.sdk.compute.environment import Environment
from atelier.sdk.tracking.job_configs import (
    DockerConfiguration,
    _DistributedConfiguration,
    distributed_from_dict,
)

if TYPE_CHECKING:
    from atelier.sdk.compute.targets import ComputeTarget

CONFIG_DIR = ".atelier"
#: azureml's default: no limit worth speaking of (30 days)
MAX_DURATION_SECONDS = 2_592_000


def _target_name(target: str | ComputeTarget | None) -> str:
    if target is None:
        return "local"
    name = target if isinstance(target, str) else getattr(target, "name", None)
    if not isinstance(name, str) or not name:
        raise ValidationError("compute_target must be a name or a ComputeTarget")
    return name


def _retries(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        raise ValidationError(
            f"max_retries must be a whole number from 0 to 10, got {value!r}; "
            "e.g. run_config.max_retries = 2"
        )
    return value


class RunConfiguration:
    """How a script runs: script or command, arguments, target, environment, limits.

    ``save(path, name)`` writes ``<path>/.atelier/<name>.runconfig`` (YAML) and
    ``RunConfiguration.load(path, name)`` reads it back.
    """

    def __init__(
        self,
        script: str | None = None,
        arguments: list[Any] | None = None,
        framework: str = "Python",
        communicator: str = "None",
        conda_dependencies: Any = None,
        command: str | list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        del framework, communicator, kwargs
        self.script = script
        self.command = command
        self.arguments: list[Any] = list(arguments or [])
        self.target: str = "local"
        self.environment: Environment = Environment("atelier-default")
        self.environment.python.user_managed_dependencies = True
        if conda_dependencies is not None:
            self.environment.python.user_managed_dependencies = False
            self.environment.python.conda_dependencies = conda_dependencies
        self.environment_variables: dict[str, str] = {}
        self.max_run_duration_seconds: int = MAX_DURATION_SECONDS
        self.node_count = 1
        #: not an azureml v1 name (v1 has no retry policy): how many times a run whose node
        #: was lost (its Ray job ended before the run did) is resubmitted
        self.max_retries = 0
        self.docker = DockerConfiguration()
        self.distributed_job_config: _DistributedConfiguration | None = None

    def to_dict(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.docker.use_docker:
            extra["docker"] = self.docker.to_dict()
        if self.distributed_job_config is not None:
            extra["distributed_job_config"] = self.distributed_job_config.to_dict()
        return extra | {
            "script": self.script,
            "command": self.command,
            "arguments": [str(a) for a in self.arguments],
            "target": _target_name(self.target),
            "environment": {
                "name": self.environment.name,
                "version": self.environment.version,
                "spec": self.environment.to_spec(),
            },
            "environment_variables": dict(self.environment_variables),
            "max_run_duration_seconds": self.max_run_duration_seconds,
            "node_count": self.node_count,
            "max_retries": _retries(self.max_retries),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfiguration:
        if not isinstance(data, dict):
            raise ValidationError("a run configuration must be a mapping")
        config = cls(
            script=data.get("script"), arguments=data.get("arguments"), command=data.get("command")
        )
        config.target = str(data.get("target") or "local")
        environment = data.get("environment") or {}
        if environment.get("spec") is not None:
            version = environment.get("version")
            config.environment = Environment.from_spec(
                environment.get("name") or "atelier-default",
                environment["spec"],
                version=str(version) if version is not None else None,
            )
        config.environment_variables = dict(data.get("environment_variables") or {})
        config.max_run_duration_seconds = int(
            data.get("max_run_duration_seconds") or MAX_DURATION_SECONDS
        )
        config.node_count = int(data.get("node_count") or 1)
        config.max_retries = _retries(data.get("max_retries") or 0)
        docker = data.get("docker")
        if isinstance(docker, dict):
            config.docker = DockerConfiguration(**docker)
        config.distributed_job_config = distributed_from_dict(data.get("distributed_job_config"))
        return config

    def save(
        self,
        path: str | Path | None = None,
        name: str | None = None,
        separate_environment_yaml: bool = False,
    ) -> Path:
        """Write ``<path>/.atelier/<name>.runconfig`` (default name ``default``)."""
        del separate_environment_yaml
        target = Path(path or ".") / CONFIG_DIR / f"{name or 'default'}.runconfig"
        target.parent.mkdir(parents=True, exist_ok=True)
        import yaml  # YAML is read and written on demand: kept out of `import atelier`

        target.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False), encoding="utf-8")
        return target

    @classmethod
    def load(cls, path: str | Path | None = None, name: str | None = None) -> RunConfiguration:
        """Read a configuration saved with :meth:`save` (or the YAML file ``path`` itself)."""
        source = Path(path or ".")
        if source.is_dir():
            source = source / CONFIG_DIR / f"{name or 'default'}.runconfig"
        if not source.is_file():
            raise NotFoundError(
                f"no run configuration at {source}; write one with "
                "RunConfiguration.save(path, name)"
            )
        import yaml  # see save

        try:
            data = yaml.safe_load(source.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ValidationError(f"{source} is not valid YAML: {exc}") from exc
        return cls.from_dict(data)


class ScriptRunConfig:
    """A script (or command) in a source directory, ready for ``Experiment.submit``."""

    def __init__(
        self,
        source_directory: str | Path,
        script: str | None = None,
        arguments: list[Any] | None = None,
        run_config: RunConfiguration | None = None,
        _telemetry_values: Any = None,
        compute_target: str | ComputeTarget | None = None,
        environment: Environment | None = None,
        distributed_job_config: Any = None,
        resume_from: Any = None,
        max_run_duration_seconds: int | None = None,
        command: str | list[str] | None = None,
        docker_runtime_config: DockerConfiguration | None = None,
        **kwargs: Any,
    ) -> None:
        del _telemetry_values, resume_from, kwargs
        self.source_directory = str(source_directory)
        self.run_config = run_config or RunConfiguration()
        if script is not None:
            self.run_config.script = script
        if command is not None:
            self.run_config.command = command
        if arguments is not None:
            self.run_config.arguments = list(arguments)
        if compute_target is not None:
            self.run_config.target = _target_name(compute_target)
        if environment is not None:
            if not isinstance(environment, Environment):
                raise ValidationError("environment must be an atelier Environment")
            self.run_config.environment = environment
        if max_run_duration_seconds is not None:
            if not isinstance(max_run_duration_seconds, int) or max_run_duration_seconds < 1:
                raise ValidationError("max_run_duration_seconds must be a whole number >= 1")
            self.run_config.max_run_duration_seconds = max_run_duration_seconds
        if docker_runtime_config is not None:
            if not isinstance(docker_runtime_config, DockerConfiguration):
                raise ValidationError("docker_runtime_config must be a DockerConfiguration")
            self.run_config.docker = docker_runtime_config
        if distributed_job_config is not None:
            if not isinstance(distributed_job_config, _DistributedConfiguration):
                raise ValidationError(
                    "distributed_job_config must be an MpiConfiguration or a PyTorchConfiguration"
                )
            self.run_config.distributed_job_config = distributed_job_config

    @property
    def script(self) -> str | None:
        return self.run_config.script

    @property
    def arguments(self) -> list[Any]:
        return self.run_config.arguments

    @property
    def compute_target(self) -> str:
        return _target_name(self.run_config.target)

    @property
    def environment(self) -> Environment:
        return self.run_config.environment

    @property
    def distributed_job_config(self) -> _DistributedConfiguration | None:
        return self.run_config.distributed_job_config
