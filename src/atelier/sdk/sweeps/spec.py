"""A sweep described in a YAML file (``atelier sweep submit -f sweep.yml``)::

experiment: iris-sweep
source_dir: train            # relative to this file's folder
script: train.py
arguments: [--data, iris]    # sampled values replace or extend these
compute: local
environment: sklearn:3       # a registered environment (optional)
sampling: random             # random | grid | bayesian
seed: 42                     # optional
parameters:
  --C: {uniform: [0.01, 10]}
  --kernel: {choice: [linear, rbf]}
policy:                      # optional: bandit | median_stopping | truncation_selection
  bandit: {slack_factor: 0.1, evaluation_interval: 1, delay_evaluation: 2}
primary_metric: {name: accuracy, goal: maximize}
max_total_runs: 8
max_concurrent_runs: 2
max_duration_minutes: 60
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from atelier.core.errors import NotFoundError, ValidationError
from atelier.sdk.compute.environment import Environment
from atelier.sdk.sweeps.config import HyperDriveConfig
from atelier.sdk.sweeps.parameters import check_expression
from atelier.sdk.sweeps.policies import (
    BanditPolicy,
    EarlyTerminationPolicy,
    MedianStoppingPolicy,
    TruncationSelectionPolicy,
)
from atelier.sdk.sweeps.sampling import (
    BayesianParameterSampling,
    GridParameterSampling,
    RandomParameterSampling,
)
from atelier.sdk.tracking.runconfig import ScriptRunConfig

if TYPE_CHECKING:
    from atelier.sdk.workspace import Workspace

__all__ = ["SweepSpec", "load_sweep"]

_SAMPLINGS = {
    "random": RandomParameterSampling,
    "grid": GridParameterSampling,
    "bayesian": BayesianParameterSampling,
}
_POLICIES: dict[str, type[EarlyTerminationPolicy]] = {
    "bandit": BanditPolicy,
    "median_stopping": MedianStoppingPolicy,
    "truncation_selection": TruncationSelectionPolicy,
}
_KEYS = {
    "experiment", "source_dir", "script", "arguments", "compute", "environment", "sampling",
    "seed", "parameters", "policy", "primary_metric", "max_total_runs",
    "max_concurrent_runs", "max_duration_minutes",
}  # fmt: skip


class SweepSpec:
    """A parsed sweep file: the experiment to submit to and the configuration."""

    def __init__(self, experiment: str, config: HyperDriveConfig) -> None:
        self.experiment = experiment
        self.config = config


def _expression(name: str, value: Any) -> list[Any]:
    if not isinstance(value, dict) or len(value) != 1:
        raise ValidationError(
            f"parameter {name!r} must be one expression such as {{uniform: [0.01, 1]}} or "
            "{choice: [a, b]}"
        )
    ((kind, arguments),) = value.items()
    if kind == "choice":
        return check_expression(["choice", [list(arguments or [])]])
    return check_expression([kind, arguments if isinstance(arguments, list) else [arguments]])


def _policy(value: Any) -> EarlyTerminationPolicy | None:
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) != 1:
        raise ValidationError(
            "policy must be one of {bandit: {...}}, {median_stopping: {...}}, "
            "{truncation_selection: {...}}"
        )
    ((kind, settings),) = value.items()
    policy_class = _POLICIES.get(str(kind))
    if policy_class is None:
        raise ValidationError(f"unknown policy {kind!r}; use one of {', '.join(_POLICIES)}")
    try:
        return policy_class(**(settings or {}))
    except TypeError as exc:
        raise ValidationError(f"policy {kind}: {exc}") from None


def _environment(workspace: Workspace, value: Any) -> Environment | None:
    if value is None:
        return None
    name, sep, version = str(value).partition(":")
    if not name or (sep and not version):
        raise ValidationError(f"environment {value!r} must be NAME or NAME:VERSION")
    return Environment.get(workspace, name, version or None)


def load_sweep(path: Path, workspace: Workspace) -> SweepSpec:
    """The sweep ``path`` describes; ``ValidationError`` names the first thing wrong in it."""
    if not path.is_file():
        raise NotFoundError(f"sweep file {path} not found")
    import yaml  # the CLI imports this module for every command: keep YAML out of its start

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValidationError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ValidationError(f"{path} must hold a mapping of sweep settings")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ValidationError(f"{path}: unknown setting(s) {', '.join(unknown)}")
    for key in ("experiment", "script", "parameters", "primary_metric", "max_total_runs"):
        if key not in data:
            raise ValidationError(f"{path}: '{key}' is missing")
    sampling_class = _SAMPLINGS.get(str(data.get("sampling", "random")).lower())
    if sampling_class is None:
        raise ValidationError(f"sampling must be one of {', '.join(_SAMPLINGS)}")
    parameters = data["parameters"]
    if not isinstance(parameters, dict) or not parameters:
        raise ValidationError("parameters must map script arguments to expressions")
    space = {str(name): _expression(str(name), value) for name, value in parameters.items()}
    properties = {"seed": data["seed"]} if data.get("seed") is not None else None
    metric = data["primary_metric"]
    if not isinstance(metric, dict) or "name" not in metric:
        raise ValidationError("primary_metric must be {name: NAME, goal: maximize|minimize}")
    source = (path.parent / str(data.get("source_dir", "."))).resolve()
    run_config = ScriptRunConfig(
        source_directory=source,
        script=str(data["script"]),
        arguments=list(data.get("arguments") or []) or None,
        compute_target=data.get("compute"),
        environment=_environment(workspace, data.get("environment")),
    )
    config = HyperDriveConfig(
        run_config=run_config,
        hyperparameter_sampling=sampling_class(space, properties),
        policy=_policy(data.get("policy")),
        primary_metric_name=str(metric["name"]),
        primary_metric_goal=str(metric.get("goal", "maximize")),
        max_total_runs=data["max_total_runs"],
        max_concurrent_runs=data.get("max_concurrent_runs"),
        max_duration_minutes=data.get("max_duration_minutes", 10080),
    )
    return SweepSpec(str(data["experiment"]), config)
