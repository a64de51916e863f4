"""The iterations computed after the search, in the driving process: the baseline (when
no iteration finished), the VotingEnsemble and the StackEnsemble, as Azure adds them.

Both ensembles are built from the best iterations that kept their fitted model, using
their validation predictions (out-of-fold, or on the held-out rows): the vote's weights by
greedy forward selection, the stack's meta-learner (logistic regression, or ridge
regression) trained on them and scored by 3-fold cross-validation over them."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from atelier.sdk.automl._search import Outcome, Search

__all__ = ["baseline", "stack", "voting"]

_KEEP = 8
_STACK_MEMBERS = 5


def baseline(search: Search) -> None:
    """The most frequent class, or the mean: the answer when nothing else finished."""
    from sklearn.dummy import DummyClassifier, DummyRegressor

    started = time.monotonic()
    model = DummyClassifier() if search.task == "classification" else DummyRegressor()
    with search._quiet():
        predictions, truth, fitted = search._evaluate(model)
        score = search._score(predictions, truth)
        scores = search._all_scores(predictions, truth)
        search._truth = truth
    refitted = search._refit(model, fitted)
    search._add("Baseline", {}, (predictions, score, scores, refitted, started))


def _kept(search: Search, top: int) -> list[Outcome]:
    kept = [o for o in search.outcomes if o.model is not None and not math.isnan(o.score)]
    kept.sort(key=lambda o: o.score, reverse=search.maximize)
    return kept[:top]


def voting(search: Search) -> None:
    """A weighted soft vote of the best iterations (at least two)."""
    from atelier.sdk.automl._estimators import select_weights, voting_pipeline

    started = time.monotonic()
    kept = _kept(search, _KEEP)
    if len(kept) < 2:
        return
    truth = search._truth
    with search._quiet():
        candidates = {o.iteration: o.predictions for o in kept}
        chosen = select_weights(candidates, lambda p: search._score(p, truth), search.maximize)
        members = [o for o in kept if o.iteration in chosen]
        weights = [float(chosen[o.iteration]) for o in members]
        average = sum(w * o.predictions for w, o in zip(weights, members, strict=True))
        average = average / sum(weights)
        score = search._score(average, truth)
        scores = search._all_scores(average, truth)
    estimators = [(f"{o.iteration}_{o.name}", o.model.steps[-1][1]) for o in members]
    model = voting_pipeline(search.featurizer, estimators, weights, search.data.classes)
    params = {
        "ensembled_iterations": [o.iteration for o in members],
        "ensembled_algorithms": [o.name for o in members],
        "ensemble_weights": weights,
    }
    search._add("VotingEnsemble", params, (average, score, scores, model, started))


def stack(search: Search) -> None:
    """A meta-learner over the best iterations' predictions (at least two)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression, RidgeCV
    from sklearn.model_selection import cross_val_predict

    from atelier.sdk.automl._estimators import stack_pipeline

    started = time.monotonic()
    members = _kept(search, _STACK_MEMBERS)
    if len(members) < 2:
        return
    truth = search._truth
    classify = search.task == "classification"
    meta: Any = LogisticRegression(max_iter=1000) if classify else RidgeCV()
    inputs = np.column_stack([np.asarray(o.predictions, dtype=float) for o in members])
    weights = search.valid_weights
    params = {} if weights is None else {"sample_weight": weights}
    with search._quiet():
        method = "predict_proba" if classify else "predict"
        predictions = cross_val_predict(meta, inputs, truth, cv=3, method=method, params=params)
        if classify:  # columns as the meta-learner orders them: the classes seen, sorted
            seen = np.unique(truth)
            full = np.zeros((len(truth), len(search.data.classes)))
            full[:, np.searchsorted(search.data.classes, seen)] = predictions
            predictions = full
        score = search._score(predictions, truth)
        scores = search._all_scores(predictions, truth)
        meta.fit(inputs, truth, **params)
    estimators = [(f"{o.iteration}_{o.name}", o.model.steps[-1][1]) for o in members]
    model = stack_pipeline(search.featurizer, estimators, meta, search.data.classes)
    params = {
        "ensembled_iterations": [o.iteration for o in members],
        "ensembled_algorithms": [o.name for o in members],
        "meta_learner": type(meta).__name__,
    }
    search._add("StackEnsemble", params, (predictions, score, scores, model, started))
