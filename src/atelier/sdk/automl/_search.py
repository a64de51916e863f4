"""The AutoML search: Optuna over model families and their hyperparameters, under the
run's budget, each iteration a child run; then the voting ensemble.

The first iterations are each family's default point (strongest first), then Optuna's TPE
sampler chooses the family and its hyperparameters. An iteration is scored on
cross-validation folds (or the held-out rows); every metric of the task is logged on its
child run, and its pipeline (featurizer, scaler, model) is refitted on all the training
data and stored as ``outputs/model.pkl`` when it is among the best so far. A family whose
iterations would run past the budget is not tried again.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import sys
import time
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TextIO

from atelier.core.errors import AtelierError
from atelier.core.status import RunStatus
from atelier.sdk.automl import _bounded as bounded
from atelier.sdk.automl import _ensembles as ensembles
from atelier.sdk.automl import _study as studies
from atelier.sdk.automl import metrics as automl_metrics
from atelier.sdk.automl._children import _RULE, MODEL_FILE, Outcome, Records
from atelier.sdk.automl._data import Data
from atelier.sdk.automl.featurization import build_featurizer
from atelier.sdk.automl.models import ModelFamily

if TYPE_CHECKING:
    from atelier.sdk.automl.config import AutoMLConfig
    from atelier.sdk.automl.run import AutoMLRun

__all__ = ["MODEL_FILE", "Outcome", "Search"]

#: how many of the best iterations keep their refitted model (and may join the ensemble)
KEEP = 8
#: iterations without a better score before early stopping ends the search
_PATIENCE = 20
_SKIPS = 30
_SEARCH_SHARE = 0.95
_POLL_SECONDS = 0.5


#: the default of ``Search._score``'s weights: those of every validation row
ALL: Any = object()


def fit(estimator: Any, X: Any, y: Any, weights: Any) -> Any:
    """``estimator`` fitted, each row counting its weight (a scaler's pipeline passes
    them to its model)."""
    if weights is None:
        return estimator.fit(X, y)
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, Pipeline):
        return estimator.fit(X, y, model__sample_weight=weights)
    return estimator.fit(X, y, sample_weight=weights)


def _warm_imports(task: str, families: list[ModelFamily]) -> None:
    """Import here what every iteration needs, once: a forked iteration's own imports
    die with it, and each would pay them again (most of a small model's time)."""
    import importlib

    for family in families:
        family.build(task, family.defaults, 0, 1)
    for module in (
        "scipy.stats",
        "sklearn.metrics",
        "sklearn.model_selection",
        "sklearn.preprocessing",
        "sklearn.pipeline",
        "threadpoolctl",
        "atelier.sdk.automl._estimators",
    ):
        importlib.import_module(module)


class Search(Records):
    def __init__(
        self,
        run: AutoMLRun,
        config: AutoMLConfig,
        data: Data,
        show_output: bool = False,
        out: TextIO | None = None,
        state: dict[str, Any] | None = None,
    ) -> None:
        self.parent = run
        self.config = config
        self.data = data
        self.task = "regression" if config.task == "forecasting" else config.task
        self.metric = config.primary_metric
        self.maximize = automl_metrics.maximize(self.metric)
        self.out = (out or sys.stdout) if show_output else None
        self.cores = config.max_cores_per_iteration
        self.concurrent = config.max_concurrent_iterations
        self.outcomes: list[Outcome] = []
        self.costs: dict[str, list[float]] = {}
        self.iteration = 0
        self.start = time.monotonic()
        # the last 5 % of the budget is kept for the ensemble and the final records
        self.deadline = self.start + config.experiment_timeout_minutes * 60.0 * _SEARCH_SHARE
        self.stop_reason = ""
        self.round = 0
        if state is not None:  # a continued search: the same data, featurizer and history
            self.round = int(state["round"]) + 1
            self.outcomes = [o for o in state["outcomes"] if o.name not in studies.ENSEMBLES]
            self.costs = dict(state["costs"])
            self.iteration = int(state["iteration"])
            self.featurizer = state["featurizer"]
            if state["truth"] is not None:
                self._truth = state["truth"]
        #: where this round's iterations begin (iterations= and early stopping count these)
        self.first = (len(self.outcomes), self.iteration)

    # --- output --------------------------------------------------------------------------
    def _show_guardrails(self) -> None:
        self._print(_RULE)
        self._print("DATA GUARDRAILS:")
        for guardrail in self.data.guardrails:
            self._print()
            self._print(f"TYPE:         {guardrail.type}")
            self._print(f"STATUS:       {guardrail.result.upper()}")
            self._print(f"DESCRIPTION:  {guardrail.description}")
        self._print(_RULE)
        self._print(f"{'ITER':>5}   {'PIPELINE':<44}{'DURATION':>10}{'METRIC':>12}{'BEST':>10}")

    # --- the loop ------------------------------------------------------------------------
    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:
            with contextlib.suppress(AtelierError):
                self.parent.fail(error_details=exc, error_code="AutoMLError")
            raise

    def _run(self) -> None:
        data = self.data
        if self.round == 0:
            self.featurizer = self._featurizer()
        with self._quiet():
            self.features = self.featurizer.transform(data.X)
            self.valid_features = (
                None if data.X_valid is None else self.featurizer.transform(data.X_valid)
            )
        self.parent.add_properties(
            {"automl.guardrails": json.dumps([g.to_dict() for g in data.guardrails])}
        )
        self._show_guardrails()
        families = self.config._families(data)
        by_name = {f.name: f for f in families}
        _warm_imports(self.task, families)
        self._search(studies.make_study(self, families), by_name)
        if not self.outcomes and not self._canceled():
            self.stop_reason = (
                f"no iteration finished ({self.stop_reason}): the time limits are too short "
                "for one iteration; the baseline (most frequent class, or mean) was recorded"
            )
            self._print(f"WARNING: {self.stop_reason}")
            ensembles.baseline(self)
        canceled = self.stop_reason == "canceled"
        if self.config.enable_voting_ensemble and not canceled:
            ensembles.voting(self)
        if self.config.enable_stack_ensemble and not canceled:
            ensembles.stack(self)
        if self.config.enable_voting_ensemble and not canceled:
            ensembles.hedge(self)
        self._finish()

    def _featurizer(self) -> Any:
        """The fitted featurizer; forecasting's lag step first when lags are asked for."""
        from sklearn.pipeline import Pipeline

        data = self.data
        with self._quiet():
            frame = data.X if data.lags is None else data.lags.transform(data.X)
            featurizer, more = build_featurizer(frame, self.config.featurization)
            data.guardrails.extend(more)
            if data.lags is not None:
                featurizer = Pipeline([("lags", data.lags), ("featurizer", featurizer)])
            return featurizer.fit(data.X)

    def _should_stop(self) -> bool:
        if self.iteration - self.first[1] >= self.config.iterations:
            self.stop_reason = f"iterations={self.config.iterations} done"
        elif time.monotonic() >= self.deadline:
            self.stop_reason = "experiment_timeout reached"
        elif self._canceled():
            self.stop_reason = "canceled"
        elif self._exit_score_reached():
            self.stop_reason = f"experiment_exit_score={self.config.experiment_exit_score} reached"
        elif self._no_progress():
            self.stop_reason = f"early stopping: no better score in {_PATIENCE} iterations"
        else:
            return False
        return True

    def _canceled(self) -> bool:
        status = self.parent._refresh().status
        return status in (RunStatus.CANCEL_REQUESTED, RunStatus.CANCELED)

    def _exit_score_reached(self) -> bool:
        target = self.config.experiment_exit_score
        best = self._best()
        if target is None or best is None:
            return False
        return bool(best.score >= target if self.maximize else best.score <= target)

    def _no_progress(self) -> bool:
        mine = self.outcomes[self.first[0] :]
        if not self.config.enable_early_stopping or len(mine) < 2 * _PATIENCE:
            return False
        best = self._best()
        return best is not None and best.iteration < mine[-_PATIENCE].iteration

    def _too_slow(self, name: str) -> bool:
        """Whether an iteration of the family is expected to end past the budget (or the
        iteration timeout): its own mean cost so far, else the median of every cost so far."""
        seen = self.costs.get(name) or [c for costs in self.costs.values() for c in costs]
        if not seen:
            return False
        limit = self.config.iteration_timeout_minutes
        expected = sum(seen) / len(seen) if name in self.costs else sorted(seen)[len(seen) // 2]
        if limit is not None and expected > limit * 60.0:
            return True
        return time.monotonic() + expected > self.deadline

    def _best(self) -> Outcome | None:
        scored = [o for o in self.outcomes if not math.isnan(o.score)]
        if not scored:
            return None
        pick = max if self.maximize else min
        return pick(scored, key=lambda o: o.score)

    # --- one iteration -------------------------------------------------------------------
    @contextlib.contextmanager
    def _quiet(self) -> Iterator[None]:
        """Fits and scores without warnings (convergence and the like are expected while
        searching) and on ``max_cores_per_iteration`` threads: OpenMP and BLAS on every
        core of a busy machine run many times slower than on one."""
        from threadpoolctl import threadpool_limits

        with warnings.catch_warnings(), threadpool_limits(self.cores if self.cores > 0 else None):
            warnings.simplefilter("ignore")
            yield

    def _estimator(self, family: ModelFamily, params: dict[str, Any]) -> Any:
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import MinMaxScaler, StandardScaler

        model = family.build(self.task, params, self.config.random_seed, self.cores)
        if not family.scaled:
            return model
        scaler = MinMaxScaler() if "NaiveBayes" in family.name else StandardScaler()
        return Pipeline([("scaler", scaler), ("model", model)])

    def _predict(self, model: Any, features: Any) -> Any:
        if self.task == "classification":
            from atelier.sdk.automl._estimators import aligned_proba

            return aligned_proba(model, features, self.data.classes)
        return model.predict(features)

    def _evaluate(self, estimator: Any) -> tuple[Any, Any, Any]:
        """Predictions on the validation rows, their true labels, and the model fitted
        on the training rows when they are all the training data (a hold-out)."""
        import numpy as np
        from sklearn.base import clone

        data = self.data
        if self.valid_features is not None:
            model = fit(clone(estimator), self.features, data.y, data.weights)
            return self._predict(model, self.valid_features), data.y_valid, model
        parts, truth = [], []
        for train, valid in data.splits:
            weights = None if data.weights is None else data.weights[train]
            model = fit(clone(estimator), self.features[train], data.y[train], weights)
            parts.append(self._predict(model, self.features[valid]))
            truth.append(data.y[valid])
        return np.concatenate(parts), np.concatenate(truth), None

    @functools.cached_property
    def valid_weights(self) -> Any:
        """The weights of the validation rows, in the order of their predictions."""
        import numpy as np

        data = self.data
        if data.weights is None or data.X_valid is not None:
            return data.weights_valid
        return np.concatenate([data.weights[valid] for _, valid in data.splits])

    def _score(self, predictions: Any, truth: Any, weights: Any = ALL) -> float:
        """The primary metric; ``weights`` of the rows when not all validation rows."""
        return automl_metrics.primary_score(
            self.task,
            self.metric,
            truth,
            predictions,
            self.data.classes,
            self.data.y_range,
            self.valid_weights if weights is ALL else weights,
        )

    def _all_scores(self, predictions: Any, truth: Any) -> dict[str, float]:
        weights = self.valid_weights
        if self.task == "classification":
            return automl_metrics.classification_scores(
                truth, predictions, self.data.classes, weights
            )
        return automl_metrics.regression_scores(truth, predictions, self.data.y_range, weights)

    def _keeps(self, score: float) -> bool:
        ranked = sorted(
            (o.score for o in self.outcomes if not math.isnan(o.score)), reverse=self.maximize
        )
        if len(ranked) < KEEP:
            return True
        cut = ranked[KEEP - 1]
        return score > cut if self.maximize else score < cut

    def _refit(self, estimator: Any, fitted: Any) -> Any:
        """The full pipeline: the fitted featurizer and the model fitted on all rows."""
        from sklearn.base import clone
        from sklearn.pipeline import Pipeline

        data = self.data
        model = (
            fitted
            if fitted is not None
            else fit(clone(estimator), self.features, data.y, data.weights)
        )
        return Pipeline([("datatransformer", self.featurizer), ("model", model)])

    def _compute(self, family: ModelFamily, params: dict[str, Any]) -> tuple[Any, ...]:
        """Validate the iteration and, if it is among the best, refit it on all rows."""
        with self._quiet():
            estimator = self._estimator(family, params)
            predictions, truth, fitted = self._evaluate(estimator)
            score = self._score(predictions, truth)
            scores = self._all_scores(predictions, truth)
            keep = not math.isnan(score) and self._keeps(score)
            model = self._refit(estimator, fitted) if keep else None
        return predictions, truth, score, scores, model

    def _limit(self) -> float:
        left = self.deadline - time.monotonic()
        per_iteration = self.config.iteration_timeout_minutes
        return left if per_iteration is None else min(left, per_iteration * 60.0)

    def _search(self, study: Any, by_name: dict[str, ModelFamily]) -> None:
        """Ask the study for iterations, ``max_concurrent_iterations`` at a time, until a
        stop condition holds; each ended iteration is recorded and told to the study."""
        address = getattr(self.config, "ray_address", None)
        ssh = getattr(self.config, "ssh_config", None)
        self.jobs: Any = bounded
        if address:
            from atelier.sdk.automl._rayjobs import RayJobs

            self.jobs = RayJobs(address, self)
        elif ssh:
            from atelier.sdk.automl._sshjobs import SshJobs

            self.jobs = SshJobs(ssh, self)
        try:
            self._loop(study, by_name)
        finally:
            if self.jobs is not bounded:
                self.jobs.close()

    def _loop(self, study: Any, by_name: dict[str, ModelFamily]) -> None:
        import optuna

        running: list[bounded.Job] = []
        skips = 0
        while True:
            stopping = self._should_stop()
            while not stopping and len(running) < self.concurrent:
                trial = study.ask()
                family = by_name[trial.suggest_categorical("model", list(by_name))]
                params = family.space(trial)
                if not self._too_slow(family.name):
                    skips = 0
                    running.append(self._start(trial, family, params))
                    stopping = self._should_stop()
                    continue
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                skips += 1
                if skips >= _SKIPS:
                    self.stop_reason = "no model family fits in the time left"
                    stopping = True
            if not running:
                return
            if self.stop_reason == "canceled":
                for job in running:
                    self.jobs.kill(job)
            for job in self.jobs.wait(running, _POLL_SECONDS):
                running.remove(job)
                outcome = self._ended(job)
                trial = job.tag[0]
                if outcome is None or math.isnan(outcome.score):
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                else:
                    study.tell(trial, outcome.score)

    def _start(self, trial: Any, family: ModelFamily, params: dict[str, Any]) -> bounded.Job:
        iteration = self.iteration
        self.iteration += 1
        child = self._child(iteration, family, params)
        tag = (trial, iteration, family, params, child, time.monotonic())
        if self.jobs is not bounded:  # on a Ray node or an SSH machine, with the scores so far
            scores = [o.score for o in self.outcomes]
            job: bounded.Job = self.jobs.spawn(family.name, params, scores, self._limit(), tag)
            return job
        work = functools.partial(self._compute, family, params)
        return bounded.spawn(work, self._limit(), tag)

    def _ended(self, job: bounded.Job) -> Outcome | None:
        _, iteration, family, params, child, started = job.tag
        try:
            predictions, truth, score, scores, model = bounded.result(job)
        except bounded.TimedOut as exc:
            self.costs.setdefault(family.name, []).append(time.monotonic() - started)
            message = f"iteration {iteration} {exc}: it reached the time limit"
            error = {"code": "IterationTimedOut", "message": message}
            self._end_child(child, RunStatus.FAILED, error)
            self._line(iteration, family.name, time.monotonic() - started, math.nan)
            return None
        except RuntimeError as exc:  # a model that cannot fit these data fails its iteration
            self.costs.setdefault(family.name, []).append(time.monotonic() - started)
            error = {"code": "IterationFailed", "message": str(exc)}
            self._end_child(child, RunStatus.FAILED, error)
            self._line(iteration, family.name, time.monotonic() - started, math.nan)
            return None
        seconds = time.monotonic() - started
        self.costs.setdefault(family.name, []).append(seconds)
        outcome = Outcome(iteration, family.name, params, score, predictions, model, seconds)
        self.outcomes.append(outcome)
        self._truth = truth
        self._complete(child, outcome, scores)
        return outcome
