"""The records of an AutoML search: each iteration's child run (its pipeline spec,
hyperparameters, metrics and, for the best iterations, its fitted model), the lines of
the live leaderboard, and the parent's summary when the search ends.

The parent's summary is kept where a continued search can update it: the best iteration
is the ``best_child_run_id`` tag (and, from the first search, the property of that name),
and the search's state (its data, featurizer, iterations and their validation
predictions) is a file of the parent run, ``automl/search_<round>.pkl``, named by the
``automl.search_state`` tag: ``AutoMLRun.continue_experiment`` reads it back.
"""

from __future__ import annotations

import copy
import io
import json
import pickle
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TextIO

from atelier.core.errors import ValidationError
from atelier.core.status import TERMINAL_STATUSES, RunStatus
from atelier.sdk.automl import _selection as selection
from atelier.sdk.tracking.run import Run

if TYPE_CHECKING:
    from atelier.sdk.automl.config import AutoMLConfig
    from atelier.sdk.automl.models import ModelFamily
    from atelier.sdk.automl.run import AutoMLRun

__all__ = ["MODEL_FILE", "STATE_TAG", "Outcome", "Records"]

MODEL_FILE = "outputs/model.pkl"
STATE_TAG = "automl.search_state"
BEST_TAG = "best_child_run_id"
_RULE = "*" * 100
#: models kept in the search's state (the ensembles take at most 8 members)
_KEEP_MODELS = 8


@dataclass
class Outcome:
    """One scored iteration."""

    iteration: int
    name: str
    params: dict[str, Any]
    score: float
    predictions: Any
    model: Any  # the full pipeline refitted on all training data, or None
    seconds: float


