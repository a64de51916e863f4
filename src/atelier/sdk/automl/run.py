"""``AutoMLRun``: an AutoML parent run, with azureml v1's methods over its iterations."""

from __future__ import annotations

import builtins
import math
import pickle
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atelier.core.errors import InvalidStateError, NotFoundError, ValidationError
from atelier.core.status import TERMINAL_STATUSES, RunStatus
from atelier.sdk.automl import metrics as automl_metrics
from atelier.sdk.tracking.run import Run

if TYPE_CHECKING:
    from atelier.sdk.models.model import Model
    from atelier.sdk.tracking.experiment import Experiment

__all__ = ["AUTOML_RUN_TYPE", "AutoMLRun"]

AUTOML_RUN_TYPE = "automl"
MODEL_FILE = "outputs/model.pkl"


class AutoMLRun(Run):
    """The parent run of an AutoML experiment; its children are the iterations."""

    def __init__(self, experiment: Experiment, run_id: str, **kwargs: Any) -> None:
        super().__init__(experiment, run_id, **kwargs)
        if self._record.run_type != AUTOML_RUN_TYPE or "iteration" in self._record.properties:
            raise ValidationError(f"run {run_id!r} is not an AutoML parent run")

    @property
    def _settings(self) -> dict[str, Any]:
        return dict((self._record.definition or {}).get("automl") or {})

    @property
    def primary_metric(self) -> str:
        return str(self._settings.get("primary_metric", ""))

    @property
    def task(self) -> str:
        return str(self._settings.get("task", ""))

    def get_guardrails(self) -> builtins.list[dict[str, str]]:
        """The data guardrails as Azure shows them: type, result and description."""
        import json

        return list(json.loads(self._refresh().properties.get("automl.guardrails") or "[]"))

    # --- the iterations -------------------------------------------------------------------
    def _iterations(self, metric: str) -> builtins.list[tuple[Run, float]]:
        """Completed iterations with a stored model, and their value of ``metric``."""
        records = [
            r
            for r in self._backend.runs.children(self._workspace_name, self.id, False)
            if r.status == RunStatus.COMPLETED and r.properties.get("model_name")
        ]
        if not records:
            return []
        found = self._backend.metrics.get(self._workspace_name, [r.run_id for r in records], metric)
        scored = []
        for record in records:
            value = found.get(record.run_id, {}).get(metric)
            value = value[-1] if isinstance(value, list) and value else value
            if isinstance(value, int | float) and not math.isnan(value):
                scored.append((Run(self.experiment, record.run_id, _record=record), float(value)))
        return scored

    def get_leaderboard(self) -> builtins.list[dict[str, Any]]:
        """Every iteration, best first by the primary metric: ``{"iteration", "run_id",
        "algorithm", "score", "status"}``."""
        metric = self.primary_metric
        records = self._backend.runs.children(self._workspace_name, self.id, False)
        found = (
            self._backend.metrics.get(self._workspace_name, [r.run_id for r in records], metric)
            if records
            else {}
        )
        rows: builtins.list[dict[str, Any]] = []
        for record in records:
            value = found.get(record.run_id, {}).get(metric)
            value = value[-1] if isinstance(value, list) and value else value
            rows.append(
                {
                    "iteration": int(record.properties.get("iteration", -1)),
                    "run_id": record.run_id,
                    "algorithm": record.properties.get("run_algorithm", ""),
                    "score": float(value) if isinstance(value, int | float) else None,
                    "status": record.status.value,
                }
            )
        maximize = automl_metrics.maximize(metric)
        scored = sorted(
            (r for r in rows if r["score"] is not None),
            key=lambda r: r["score"],
            reverse=maximize,
        )
        return scored + sorted(
            (r for r in rows if r["score"] is None), key=lambda r: r["iteration"]
        )

    def get_best_child(
        self, metric: str | None = None, onnx_compatible: bool = False, **kwargs: Any
    ) -> Run:
        """The iteration with the best value of ``metric`` among those that kept their
        model. By the primary metric (the default) it is the one the search named best:
        the top score, unless that is within the noise of the default LightGBM's (see
        the README). ``NotFoundError`` when no iteration kept its model."""
        del kwargs
        if onnx_compatible:
            return self._best_onnx(metric)
        if metric is None or metric == self.primary_metric:
            record = self._refresh()  # a continued search updates the tag
            named = record.tags.get("best_child_run_id") or record.properties.get(
                "best_child_run_id"
            )
            if named:
                for record in self._backend.runs.children(self._workspace_name, self.id, False):
                    if record.run_id == named and record.properties.get("model_name"):
                        return Run(self.experiment, record.run_id, _record=record)
        metric = metric or self.primary_metric
        scored = self._iterations(metric)
        if not scored:
            raise NotFoundError(f"AutoML run {self.id} has no completed iteration with {metric!r}")
        pick = max if automl_metrics.maximize(metric) else min
        return pick(scored, key=lambda pair: pair[1])[0]

    def _best_onnx(self, metric: str | None) -> Run:
        """The best iteration with an ONNX model: the one the search named, else the best
        by ``metric`` among them."""
        named = self.get_best_child(metric)
        if named.properties.get("onnx_model_name"):
            return named
        metric = metric or self.primary_metric
        scored = [p for p in self._iterations(metric) if p[0].properties.get("onnx_model_name")]
        if not scored:
            raise NotFoundError(
                f"AutoML run {self.id} has no iteration with an ONNX model (its best: "
                f"{named.properties.get('onnx_error') or 'no ONNX model'})"
            )
        pick = max if automl_metrics.maximize(metric) else min
        return pick(scored, key=lambda pair: pair[1])[0]

    def get_output(
        self,
        iteration: int | None = None,
        metric: str | None = None,
        return_onnx_model: bool = False,
        return_split_onnx_model: Any = None,
        **kwargs: Any,
    ) -> tuple[Run, Any]:
        """``(best_run, fitted_model)``: the best iteration by ``metric`` (default: the
        primary metric), or iteration ``iteration``, and its fitted scikit-learn pipeline.
        ``NotFoundError`` for an iteration that does not exist or kept no model."""
        del kwargs
        if return_split_onnx_model:
            raise ValidationError("split ONNX models are not produced; use return_onnx_model")
        if iteration is not None and metric is not None:
            raise ValidationError("give iteration or metric, not both")
        if return_onnx_model and not self._settings.get("enable_onnx_compatible_models"):
            raise ValidationError(
                "ONNX models need AutoMLConfig(enable_onnx_compatible_models=True) at submit"
            )
        if iteration is not None:
            run = self._iteration(iteration)
        else:
            run = self.get_best_child(metric, onnx_compatible=bool(return_onnx_model))
        if return_onnx_model:
            return run, _load_onnx(run)
        return run, _load_model(run)

    def _iteration(self, iteration: int) -> Run:
        for record in self._backend.runs.children(self._workspace_name, self.id, False):
            if record.properties.get("iteration") == str(iteration):
                if not record.properties.get("model_name"):
                    raise NotFoundError(
                        f"iteration {iteration} of {self.id} kept no fitted model (only the "
                        "best iterations keep theirs)"
                    )
                return Run(self.experiment, record.run_id, _record=record)
        raise NotFoundError(f"AutoML run {self.id} has no iteration {iteration}")

    def register_model(  # type: ignore[override]
        self,
        model_name: str | None = None,
        description: str | None = None,
        tags: dict[str, Any] | None = None,
        iteration: int | None = None,
        metric: str | None = None,
        **kwargs: Any,
    ) -> Model:
        """Register the best iteration's model (or ``iteration``'s, or the best by
        ``metric``) as a scikit-learn model, deployable without an entry script."""
        best = self._iteration(iteration) if iteration is not None else self.get_best_child(metric)
        name = model_name or f"{self.id[:26]}".replace("_", "-").lower()
        return best.register_model(
            name,
            MODEL_FILE,
            tags=tags,
            description=description,
            model_framework="ScikitLearn",
            properties={"automl_run_id": self.id, "iteration": best.properties["iteration"]},
            **kwargs,
        )

    def continue_experiment(
        self,
        X: Any = None,
        y: Any = None,
        sample_weight: Any = None,
        X_valid: Any = None,
        y_valid: Any = None,
        sample_weight_valid: Any = None,
        data: Any = None,
        label: str | None = None,
        columns: Any = None,
        cv_splits_indices: Any = None,
        spark_context: Any = None,
        experiment_timeout_hours: float | None = None,
        experiment_exit_score: float | None = None,
        iterations: int | None = None,
        show_output: bool = False,
        training_data: Any = None,
        validation_data: Any = None,
        **kwargs: Any,
    ) -> AutoMLRun:
        """Run ``iterations`` more iterations (default: as many as the first search) of
        this ended search within ``experiment_timeout_hours`` (or the older
        ``experiment_timeout_minutes``; default: the first search's budget): new child
        runs, the Optuna study resumed from every past iteration, new ensembles, and the
        best iteration named again. The data need not be given again; data given must
        be those the search ran on. Returns this run."""
        from atelier.sdk.automl._arguments import refuse
        from atelier.sdk.automl._resume import continue_search

        refuse(
            {
                "sample_weight": sample_weight,
                "sample_weight_valid": sample_weight_valid,
                "cv_splits_indices": cv_splits_indices,
            },
            "continue_experiment",
            "is not taken: the search goes on with the weights and folds it ran with",
        )
        refuse({"columns": columns, "spark_context": spark_context}, "continue_experiment")
        minutes = kwargs.pop("experiment_timeout_minutes", None)
        if kwargs:
            raise ValidationError(
                f"continue_experiment got unknown arguments: {', '.join(sorted(kwargs))}"
            )
        budget = (experiment_timeout_hours, minutes)
        given = {
            "training_data": training_data if training_data is not None else data,
            "X": X,
            "y": y,
            "validation_data": validation_data,
            "X_valid": X_valid,
            "y_valid": y_valid,
        }
        del label  # the label column is the first search's
        continue_search(self, given, iterations, budget, experiment_exit_score, show_output)
        self._refresh()
        return self

    def cancel(self) -> None:
        """Ask the search to stop after its current iteration."""
        if self._refresh().status in TERMINAL_STATUSES:
            raise InvalidStateError(f"AutoML run {self.id} is {self.status}; nothing to cancel")
        self._record = self._backend.runs.cancel(self._workspace_name, self.id)


def _load_onnx(run: Run) -> Any:
    """The iteration's ONNX model (an ``onnx.ModelProto``)."""
    import onnx

    from atelier.sdk.automl._onnx import ONNX_FILE

    if not run.properties.get("onnx_model_name"):
        reason = run.properties.get("onnx_error") or "no ONNX model was made"
        raise ValidationError(
            f"iteration {run.properties.get('iteration')} "
            f"({run.properties.get('run_algorithm')}) has no ONNX model: {reason}"
        )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.onnx"
        run.download_file(ONNX_FILE, str(path))
        return onnx.load_model(str(path))


def _load_model(run: Run) -> Any:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.pkl"
        run.download_file(MODEL_FILE, str(path))
        with path.open("rb") as handle:
            return pickle.load(handle)
