"""``AutoMLConfig``, with azureml v1's argument names and defaults.

``Experiment(ws, "x").submit(AutoMLConfig(...), show_output=True)`` checks the settings and
the data, records the AutoML parent run and drives the search from this process, as
azureml does for local compute (the iterations are computed in forked processes, at most
``max_concurrent_iterations`` at once, stopped at the budget). Each iteration is a child
run (its pipeline, hyperparameters, every metric of the task and its fitted model), then
the ensemble; ``submit`` returns the finished :class:`~atelier.sdk.automl.run.AutoMLRun`.
"""

from __future__ import annotations

import math
import uuid
from typing import TYPE_CHECKING, Any

from atelier.core.errors import NotFoundError, ValidationError
from atelier.core.extras import require_extra
from atelier.core.status import RunStatus
from atelier.sdk.automl import metrics as automl_metrics
from atelier.sdk.automl._arguments import (
    is_tabular,
    number,
    sample_weights,
    split_indices,
    timeout,
    training,
    validation,
)
from atelier.sdk.automl.featurization import FeaturizationConfig
from atelier.sdk.automl.forecasting import ForecastingParameters
from atelier.sdk.automl.models import check_models, families_for
from atelier.sdk.automl.run import AUTOML_RUN_TYPE, AutoMLRun

if TYPE_CHECKING:
    from atelier.sdk.tracking.experiment import Experiment

__all__ = ["AutoMLConfig"]

_DEFAULT_ITERATIONS = 1000
_MAX_ITERATIONS = 1000


