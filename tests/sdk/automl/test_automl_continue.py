"""AutoML's choice of the best iteration (not by noise over the default LightGBM) and
``AutoMLRun.continue_experiment``: more iterations of the same search."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris

from atelier import Experiment, InvalidStateError, ValidationError, Workspace
from atelier.azureml.train.automl import AutoMLConfig
from atelier.sdk.automl import _selection as selection
from atelier.sdk.automl._ensembles import HEDGE
from atelier.sdk.automl._search import Outcome
from atelier.sdk.automl.models import MODELS

_EMBEDDED = [
    pytest.mark.parametrize("database", ["sqlite"], indirect=True),
    pytest.mark.parametrize("backend", ["embedded"], indirect=True),
]


def _embedded(test: Any) -> Any:
    for mark in _EMBEDDED:
        test = mark(test)
    return test


@pytest.fixture(scope="module")
def iris() -> pd.DataFrame:
    return load_iris(as_frame=True).frame


class _Scores(SimpleNamespace):
    """What the choice reads of a search: outcomes, folds, truth and the scorer (the
    mean absolute error here, lower is better)."""

    maximize = False
    valid_weights = None

    def _score(self, predictions: Any, truth: Any, weights: Any = None) -> float:
        return float(np.mean(np.abs(np.asarray(predictions) - np.asarray(truth))))

    @contextlib.contextmanager
    def _quiet(self) -> Iterator[None]:
        yield

    def _best(self) -> Outcome:
        return min(self.outcomes, key=lambda o: o.score)


def _two_iterations(iris: pd.DataFrame, *models: str) -> AutoMLConfig:
    """Two iterations of ``models`` on iris, 3-fold, with the vote and no stack."""
    return AutoMLConfig(
        task="classification",
        primary_metric="AUC_weighted",
        training_data=iris,
        label_column_name="target",
        iterations=2,
        n_cross_validations=3,
        allowed_models=list(models),
        enable_stack_ensemble=False,
    )


def _outcome(iteration: int, name: str, predictions: Any, params: Any = None) -> Outcome:
    truth = np.zeros(len(predictions))
    score = float(np.mean(np.abs(predictions - truth)))
    params = dict(MODELS["LightGBM"].defaults) if params is None else params
    return Outcome(iteration, name, params, score, predictions, object(), 0.0)


def test_the_top_score_wins_only_beyond_the_noise_of_the_default_lightgbm() -> None:
    rng = np.random.default_rng(0)
    rows = 100
    splits = [(None, np.arange(i, rows, 10)) for i in range(10)]
    base = _outcome(0, "LightGBM", np.abs(rng.normal(1.0, 0.5, rows)))
    # a little better on average but not fold after fold: the default stays best
    noisy = _outcome(1, "KNN", np.abs(base.predictions + rng.normal(-0.02, 0.5, rows)), {})
    search = _Scores(outcomes=[base, noisy], _truth=np.zeros(rows), data=SimpleNamespace())
    search.data.splits = splits
    assert noisy.score < base.score
    assert selection.choose(search) is base  # type: ignore[arg-type]
    # better on every fold: it wins
    clear = _outcome(2, "KNN", base.predictions * 0.5, {})
    search.outcomes.append(clear)
    assert selection.choose(search) is clear  # type: ignore[arg-type]
    # without a default LightGBM the top score is best
    search.outcomes = [noisy, clear]
    assert selection.choose(search) is clear  # type: ignore[arg-type]


def test_within_the_noise_the_hedged_vote_of_the_default_and_the_top_is_named_best() -> None:
    rng = np.random.default_rng(1)
    rows = 100
    splits = [(None, np.arange(i, rows, 10)) for i in range(10)]
    base = _outcome(0, "LightGBM", np.abs(rng.normal(1.0, 0.5, rows)))
    noisy = _outcome(1, "KNN", np.abs(base.predictions + rng.normal(-0.05, 0.5, rows)), {})
    hedged = _outcome(2, HEDGE, (base.predictions + noisy.predictions) / 2, {})
    search = _Scores(outcomes=[base, noisy, hedged], _truth=np.zeros(rows), data=SimpleNamespace())
    search.data.splits = splits
    assert selection.choose(search) is hedged  # type: ignore[arg-type]
    # a top iteration better than the hedge on every fold is named best
    clear = _outcome(3, "KNN", base.predictions * 0.2, {})
    search.outcomes = [base, clear, _outcome(4, HEDGE, base.predictions * 0.6, {})]
    assert selection.choose(search) is clear  # type: ignore[arg-type]
    # better on one fold only (the first ten predictions) is no evidence: the default
    # stays best (no hedge here)
    lucky = base.predictions.copy()
    lucky[:10] = 0.0
    search.outcomes = [base, _outcome(5, "KNN", lucky, {})]
    assert selection.choose(search) is base  # type: ignore[arg-type]


@_embedded
def test_the_hedged_vote_of_a_search_with_lightgbm_is_a_fitted_child(
    ws: Workspace, iris: pd.DataFrame
) -> None:
    run = Experiment(ws, "hedge").submit(_two_iterations(iris, "LightGBM", "LogisticRegression"))
    children = run.get_children()
    names = [c.properties["run_algorithm"] for c in children]
    assert names == ["LightGBM", "LogisticRegression", "VotingEnsemble", HEDGE]
    spec = json.loads(children[3].properties["run_properties"])
    top = max(children[:3], key=lambda c: c.get_metrics()["AUC_weighted"])
    assert spec["ensembled_iterations"] == [0, int(top.properties["iteration"])]
    assert spec["ensemble_weights"] == [1.0, 1.0]
    _, hedged = run.get_output(iteration=3)
    features = iris.drop(columns="target")
    assert (hedged.predict(features) == iris["target"]).mean() > 0.9
    assert run.get_tags()["best_child_run_id"] in {c.id for c in children}


@_embedded
def test_continue_experiment_runs_more_iterations_of_the_same_search(
    ws: Workspace, iris: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    run = Experiment(ws, "more").submit(_two_iterations(iris, "LogisticRegression", "KNN"))
    first = [c.properties["run_algorithm"] for c in run.get_children()]
    assert first == ["LogisticRegression", "KNN", "VotingEnsemble"]
    same = run.continue_experiment(iterations=2, experiment_timeout_minutes=1, show_output=True)
    assert same is run and run.get_status() == "Completed"
    assert "Stopped: iterations=2 done" in capsys.readouterr().out
    children = run.get_children()
    assert [c.properties["iteration"] for c in children] == [str(i) for i in range(6)]
    # the study went on from its history: no default point is tried twice
    assert children[5].properties["run_algorithm"] == "VotingEnsemble"
    assert {c.properties["run_algorithm"] for c in children[3:5]} <= {"LogisticRegression", "KNN"}
    assert all(
        c.properties["run_properties"] != children[0].properties["run_properties"]
        for c in children[3:5]
        if c.properties["run_algorithm"] == "LogisticRegression"
    )
    _, vote = run.get_output(iteration=5)  # over old and new iterations' models
    assert (vote.predict(iris.drop(columns="target")) == iris["target"]).mean() > 0.9
    best, model = run.get_output()
    assert best.id == run.get_tags()["best_child_run_id"]
    assert (model.predict(iris.drop(columns="target")) == iris["target"]).mean() > 0.9
    # the same data may be given again; other data may not
    run.continue_experiment(training_data=iris, iterations=1)
    assert len(run.get_children()) == 8
    with pytest.raises(ValidationError, match="data the search ran on"):
        run.continue_experiment(training_data=iris.iloc[:120], iterations=1)
    with pytest.raises(ValidationError, match="sample_weight"):
        run.continue_experiment(sample_weight=[1.0] * 150)
    with pytest.raises(ValidationError, match="iterations"):
        run.continue_experiment(iterations=0)
    assert len(run.get_children()) == 8  # refused continuations left nothing behind


@_embedded
def test_only_an_ended_search_with_its_state_continues(ws: Workspace) -> None:
    from atelier.automl import AutoMLRun
    from atelier.core.status import RunStatus

    record = ws._backend.runs.create(
        ws.name, "running", run_id="AutoML_x", status=RunStatus.RUNNING, run_type="automl"
    )
    automl = AutoMLRun(Experiment(ws, "running"), record.run_id)
    with pytest.raises(InvalidStateError, match="only a Completed or Canceled"):
        automl.continue_experiment(iterations=1)
    automl.complete()
    with pytest.raises(InvalidStateError, match="kept no search state"):
        automl.continue_experiment(iterations=1)
