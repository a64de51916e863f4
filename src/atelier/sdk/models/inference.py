"""``InferenceConfig``: which entry script scores requests, from which folder, in which environment.

The signature follows ``azureml.core.model.InferenceConfig``. Atelier uses
``entry_script``, ``source_directory`` and ``environment``; the Docker-era arguments
(``runtime``, ``conda_file``, ``base_image`` …) are accepted so ported code runs, and kept
only for :meth:`InferenceConfig.to_dict`.

The entry script must define ``init()`` and ``run(data)``; the scoring runtime in
:mod:`atelier.serving` loads it.
"""

from __future__ import annotations

from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

from atelier.core.errors import NotFoundError, ValidationError

if TYPE_CHECKING:
    from atelier.sdk.compute.environment import Environment

__all__ = ["InferenceConfig"]


class InferenceConfig:
    """How a model is scored: an entry script inside a source directory, and its environment.

    Raises :class:`~atelier.core.errors.ValidationError` when ``entry_script`` is missing,
    absolute or points outside ``source_directory``, and
    :class:`~atelier.core.errors.NotFoundError` when the folder or the script does not exist.
    """

    def __init__(
        self,
        entry_script: str | Path | None = None,
        runtime: str | None = None,
        conda_file: str | Path | None = None,
        extra_docker_file_steps: str | Path | None = None,
        source_directory: str | Path | None = None,
        enable_gpu: bool | None = None,
        description: str | None = None,
        base_image: str | None = None,
        base_image_registry: Any = None,
        cuda_version: str | None = None,
        environment: Environment | None = None,
    ) -> None:
        self.source_directory = Path(source_directory) if source_directory is not None else Path()
        self.entry_script = _checked_entry_script(entry_script, self.source_directory)
        self.environment = environment
        self.runtime = runtime
        self.conda_file = str(conda_file) if conda_file is not None else None
        self.extra_docker_file_steps = (
            str(extra_docker_file_steps) if extra_docker_file_steps is not None else None
        )
        self.enable_gpu = enable_gpu
        self.description = description
        self.base_image = base_image
        self.base_image_registry = base_image_registry
        self.cuda_version = cuda_version

    @property
    def entry_script_path(self) -> Path:
        """The entry script's full path (``source_directory / entry_script``)."""
        return self.source_directory / self.entry_script

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-ready description of this configuration."""
        environment = None
        if self.environment is not None:
            environment = {"name": self.environment.name, "version": self.environment.version}
        return {
            "entryScript": self.entry_script,
            "sourceDirectory": str(self.source_directory),
            "environment": environment,
            "runtime": self.runtime,
            "condaFile": self.conda_file,
            "extraDockerFileSteps": self.extra_docker_file_steps,
            "enableGpu": self.enable_gpu,
            "description": self.description,
            "baseImage": self.base_image,
            "cudaVersion": self.cuda_version,
        }

    def __repr__(self) -> str:
        return (
            f"InferenceConfig(entry_script={self.entry_script!r}, "
            f"source_directory={str(self.source_directory)!r})"
        )


def _checked_entry_script(entry_script: str | Path | None, source_directory: Path) -> str:
    """The entry script as a POSIX path relative to ``source_directory``, checked to exist."""
    if entry_script is None or str(entry_script).strip() == "":
        raise ValidationError(
            "InferenceConfig needs entry_script: pass the scoring script's path relative to "
            "source_directory, e.g. InferenceConfig(entry_script='score.py', source_directory='.')"
        )
    relative = PurePath(entry_script)
    if relative.is_absolute():
        raise ValidationError(
            f"entry_script {str(entry_script)!r} is absolute; pass it relative to "
            f"source_directory ({str(source_directory)!r}), e.g. entry_script={relative.name!r}"
        )
    if ".." in relative.parts:
        raise ValidationError(
            f"entry_script {str(entry_script)!r} leaves source_directory "
            f"({str(source_directory)!r}); move the script inside that folder or widen "
            "source_directory"
        )
    if not source_directory.is_dir():
        raise NotFoundError(
            f"source_directory {str(source_directory)!r} is not a folder; create it or pass the "
            "folder that holds the entry script"
        )
    script = source_directory / relative
    if not script.is_file():
        raise NotFoundError(
            f"entry script {relative.as_posix()!r} not found in {str(source_directory)!r}; "
            "check the file name or the source_directory"
        )
    try:
        script.resolve().relative_to(source_directory.resolve())
    except ValueError:
        raise ValidationError(
            f"entry_script {str(entry_script)!r} resolves outside source_directory "
            f"({str(source_directory)!r}); a symbolic link may point away from it"
        ) from None
    return relative.as_posix()