class AutoMLConfig:
    """An automated ML experiment: the task, the data, the metric to optimize, the budget
    and which models may be tried. Raises ``ValidationError`` for settings Azure refuses
    (a metric that does not fit the task, two ways of validating at once, unknown models)."""

    # the settings added since the first searches: what a search state kept by an older
    # Atelier (read back by continue_experiment) has
    cv_splits_indices: list[tuple[Any, Any]] | None = None
    cv_split_column_names: list[str] | None = None
    ssh_config: dict[str, Any] | None = None

    def __init__(
        self,
        task: str,
        path: str | None = None,
        iterations: int | None = None,
        primary_metric: str | None = None,
        positive_label: Any = None,
        compute_target: Any = None,
        spark_context: Any = None,
        X: Any = None,
        y: Any = None,
        sample_weight: Any = None,
        X_valid: Any = None,
        y_valid: Any = None,
        sample_weight_valid: Any = None,
        cv_splits_indices: Any = None,
        validation_size: float | None = None,
        n_cross_validations: int | str | None = None,
        y_min: float | None = None,
        y_max: float | None = None,
        num_classes: int | None = None,
        featurization: str | FeaturizationConfig = "auto",
        max_cores_per_iteration: int = 1,
        max_concurrent_iterations: int = 1,
        iteration_timeout_minutes: float | None = None,
        mem_in_mb: int | None = None,
        enforce_time_on_windows: bool = True,
        experiment_timeout_hours: float | None = None,
        experiment_exit_score: float | None = None,
        enable_early_stopping: bool = True,
        blocked_models: list[str] | None = None,
        blacklist_models: list[str] | None = None,
        exclude_nan_labels: bool = True,
        verbosity: int = 20,
        enable_tf: bool = False,
        model_explainability: bool = True,
        allowed_models: list[str] | None = None,
        whitelist_models: list[str] | None = None,
        enable_onnx_compatible_models: bool = False,
        enable_voting_ensemble: bool = True,
        enable_stack_ensemble: bool | None = None,
        debug_log: str = "automl.log",
        training_data: Any = None,
        validation_data: Any = None,
        test_data: Any = None,
        test_size: float | None = None,
        label_column_name: str | None = None,
        weight_column_name: str | None = None,
        cv_split_column_names: list[str] | None = None,
        enable_local_managed: bool = False,
        enable_dnn: bool | None = None,
        forecasting_parameters: ForecastingParameters | None = None,
        **kwargs: Any,
    ) -> None:
        del path, spark_context, num_classes, mem_in_mb, enforce_time_on_windows, verbosity
        del enable_tf, model_explainability, debug_log
        del test_data, test_size, enable_local_managed, enable_dnn, y_min, y_max
        if task not in automl_metrics.TASKS:
            raise ValidationError(
                f"task {task!r} must be 'classification', 'regression' or 'forecasting'"
            )
        if weight_column_name is not None and (
            not isinstance(weight_column_name, str) or not weight_column_name
        ):
            raise ValidationError("weight_column_name must name a column of the training data")
        self.weight_column_name = weight_column_name
        self.enable_onnx_compatible_models = bool(enable_onnx_compatible_models)
        self.task = task
        self.primary_metric = automl_metrics.check_primary_metric(task, primary_metric)
        self.positive_label = positive_label
        self.compute_target = compute_target
        #: a Ray target's GCS address, or an SSH target's settings, found at submit
        self.ray_address: str | None = None
        self.ssh_config = None
        self.training_data, self.label_column_name = training(
            training_data, X, y, label_column_name
        )
        self.validation_data = validation(validation_data, X_valid, y_valid, self.label_column_name)
        given = {
            "training_data": training_data,
            "X": X,
            "validation_data": validation_data,
            "weight_column_name": weight_column_name,
        }
        self.weight_column_name = (
            sample_weights(
                self.training_data, sample_weight, self.validation_data, sample_weight_valid, given
            )
            or self.weight_column_name
        )
        self.cv_splits_indices = split_indices(cv_splits_indices)
        self.cv_split_column_names = _split_columns(cv_split_column_names)
        self._validation_settings(n_cross_validations, validation_size)
        self.iterations = number(
            "iterations", _DEFAULT_ITERATIONS if iterations is None else iterations, 1, True
        )
        if self.iterations > _MAX_ITERATIONS:
            raise ValidationError(f"iterations must be at most {_MAX_ITERATIONS}")
        self.experiment_timeout_minutes = timeout(experiment_timeout_hours, kwargs)
        self.iteration_timeout_minutes = (
            None
            if iteration_timeout_minutes is None
            else number("iteration_timeout_minutes", iteration_timeout_minutes, 0.0)
        )
        self.experiment_exit_score = (
            None
            if experiment_exit_score is None
            else number("experiment_exit_score", experiment_exit_score, -math.inf)
        )
        cores = max_cores_per_iteration
        if cores != -1:
            cores = number("max_cores_per_iteration", cores, 1, True)
        self.max_cores_per_iteration = cores
        self.max_concurrent_iterations = number(
            "max_concurrent_iterations", max_concurrent_iterations, 1, True
        )
        if not (featurization in ("auto", "off") or isinstance(featurization, FeaturizationConfig)):
            raise ValidationError("featurization must be 'auto', 'off' or a FeaturizationConfig")
        self.featurization = featurization
        self.enable_early_stopping = bool(enable_early_stopping)
        self.enable_voting_ensemble = bool(enable_voting_ensemble)
        # azureml: None means on, except for forecasting
        self.enable_stack_ensemble = (
            task != "forecasting" if enable_stack_ensemble is None else bool(enable_stack_ensemble)
        )
        self.exclude_nan_labels = bool(exclude_nan_labels)
        self.allowed_models = check_models(
            task,
            allowed_models if allowed_models is not None else whitelist_models,
            "allowed_models",
        )
        self.blocked_models = check_models(
            task,
            blocked_models if blocked_models is not None else blacklist_models,
            "blocked_models",
        )
        self.forecasting_parameters = _forecasting(task, forecasting_parameters, kwargs)
        self.random_seed = int(kwargs.pop("random_seed", 0) or 0)
        unknown = set(kwargs) - {"experiment_timeout_minutes", "enable_code_generation"}
        if unknown:
            raise ValidationError(
                f"AutoMLConfig got unknown settings: {', '.join(sorted(unknown))}"
            )

    def _validation_settings(self, folds: Any, size: Any) -> None:
        given = [
            name
            for name, value in (
                ("validation_data", self.validation_data),
                ("n_cross_validations", folds),
                ("validation_size", size),
                ("cv_splits_indices", self.cv_splits_indices),
                ("cv_split_column_names", self.cv_split_column_names),
            )
            if value is not None
        ]
        custom = [n for n in given if n.startswith("cv_split")]
        if custom and self.task == "forecasting":
            raise ValidationError(
                f"{custom[0]} is for classification and regression; forecasting validates on "
                "rolling origins (n_cross_validations)"
            )
        if len(given) > 1:
            raise ValidationError(
                "give only one of validation_data, n_cross_validations, validation_size, "
                f"cv_splits_indices and cv_split_column_names (got {', '.join(given)})"
            )
        if folds is not None and folds != "auto":
            folds = number("n_cross_validations", folds, 2, True)
            if folds > 50:
                raise ValidationError("n_cross_validations must be at most 50")
        self.n_cross_validations = folds
        if size is not None:
            size = number("validation_size", size, 0.0)
            if not 0.0 < size < 1.0:
                raise ValidationError("validation_size must be between 0 and 1 (exclusive)")
        self.validation_size = size

    # --- read by the search ---------------------------------------------------------------
    def get_frames(self) -> tuple[Any, Any]:
        """The training and validation frames (a TabularDataset is read here)."""
        training = self.training_data
        validation = self.validation_data
        if is_tabular(training):
            training = training.to_pandas_dataframe()
        if validation is not None and is_tabular(validation):
            validation = validation.to_pandas_dataframe()
        return training, validation

    def to_dict(self) -> dict[str, Any]:
        """The settings as stored in the parent run's definition."""
        featurization = self.featurization
        return {
            "task": self.task,
            "primary_metric": self.primary_metric,
            "label_column_name": self.label_column_name,
            "weight_column_name": self.weight_column_name,
            "enable_onnx_compatible_models": self.enable_onnx_compatible_models,
            "iterations": self.iterations,
            "experiment_timeout_minutes": self.experiment_timeout_minutes,
            "iteration_timeout_minutes": self.iteration_timeout_minutes,
            "experiment_exit_score": self.experiment_exit_score,
            "n_cross_validations": self.n_cross_validations,
            "validation_size": self.validation_size,
            # how many folds (their row positions stay with the search's state)
            "cv_splits_indices": None
            if self.cv_splits_indices is None
            else len(self.cv_splits_indices),
            "cv_split_column_names": self.cv_split_column_names,
            "has_validation_data": self.validation_data is not None,
            "featurization": featurization
            if isinstance(featurization, str)
            else featurization.to_dict(),
            "allowed_models": self.allowed_models,
            "blocked_models": self.blocked_models,
            "enable_early_stopping": self.enable_early_stopping,
            "enable_voting_ensemble": self.enable_voting_ensemble,
            "enable_stack_ensemble": self.enable_stack_ensemble,
            "max_cores_per_iteration": self.max_cores_per_iteration,
            "max_concurrent_iterations": self.max_concurrent_iterations,
            "forecasting_parameters": self.forecasting_parameters.to_dict()
            if self.forecasting_parameters
            else None,
            "random_seed": self.random_seed,
        }

    # --- submission -------------------------------------------------------------------------
    def _families(self, data: Any) -> Any:
        """The model families the search may use on ``data`` (``ValidationError`` for none)."""
        return families_for(
            self.task,
            self.allowed_models,
            self.blocked_models,
            weighted=data.weights is not None,
            onnx=self.enable_onnx_compatible_models,
        )

    def _submit_to(
        self, experiment: Experiment, tags: dict[str, Any] | None, **kwargs: Any
    ) -> AutoMLRun:
        """Check the data, record the parent run and run the search here; the finished run."""
        require_extra("automl", "AutoML")
        from atelier.sdk.automl._data import prepare_data
        from atelier.sdk.automl._search import Search

        show_output = bool(kwargs.pop("show_output", False))
        parent_run_id = kwargs.pop("_parent_run_id", None)
        target, self.ray_address, self.ssh_config = _target(experiment, self.compute_target)
        if self.enable_onnx_compatible_models:
            require_extra("serve", "ONNX-compatible AutoML models", ("onnxruntime", "skl2onnx"))
        data = prepare_data(self)  # bad data fails here, before any run is recorded
        self._families(data)
        record = experiment._backend.runs.create(
            experiment.workspace.name,
            experiment.name,
            run_id=f"AutoML_{uuid.uuid4()}",
            parent_run_id=parent_run_id,
            status=RunStatus.RUNNING,
            run_type=AUTOML_RUN_TYPE,
            target=target,
            tags=tags,
            properties={
                "azureml.runsource": AUTOML_RUN_TYPE,
                "primary_metric": self.primary_metric,
                "task": self.task,
                "runTemplate": "automl_child",
            },
            definition={"automl": self.to_dict()},
        )
        run = AutoMLRun(experiment, record.run_id, _record=record)
        run._writer.keep_alive()  # a process that dies leaves the run Failed, not Running
        Search(run, self, data, show_output=show_output).run()
        run._refresh()
        return run


