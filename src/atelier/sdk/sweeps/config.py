"""``HyperDriveConfig`` and ``PrimaryMetricGoal``, with azureml v1's names and defaults.

``Experiment(ws, "x").submit(HyperDriveConfig(...))`` validates the whole sweep before
anything runs, snapshots the source once, records the sweep's parent run (with the whole
configuration in its definition) and starts the sweep's controller, a detached process
(:mod:`atelier.sdk.sweeps._controller`) that runs the trials as child runs.
"""

from __future__ import annotations

import enum
import json
import secrets
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atelier.core.errors import ValidationError
from atelier.core.extras import require_extra
from atelier.core.status import RunStatus
from atelier.sdk.sweeps import _launch
from atelier.sdk.sweeps.policies import EarlyTerminationPolicy, NoTerminationPolicy
from atelier.sdk.sweeps.run import HYPERDRIVE_RUN_TYPE, HyperDriveRun
from atelier.sdk.sweeps.sampling import BayesianParameterSampling, HyperParameterSampling
from atelier.sdk.tracking import _snapshot
from atelier.sdk.tracking._submit import _definition
from atelier.sdk.tracking.run import Run
from atelier.sdk.tracking.runconfig import ScriptRunConfig

if TYPE_CHECKING:
    from atelier.client.backend import Backend
    from atelier.sdk.tracking.experiment import Experiment

__all__ = ["HyperDriveConfig", "PrimaryMetricGoal"]

_MAX_TOTAL_RUNS = 1000
_BAYESIAN_RUNS_PER_PARAMETER = 20


class PrimaryMetricGoal(enum.Enum):
    """Whether the primary metric is to be maximized or minimized."""

    MAXIMIZE = "MAXIMIZE"
    MINIMIZE = "MINIMIZE"

    @classmethod
    def from_str(cls, goal: Any) -> PrimaryMetricGoal:
        if isinstance(goal, cls):
            return goal
        try:
            return cls(str(goal).upper())
        except ValueError:
            raise ValidationError(
                f"primary_metric_goal {goal!r} must be PrimaryMetricGoal.MAXIMIZE or MINIMIZE"
            ) from None


def _positive(name: str, value: Any, upper: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"{name} must be a whole number >= 1, got {value!r}")
    if upper is not None and value > upper:
        raise ValidationError(f"{name} must be at most {upper}, got {value}")
    return value


