"""The iterations computed after the search, in the driving process: the baseline (when
no iteration finished), the VotingEnsemble and the StackEnsemble, as Azure adds them, and
last the HedgedVotingEnsemble.

Both of Azure's ensembles are built from the best iterations that kept their fitted model,
using their validation predictions (out-of-fold, or on the held-out rows): the vote's
weights by greedy forward selection, the stack's meta-learner (logistic regression, or
ridge regression) trained on them and scored by 3-fold cross-validation over them.

The hedged vote is the equal-weight average of the default LightGBM and the top iteration
(often an ensemble): the safe choice when the top iteration's lead is within the noise
(``_selection``). For a convex loss (squared error, log-loss) an average is never worse
than the mean of its two members' losses, so it can be worse than the default LightGBM on
new data only where the top iteration is worse than it there too, and by half as much."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from atelier.sdk.automl._selection import HEDGE, reference

if TYPE_CHECKING:
    from atelier.sdk.automl._search import Outcome, Search

__all__ = ["HEDGE", "baseline", "hedge", "stack", "voting"]

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
    from atelier.sdk.automl._estimators import select_weights

    started = time.monotonic()
    kept = _kept(search, _KEEP)
    if len(kept) < 2:
        return
    truth = search._truth
    with search._quiet():
        candidates = {o.iteration: o.predictions for o in kept}
        chosen = select_weights(candidates, lambda p: search._score(p, truth), search.maximize)
    members = [o for o in kept if o.iteration in chosen]
    _vote(search, "VotingEnsemble", members, [float(chosen[o.iteration]) for o in members], started)


def hedge(search: Search) -> None:
    """The equal-weight vote of the default LightGBM and the top iteration so far (when
    they differ and both kept their model)."""
    started = time.monotonic()
    base, top = reference(search), search._best()
    if base is None or top is None or top is base or top.model is None:
        return
    _vote(search, HEDGE, [base, top], [1.0, 1.0], started)


def _vote(
    search: Search, name: str, members: list[Outcome], weights: list[float], started: float
) -> None:
    """Record the weighted vote of ``members`` (their models, already fitted) as ``name``."""
    from atelier.sdk.automl._estimators import voting_pipeline

    truth = search._truth
    with search._quiet():
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
    search._add(name, params, (average, score, scores, model, started))


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