def _split_columns(names: Any) -> list[str] | None:
    """azureml's ``cv_split_column_names``: columns of the training data, one a fold,
    each row 1 (trains) or 0 (validates)."""
    if names is None:
        return None
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list | tuple) or not names:
        raise ValidationError("cv_split_column_names must be a list of column names, one a fold")
    if not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
        raise ValidationError("cv_split_column_names must name distinct columns")
    return list(names)


def _forecasting(
    task: str, parameters: ForecastingParameters | None, kwargs: dict[str, Any]
) -> ForecastingParameters | None:
    legacy = {k: kwargs.pop(k) for k in list(kwargs) if k in ForecastingParameters.LEGACY_NAMES}
    if parameters is None and legacy:
        parameters = ForecastingParameters(**legacy)
    if task != "forecasting":
        if parameters is not None:
            raise ValidationError("forecasting parameters need task='forecasting'")
        return None
    if parameters is None:
        raise ValidationError(
            "task='forecasting' needs forecasting_parameters=ForecastingParameters("
            "time_column_name=..., forecast_horizon=...)"
        )
    return parameters


def _target(experiment: Experiment, target: Any) -> tuple[str, str | None, dict[str, Any] | None]:
    """The compute target's name; for a Ray target, the GCS address the search joins as a
    driver; for an SSH target (``RemoteCompute``), its settings. ``ValidationError`` for
    targets AutoML cannot use."""
    name = target if isinstance(target, str) or target is None else getattr(target, "name", None)
    if name in (None, "local"):
        return "local", None, None
    from atelier.sdk.compute.targets import ComputeTarget

    try:
        found = ComputeTarget(experiment.workspace, str(name))
    except NotFoundError:
        raise ValidationError(
            f"compute_target {name!r} is not a compute target of this workspace; AutoML runs "
            "on local compute (leave it out, or pass 'local'), a Ray target or an SSH target"
        ) from None
    if found.type == "RemoteCompute":
        return str(name), None, dict(found.config)
    if found.type != "AmlCompute":
        raise ValidationError(
            "AutoML runs on local compute, a Ray target (AmlCompute) or an SSH target "
            f"(RemoteCompute); {name!r} is {found.type}"
        )
    address = found.config.get("gcs_address")
    if not address:
        raise ValidationError(
            f"AutoML joins a Ray target as a driver, through the head's GCS address; {name!r} "
            "was attached by its Jobs API address only. Use a target Atelier started "
            "(AmlCompute.provisioning_configuration() without address), or run here"
        )
    return str(name), str(address), None
