"""From a ``ParallelRunConfig`` and its inputs to something that runs.

:func:`prepare` gives what a pipeline step needs (a source folder to snapshot, the script
to start, its arguments with the dataset placeholders, the environment, the compute
target and variables), as a :class:`ParallelRunLaunch`. Its
:meth:`ParallelRunLaunch.script_run_config` is a ``ScriptRunConfig`` that
``Experiment.submit`` runs as an ordinary run today::

    launch = prepare(config, [ds.as_named_input("images")], OutputFileDatasetConfig("scores"))
    run = Experiment(ws, "batch").submit(launch.script_run_config())

The source folder is the config's ``source_directory`` (after its ``.amlignore`` rules)
plus a two-line launcher and the configuration as JSON, staged (hard links where the
filesystem allows) under ``$ATELIER_HOME/cache/parallel_run/<content hash>`` so that the
same configuration over the same files stages to the same folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from atelier.core.errors import ValidationError
from atelier.core.settings import load_settings
from atelier.sdk.compute.environment import Environment
from atelier.sdk.data._dataset_base import AbstractDataset
from atelier.sdk.data._inputs import DatasetConsumptionConfig
from atelier.sdk.parallel_run._sizes import files_per_batch
from atelier.sdk.parallel_run.config import ParallelRunConfig
from atelier.sdk.tracking import _snapshot
from atelier.sdk.tracking.runconfig import ScriptRunConfig

LAUNCHER = "_atelier_parallel_run.py"
CONFIG_FILE = "_atelier_parallel_run.json"
_LAUNCHER_TEXT = (
    "from atelier.sdk.parallel_run.driver import main\n\n"
    'if __name__ == "__main__":\n'
    "    raise SystemExit(main())\n"
)


@dataclass(frozen=True)
class ParallelRunLaunch:
    """What a ParallelRunStep runs: ``python <script> <arguments>`` in a snapshot of
    ``source_directory``, in ``environment`` on ``compute_target``. ``arguments`` hold the
    inputs' ``DatasetConsumptionConfig`` and the output (replaced by local paths when the
    run starts)."""

    source_directory: str
    script: str
    arguments: list[Any]
    environment: Environment
    compute_target: str
    environment_variables: dict[str, str] = field(default_factory=dict)
    inputs: list[DatasetConsumptionConfig] = field(default_factory=list)

    def script_run_config(self) -> ScriptRunConfig:
        """An ordinary ``ScriptRunConfig`` that runs the driver, for ``Experiment.submit``."""
        config = ScriptRunConfig(
            source_directory=self.source_directory,
            script=self.script,
            arguments=list(self.arguments),
            compute_target=self.compute_target,
            environment=self.environment,
        )
        config.run_config.environment_variables.update(self.environment_variables)
        return config


def _named_inputs(inputs: list[Any]) -> list[DatasetConsumptionConfig]:
    if not isinstance(inputs, list) or not inputs:
        raise ValidationError(
            "a ParallelRunStep needs inputs: a list of FileDatasets or TabularDatasets "
            "(ds.as_named_input('name'))"
        )
    named: list[DatasetConsumptionConfig] = []
    for index, given in enumerate(inputs):
        item = given
        if isinstance(item, AbstractDataset):
            item = item.as_named_input(item.name or f"input_{index}")
        if not isinstance(item, DatasetConsumptionConfig):
            raise ValidationError(
                f"input {index} is a {type(item).__name__}; give a FileDataset or "
                "TabularDataset, or ds.as_named_input('name')"
            )
        named.append(item)
    kinds = {item.dataset._kind for item in named}
    if len(kinds) > 1:
        raise ValidationError(
            "the inputs of one ParallelRunStep must all be FileDatasets or all TabularDatasets"
        )
    return named


def _check_against_inputs(config: ParallelRunConfig, kind: str) -> None:
    if kind == "file":
        files_per_batch(config.mini_batch_size)
        if config.partition_keys:
            raise ValidationError("partition_keys apply to TabularDataset inputs only")


def prepare(
    parallel_run_config: ParallelRunConfig,
    inputs: list[Any],
    output: Any = None,
    arguments: list[Any] | None = None,
) -> ParallelRunLaunch:
    """What a ``ParallelRunStep(parallel_run_config, inputs, output, arguments)`` runs.

    ``output`` is where results go (an ``OutputFileDatasetConfig``, or anything whose
    ``str()`` becomes a folder path in the run, such as a pipeline's data placeholder);
    without it they go to the run's ``outputs/``. ``arguments`` reach the entry script in
    ``sys.argv``. Raises ``ValidationError`` for inputs that do not fit the configuration."""
    if not isinstance(parallel_run_config, ParallelRunConfig):
        raise ValidationError("parallel_run_config must be a ParallelRunConfig")
    named = _named_inputs(inputs)
    kind = named[0].dataset._kind
    _check_against_inputs(parallel_run_config, kind)
    document = {
        **parallel_run_config.to_dict(),
        "inputs": [{"name": item.name, "kind": item.dataset._kind} for item in named],
    }
    folder = _stage(Path(parallel_run_config.source_directory), document)
    driver_arguments: list[Any] = ["--config", CONFIG_FILE]
    for item in named:
        driver_arguments += ["--input", item]
    if output is not None:
        driver_arguments += ["--output", output]
    user_arguments = list(arguments or [])
    if user_arguments:
        driver_arguments += ["--", *user_arguments]
    variables = dict(parallel_run_config.environment_variables)
    return ParallelRunLaunch(
        source_directory=str(folder),
        script=LAUNCHER,
        arguments=driver_arguments,
        environment=parallel_run_config.environment,
        compute_target=parallel_run_config.compute_target_name,
        environment_variables=variables,
        inputs=named,
    )


def _stage(source: Path, document: dict[str, Any]) -> Path:
    files = _snapshot.collect(source)
    for relative in (LAUNCHER, CONFIG_FILE):
        if any(f[0] == relative for f in files):
            raise ValidationError(
                f"source_directory holds {relative}, a name Atelier reserves; rename it"
            )
    config_text = json.dumps(document, indent=2, sort_keys=True)
    digest = hashlib.sha256(config_text.encode())
    for relative, local, mode in files:
        stat = local.stat()
        digest.update(f"{relative}\0{stat.st_size}\0{stat.st_mtime_ns}\0{mode}\n".encode())
    root = load_settings().home / "cache" / "parallel_run"
    folder = root / digest.hexdigest()[:24]
    if folder.is_dir():
        return folder
    partial = root / f".{folder.name}.{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    for relative, local, mode in files:
        target = partial / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(local, target)
        except OSError:
            shutil.copy2(local, target)
        target.chmod(mode)
    partial.mkdir(parents=True, exist_ok=True)
    (partial / LAUNCHER).write_text(_LAUNCHER_TEXT, encoding="utf-8")
    (partial / CONFIG_FILE).write_text(config_text, encoding="utf-8")
    try:
        partial.rename(folder)
    except OSError:  # staged meanwhile by another process: theirs is the same
        shutil.rmtree(partial, ignore_errors=True)
    return folder