class HyperDriveConfig:
    """A sweep: the script (``run_config``, a ``ScriptRunConfig``), the parameter space and
    its sampling, the early-termination policy, the primary metric and its goal, and the
    budget (``max_total_runs``, ``max_concurrent_runs``, ``max_duration_minutes``).

    ``resume_from`` (a HyperDriveRun or a list of them) warm-starts the sampler with those
    sweeps' scored trials; ``resume_child_runs`` (trial runs) are run again first, with the
    same hyperparameters. Raises ``ValidationError`` for a configuration Azure refuses."""

    def __init__(
        self,
        hyperparameter_sampling: HyperParameterSampling,
        primary_metric_name: str,
        primary_metric_goal: PrimaryMetricGoal | str,
        max_total_runs: int,
        max_concurrent_runs: int | None = None,
        max_duration_minutes: int = 10080,
        policy: EarlyTerminationPolicy | None = None,
        estimator: Any = None,
        run_config: ScriptRunConfig | None = None,
        resume_from: Any = None,
        resume_child_runs: Any = None,
        pipeline: Any = None,
        debug_flag: Any = None,
        custom_run_id: str | None = None,
    ) -> None:
        del debug_flag
        if estimator is not None or pipeline is not None:
            raise ValidationError(
                "estimators and pipelines are not swept here; pass the script as "
                "run_config=ScriptRunConfig(...)"
            )
        if not isinstance(run_config, ScriptRunConfig):
            raise ValidationError("HyperDriveConfig needs run_config=ScriptRunConfig(...)")
        if not isinstance(hyperparameter_sampling, HyperParameterSampling):
            raise ValidationError(
                "hyperparameter_sampling must be a RandomParameterSampling, "
                "GridParameterSampling or BayesianParameterSampling"
            )
        if not isinstance(primary_metric_name, str) or not primary_metric_name.strip():
            raise ValidationError("primary_metric_name must name the metric the script logs")
        policy = policy if policy is not None else NoTerminationPolicy()
        if not isinstance(policy, EarlyTerminationPolicy):
            raise ValidationError(
                "policy must be a BanditPolicy, MedianStoppingPolicy, "
                "TruncationSelectionPolicy or NoTerminationPolicy"
            )
        bayesian = isinstance(hyperparameter_sampling, BayesianParameterSampling)
        if bayesian and not isinstance(policy, NoTerminationPolicy):
            raise ValidationError(
                "Bayesian sampling does not support early termination policies; "
                "use policy=None (or NoTerminationPolicy()), or random sampling"
            )
        self._run_config = run_config
        self._sampling = hyperparameter_sampling
        self._policy = policy
        self._primary_metric_name = primary_metric_name
        self._goal = PrimaryMetricGoal.from_str(primary_metric_goal)
        self._max_total_runs = _positive("max_total_runs", max_total_runs, _MAX_TOTAL_RUNS)
        self._max_concurrent_runs = (
            None
            if max_concurrent_runs is None
            else _positive("max_concurrent_runs", max_concurrent_runs)
        )
        self._max_duration_minutes = _positive("max_duration_minutes", max_duration_minutes)
        self._resume_from = _run_ids(resume_from, "resume_from")
        self._resume_child_runs = _run_ids(resume_child_runs, "resume_child_runs")
        self._custom_run_id = custom_run_id
        parameters = len(hyperparameter_sampling.parameter_space)
        if bayesian and max_total_runs < _BAYESIAN_RUNS_PER_PARAMETER * parameters:
            warnings.warn(
                f"Bayesian sampling works best with max_total_runs >= "
                f"{_BAYESIAN_RUNS_PER_PARAMETER} x the number of parameters "
                f"({_BAYESIAN_RUNS_PER_PARAMETER * parameters}); got {max_total_runs}",
                UserWarning,
                stacklevel=2,
            )

    # azureml's read-only views of the configuration
    @property
    def run_config(self) -> ScriptRunConfig:
        return self._run_config

    @property
    def estimator(self) -> None:
        return None

    @property
    def source_directory(self) -> str:
        return str(self._run_config.source_directory)

    @property
    def primary_metric_name(self) -> str:
        return self._primary_metric_name

    @property
    def primary_metric_goal(self) -> PrimaryMetricGoal:
        return self._goal

    @property
    def policy(self) -> EarlyTerminationPolicy:
        return self._policy

    @property
    def hyperparameter_sampling(self) -> HyperParameterSampling:
        return self._sampling

    @property
    def max_total_runs(self) -> int:
        return self._max_total_runs

    @property
    def max_concurrent_runs(self) -> int | None:
        return self._max_concurrent_runs

    @property
    def max_duration_minutes(self) -> int:
        return self._max_duration_minutes

    def to_dict(self) -> dict[str, Any]:
        """The sweep's settings as stored in its parent run's definition."""
        return {
            "sampling": self._sampling.to_dict(),
            "policy": self._policy.to_dict(),
            "primary_metric_name": self._primary_metric_name,
            "primary_metric_goal": self._goal.value,
            "max_total_runs": self._max_total_runs,
            "max_concurrent_runs": self._max_concurrent_runs,
            "max_duration_minutes": self._max_duration_minutes,
            "resume_from": self._resume_from,
            "resume_child_runs": self._resume_child_runs,
        }

    # --- submission ------------------------------------------------------------------
    def settings_for(self, backend: Backend, workspace: str, target: str) -> dict[str, Any]:
        """The settings a sweep on ``target`` records: ``to_dict()`` with the concurrency
        checked against the target and a sampling seed every controller shares. Raises
        ``ValidationError`` when the target runs fewer trials at once than asked."""
        settings = self.to_dict()
        limit = int(backend.compute.get(workspace, target).config.get("max_concurrent_runs") or 1)
        concurrent = self._max_concurrent_runs or limit
        if concurrent > limit:
            raise ValidationError(
                f"max_concurrent_runs={concurrent} is more than compute target "
                f"{target!r} runs at once ({limit}); lower it or raise the target's "
                "max_concurrent_runs"
            )
        settings["max_concurrent_runs"] = concurrent
        # every controller of the sweep samples from the same seed (a grid keeps its order)
        settings["seed"] = secrets.randbelow(2**31)
        self._sampling.distributions()  # every expression maps onto Optuna before anything runs
        return settings

    def _submit_to(
        self, experiment: Experiment, tags: dict[str, Any] | None, **kwargs: Any
    ) -> HyperDriveRun:
        """Validate, snapshot once, record the parent run and start the controller.
        ``_parent_run_id=`` makes the sweep a child of that run (a pipeline step)."""
        require_extra("sweep", "a HyperDrive sweep")  # Optuna samples and stores the study
        parent_run_id = kwargs.pop("_parent_run_id", None)
        backend = experiment._backend
        workspace = experiment.workspace.name
        trial = _definition(self._run_config, experiment)
        settings = self.settings_for(backend, workspace, trial["target"])
        files = _snapshot.collect(Path(self._run_config.source_directory))
        snapshot = backend.snapshots.create(workspace, files)
        record = backend.runs.create(
            workspace,
            experiment.name,
            run_id=self._custom_run_id,
            parent_run_id=parent_run_id,
            status=RunStatus.RUNNING,
            run_type=HYPERDRIVE_RUN_TYPE,
            target=trial["target"],
            tags=tags,
            properties=sweep_properties(settings),
            definition={"hyperdrive": settings, "trial": trial},
            snapshot_id=snapshot.id,
        )
        _launch.start_controller(backend, workspace, record.run_id)
        return HyperDriveRun(experiment, record.run_id, _record=record)


def sweep_properties(settings: dict[str, Any]) -> dict[str, str]:
    """The properties azureml shows on a sweep's parent run."""
    goal = "maximize" if settings["primary_metric_goal"] == "MAXIMIZE" else "minimize"
    metric = json.dumps({"name": settings["primary_metric_name"], "goal": goal})
    return {
        "azureml.runsource": HYPERDRIVE_RUN_TYPE,
        "primary_metric_config": metric,
        "runTemplate": "HyperDrive",
    }


def _run_ids(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list | tuple) else [value]
    ids = []
    for item in items:
        if isinstance(item, Run):
            ids.append(item.id)
        elif isinstance(item, str) and item:
            ids.append(item)
        else:
            raise ValidationError(f"{name} takes runs (or their ids), got {item!r}")
    return ids
