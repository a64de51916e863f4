"""``ParallelRunConfig``: how a ``ParallelRunStep`` scores a dataset in mini-batches.

Same arguments, defaults and ranges as azureml v1's
``azureml.pipeline.steps.ParallelRunConfig``; every value is checked when the object is
made (a :class:`~atelier.core.errors.ValidationError`, which is a ``ValueError`` as in
azureml), and the entry script must define ``init()`` and ``run(mini_batch)``
(:class:`~atelier.core.errors.EntryScriptError` otherwise), so nothing starts with a
configuration that cannot work.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from atelier.core.errors import NotFoundError, ValidationError
from atelier.sdk.compute.environment import Environment
from atelier.sdk.parallel_run._entry import check_entry_script
from atelier.sdk.parallel_run._sizes import check_mini_batch_size

if TYPE_CHECKING:
    from atelier.sdk.compute.targets import ComputeTarget
    from atelier.sdk.workspace import Workspace

OUTPUT_ACTIONS = ("append_row", "summary_only")
DEFAULT_APPEND_ROW_FILE = "parallel_run_step.txt"
LOGGING_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_INT_MAX = 2**31 - 1


def _whole(name: str, value: object, low: int, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= _INT_MAX:
        raise ValidationError(
            f"{name} must be a whole number in [{low}, {_INT_MAX}], not {value!r}"
        )
    return value


def _target_name(target: str | ComputeTarget) -> str:
    name = target if isinstance(target, str) else getattr(target, "name", None)
    if not isinstance(name, str) or not name:
        raise ValidationError("compute_target must be a compute target's name or a ComputeTarget")
    return name


class ParallelRunConfig:
    """What a ``ParallelRunStep`` runs and how: the entry script (``init()`` once per
    process, ``run(mini_batch)`` per mini-batch), how big a mini-batch is, how many
    processes on how many nodes, and how many failures are tolerated.

    ``error_threshold`` counts failed items (rows of a TabularDataset, files of a
    FileDataset: a mini-batch that failed every try, or items for which ``run`` returned
    no result); ``allowed_failed_count`` and ``allowed_failed_percent`` count failed
    mini-batches. ``-1`` ignores failures; the step fails as soon as any limit is passed.
    """

    def __init__(
        self,
        environment: Environment,
        entry_script: str,
        error_threshold: int,
        output_action: str,
        compute_target: str | ComputeTarget,
        node_count: int,
        process_count_per_node: int | None = None,
        mini_batch_size: str | int | None = None,
        source_directory: str | Path | None = None,
        description: str | None = None,
        logging_level: str = "INFO",
        run_invocation_timeout: int = 60,
        run_max_try: int = 3,
        append_row_file_name: str | None = None,
        allowed_failed_count: int | None = None,
        allowed_failed_percent: float | None = None,
        partition_keys: list[str] | None = None,
        environment_variables: dict[str, str] | None = None,
    ) -> None:
        if not isinstance(environment, Environment):
            raise ValidationError("environment must be an atelier Environment")
        self.environment = environment
        self.source_directory, self.entry_script = _script_location(entry_script, source_directory)
        check_entry_script(Path(self.source_directory) / self.entry_script)
        self.error_threshold = _whole("error_threshold", error_threshold, -1)
        if output_action not in OUTPUT_ACTIONS:
            raise ValidationError(
                f"output_action must be 'append_row' or 'summary_only', not {output_action!r}"
            )
        self.output_action = output_action
        self.compute_target = compute_target
        _target_name(compute_target)
        self.node_count = _whole("node_count", node_count, 1)
        self.process_count_per_node = _whole(
            "process_count_per_node", process_count_per_node, 1, allow_none=True
        )
        if partition_keys is not None:
            if mini_batch_size is not None:
                raise ValidationError(
                    "give either partition_keys or mini_batch_size, not both: with "
                    "partition_keys each partition is one mini-batch"
                )
            if (
                not isinstance(partition_keys, list)
                or not partition_keys
                or not all(isinstance(k, str) and k for k in partition_keys)
            ):
                raise ValidationError("partition_keys must be a non-empty list of column names")
        self.partition_keys = partition_keys
        self.mini_batch_size = check_mini_batch_size(mini_batch_size)
        self.description = description
        if not isinstance(logging_level, str) or logging_level.upper() not in LOGGING_LEVELS:
            raise ValidationError(
                f"logging_level must be one of {', '.join(LOGGING_LEVELS)}, not {logging_level!r}"
            )
        self.logging_level = logging_level.upper()
        self.run_invocation_timeout = _whole("run_invocation_timeout", run_invocation_timeout, 1)
        self.run_max_try = _whole("run_max_try", run_max_try, 1)
        self.append_row_file_name = _file_name(append_row_file_name, output_action)
        self.allowed_failed_count = _whole(
            "allowed_failed_count", allowed_failed_count, -1, allow_none=True
        )
        self.allowed_failed_percent = _percent(allowed_failed_percent)
        if environment_variables is not None and (
            not isinstance(environment_variables, dict)
            or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in environment_variables.items()
            )
        ):
            raise ValidationError("environment_variables must map names to text values")
        self.environment_variables = dict(environment_variables or {})

    @property
    def compute_target_name(self) -> str:
        return _target_name(self.compute_target)

    def to_dict(self) -> dict[str, Any]:
        """What the driver inside the run reads (no environment: the run carries it)."""
        return {
            "entry_script": self.entry_script,
            "error_threshold": self.error_threshold,
            "output_action": self.output_action,
            "node_count": self.node_count,
            "process_count_per_node": self.process_count_per_node,
            "mini_batch_size": self.mini_batch_size,
            "logging_level": self.logging_level,
            "run_invocation_timeout": self.run_invocation_timeout,
            "run_max_try": self.run_max_try,
            "append_row_file_name": self.append_row_file_name,
            "allowed_failed_count": self.allowed_failed_count,
            "allowed_failed_percent": self.allowed_failed_percent,
            "partition_keys": self.partition_keys,
        }

    def save_to_yaml(self, path: str | Path) -> None:
        """Write the configuration as YAML (the environment by name and version)."""
        data = {
            **self.to_dict(),
            "source_directory": self.source_directory,
            "compute_target": self.compute_target_name,
            "description": self.description,
            "environment_variables": self.environment_variables,
            "environment": {"name": self.environment.name, "version": self.environment.version},
        }
        Path(path).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")

    @staticmethod
    def load_yaml(workspace: Workspace, path: str | Path) -> ParallelRunConfig:
        """Read a configuration written by :meth:`save_to_yaml`; its environment is
        fetched from the workspace's registry."""
        source = Path(path)
        if not source.is_file():
            raise NotFoundError(f"no parallel run configuration at {source}")
        try:
            data = yaml.safe_load(source.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ValidationError(f"{source} is not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise ValidationError(f"{source} must hold a mapping")
        env = data.pop("environment", None) or {}
        if not env.get("name"):
            raise ValidationError(f"{source} names no environment")
        environment = Environment.get(workspace, env["name"], env.get("version"))
        return ParallelRunConfig(environment=environment, **data)

    def __repr__(self) -> str:
        return (
            f"ParallelRunConfig(entry_script={self.entry_script!r}, "
            f"output_action={self.output_action!r}, mini_batch_size={self.mini_batch_size!r}, "
            f"node_count={self.node_count}, process_count_per_node={self.process_count_per_node})"
        )


def _script_location(entry_script: object, source_directory: str | Path | None) -> tuple[str, str]:
    if not isinstance(entry_script, str) or not entry_script:
        raise ValidationError("entry_script must be the path of a Python file")
    if source_directory is None:
        # as in azureml: without a source directory the script's own folder is uploaded
        script = Path(entry_script).resolve()
        return str(script.parent), script.name
    folder = Path(source_directory)
    if not folder.is_dir():
        raise NotFoundError(f"source_directory {str(folder)!r} does not exist or is not a folder")
    relative = Path(entry_script)
    if relative.is_absolute() or ".." in relative.parts:
        raise ValidationError(
            f"entry_script {entry_script!r} must be a path inside source_directory "
            f"{str(folder)!r}, relative to it"
        )
    return str(folder), relative.as_posix()


def _file_name(name: str | None, output_action: str) -> str:
    if name is None:
        return DEFAULT_APPEND_ROW_FILE
    if output_action != "append_row":
        raise ValidationError("append_row_file_name is only used with output_action='append_row'")
    if not isinstance(name, str) or not name or "/" in name or "\\" in name or name in (".", ".."):
        raise ValidationError(
            f"append_row_file_name must be a plain file name such as 'scores.txt', not {name!r}"
        )
    return name


def _percent(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise ValidationError(f"allowed_failed_percent must be a number in [0, 100], not {value!r}")
    return float(value)