class Records:
    """The child runs and the parent's summary (a mixin of the search)."""

    parent: AutoMLRun
    config: AutoMLConfig
    metric: str
    outcomes: list[Outcome]
    iteration: int
    round: int
    stop_reason: str
    out: TextIO | None

    def _print(self, text: str = "") -> None:
        if self.out is not None:
            print(text, file=self.out, flush=True)

    def _best(self) -> Outcome | None:
        raise NotImplementedError

    def _child(self, iteration: int, family: ModelFamily, params: dict[str, Any]) -> Run:
        preprocessor = (
            ("MinMaxScaler" if "NaiveBayes" in family.name else "StandardScaler")
            if family.scaled
            else "None"
        )
        return self._child_run(iteration, family.name, preprocessor, params)

    def _child_run(
        self, iteration: int, algorithm: str, preprocessor: str, params: dict[str, Any]
    ) -> Run:
        parent = self.parent
        shown = json.dumps(params, default=str)
        record = parent._backend.runs.create(
            parent._workspace_name,
            parent.experiment.name,
            run_id=f"{parent.id}_{iteration}",
            parent_run_id=parent.id,
            status=RunStatus.RUNNING,
            run_type=parent.type,
            target=parent._record.target,
            tags={"iteration": str(iteration), "run_algorithm": algorithm},
            properties={
                "iteration": str(iteration),
                "run_algorithm": algorithm,
                "run_preprocessor": preprocessor,
                "run_properties": shown,
                "primary_metric": self.metric,
                "pipeline_spec": json.dumps(
                    {"preprocessor": preprocessor, "model": algorithm, "hyperparameters": params},
                    default=str,
                ),
            },
        )
        return Run(parent.experiment, record.run_id, _record=record)

    def _complete(self, child: Run, outcome: Outcome, scores: dict[str, float]) -> None:
        for name, value in scores.items():
            child.log(name, value)
        properties = {"score": str(outcome.score), "fit_time": f"{outcome.seconds:.3f}"}
        if outcome.model is not None:
            child.upload_file(MODEL_FILE, io.BytesIO(pickle.dumps(outcome.model)))
            properties["model_name"] = MODEL_FILE
            if self.config.enable_onnx_compatible_models:
                properties.update(self._onnx(child, outcome.model))
        child.add_properties(properties)
        self._end_child(child, RunStatus.COMPLETED)
        self._line(outcome.iteration, outcome.name, outcome.seconds, outcome.score)

    def _onnx(self, child: Run, model: Any) -> dict[str, str]:
        """The iteration's ONNX model as ``outputs/model.onnx``, or why it has none."""
        from atelier.sdk.automl._onnx import ONNX_FILE, onnx_bytes

        try:
            converted = onnx_bytes(model)
        except ValidationError as exc:
            return {"onnx_error": str(exc)}
        child.upload_file(ONNX_FILE, io.BytesIO(converted))
        return {"onnx_model_name": ONNX_FILE}

    def _end_child(
        self, child: Run, status: RunStatus, error: dict[str, Any] | None = None
    ) -> None:
        """End an iteration's run; one the parent's cancel reached ends Canceled (also
        one started just as the cancel came, and stopped by it)."""
        child._writer.close()
        stopped = status == RunStatus.FAILED and self.stop_reason == "canceled"
        if child._refresh().status == RunStatus.CANCEL_REQUESTED or stopped:
            status, error = RunStatus.CANCELED, None
        if child.status not in (s.value for s in TERMINAL_STATUSES):
            child._move(status, error)

    def _line(self, iteration: int, name: str, seconds: float, score: float) -> None:
        best = self._best()
        shown_best = f"{best.score:.4f}" if best is not None else "nan"
        duration = time.strftime("%H:%M:%S", time.gmtime(seconds))
        self._print(f"{iteration:>5}   {name:<44}{duration:>10}{score:>12.4f}{shown_best:>10}")

    def _add(self, name: str, params: dict[str, Any], computed: tuple[Any, ...]) -> None:
        """Record an iteration computed here (the baseline, an ensemble) as a child run:
        ``computed`` is (predictions, score, every metric, fitted model, started)."""
        predictions, score, scores, model, started = computed
        iteration = self.iteration
        self.iteration += 1
        child = self._child_run(iteration, name, "None", params)
        seconds = time.monotonic() - started
        outcome = Outcome(iteration, name, params, score, predictions, model, seconds)
        self.outcomes.append(outcome)
        self._complete(child, outcome, scores)

    def _state(self) -> dict[str, Any]:
        """What a continued search needs: the settings (without the frames, which the
        checked data hold), the data, the fitted featurizer and every iteration."""
        config = copy.copy(self.config)
        config.training_data = config.validation_data = None
        config.compute_target = self.parent._record.target  # its name: a target object
        # holds the workspace
        search: Any = self
        # the models a continued search can use again (the best, its ensembles' members,
        # and the default LightGBM) are read back from their child runs: named, not copied
        ranked = sorted(
            (o for o in self.outcomes if o.model is not None and o.score == o.score),
            key=lambda o: o.score,
            reverse=search.maximize,
        )
        reference = selection.reference(search)
        kept = {o.iteration for o in ranked[:_KEEP_MODELS]}
        kept |= set() if reference is None else {reference.iteration}
        return {
            "round": self.round,
            "config": config,
            "data": search.data,
            "featurizer": search.featurizer,
            "outcomes": [replace(o, model=None) for o in self.outcomes],
            "kept": sorted(kept),
            "truth": getattr(self, "_truth", None),
            "costs": search.costs,
            "iteration": self.iteration,
        }

    def _finish(self) -> None:
        best = selection.choose(self)  # type: ignore[arg-type]
        parent = self.parent
        state = f"automl/search_{self.round}.pkl"
        parent.upload_file(state, io.BytesIO(pickle.dumps(self._state())))
        tags = {STATE_TAG: state, "automl.stop_reason": self.stop_reason}
        properties = {"automl.stop_reason": self.stop_reason, "iterations": str(self.iteration)}
        if best is not None:
            tags[BEST_TAG] = properties[BEST_TAG] = f"{parent.id}_{best.iteration}"
            tags["score"] = properties["score"] = str(best.score)
        for name, value in tags.items():
            parent.tag(name, value)
        if self.round == 0:  # a continued search's parent has ended: tags only
            if best is not None:
                parent.log(self.metric, best.score)
            parent.add_properties(properties)
        self._print(_RULE)
        self._print(f"Stopped: {self.stop_reason}")
        if best is not None:
            self._print(
                f"Best: iteration {best.iteration} ({best.name}), {self.metric}={best.score:.4f}"
            )
        if self.round > 0:
            return
        if self.stop_reason == "canceled":
            parent._writer.close()
            parent._move(RunStatus.CANCELED)
        else:
            parent.complete()
