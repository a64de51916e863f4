"""The estimators AutoML's fitted models pickle: the date-time featurizer and the final
ensembles.

The ensembles are a weighted soft vote over earlier iterations, its weights chosen by
greedy forward selection with replacement on the iterations' out-of-fold predictions
(Caruana et al., 2004), as Azure's VotingEnsemble does.

The estimators hold already-fitted members, so fitting the ensemble is free."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline

__all__ = [
    "ColumnsByPosition",
    "DateTimeFeatures",
    "LabelEncoded",
    "PreFittedSoftVotingClassifier",
    "PreFittedSoftVotingRegressor",
    "TextColumn",
    "aligned_proba",
    "select_weights",
    "stack_pipeline",
    "voting_pipeline",
]

_ROUNDS = 25


class ColumnsByPosition(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """A frame whose columns are named by position, from a frame or from plain rows: the
    fitted model scores both (the no-code deployment sends rows of numbers)."""

    def fit(self, X: Any, y: Any = None) -> ColumnsByPosition:
        return self

    def transform(self, X: Any) -> Any:
        if isinstance(X, pd.DataFrame):
            return X.set_axis(range(X.shape[1]), axis=1)
        return pd.DataFrame(np.asarray(X))


class LabelEncoded(BaseEstimator):  # type: ignore[misc]
    """A classifier that needs labels 0..k-1 (XGBoost), fitted on the codes of any labels
    and answering with the labels themselves."""

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LabelEncoded:
        self.classes_, codes = np.unique(y, return_inverse=True)
        self.estimator.fit(X, codes, sample_weight=sample_weight)
        return self

    def predict_proba(self, X: Any) -> Any:
        return self.estimator.predict_proba(X)

    def predict(self, X: Any) -> Any:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class TextColumn(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """One column as strings, missing values empty: what a text vectorizer reads."""

    def fit(self, X: Any, y: Any = None) -> TextColumn:
        return self

    def transform(self, X: Any) -> Any:
        return pd.Series(np.asarray(X, dtype=object).ravel()).fillna("").astype(str).to_numpy()


class DateTimeFeatures(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Date-time columns as numbers: year, month, day, weekday, hour, day of year."""

    def fit(self, X: Any, y: Any = None) -> DateTimeFeatures:
        return self

    def transform(self, X: Any) -> Any:
        frame = pd.DataFrame(X)
        parts = []
        for column in frame.columns:
            values = pd.to_datetime(frame[column], errors="coerce")
            dt = values.dt
            parts.extend([dt.year, dt.month, dt.day, dt.day_of_week, dt.hour, dt.day_of_year])
        return np.column_stack([p.to_numpy(dtype=float, na_value=np.nan) for p in parts])


class _PreFitted(BaseEstimator):  # type: ignore[misc]
    def __init__(self, estimators: list[tuple[str, Any]], weights: list[float]) -> None:
        self.estimators = estimators
        self.weights = weights

    def fit(self, X: Any, y: Any = None) -> Any:
        return self  # the members are fitted already

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def _average(self, outputs: list[Any]) -> Any:
        total = float(sum(self.weights))
        weighted = zip(self.weights, outputs, strict=True)
        return sum(w * np.asarray(o, dtype=float) for w, o in weighted) / total


class PreFittedSoftVotingClassifier(_PreFitted):
    """The weighted average of the members' class probabilities; predicts its argmax."""

    def __init__(
        self, estimators: list[tuple[str, Any]], weights: list[float], classes: Any
    ) -> None:
        super().__init__(estimators, weights)
        self.classes = classes

    @property
    def classes_(self) -> Any:
        return self.classes

    def predict_proba(self, X: Any) -> Any:
        return self._average([aligned_proba(m, X, self.classes_) for _, m in self.estimators])

    def predict(self, X: Any) -> Any:
        return np.asarray(self.classes_)[np.argmax(self.predict_proba(X), axis=1)]


class PreFittedSoftVotingRegressor(_PreFitted):
    """The weighted average of the members' predictions."""

    def predict(self, X: Any) -> Any:
        return self._average([m.predict(X) for _, m in self.estimators])


def aligned_proba(model: Any, X: Any, classes: Any) -> Any:
    """``model.predict_proba(X)`` with one column per class of ``classes`` (a model fitted
    on a fold that lacked a class gets a zero column for it)."""

    proba = np.asarray(model.predict_proba(X), dtype=float)
    own = list(getattr(model, "classes_", classes))
    if own == list(classes):
        return proba
    out = np.zeros((proba.shape[0], len(classes)))
    index = {c: i for i, c in enumerate(classes)}
    for j, c in enumerate(own):
        out[:, index[c]] = proba[:, j]
    return out


def select_weights(
    predictions: dict[int, Any], score: Callable[[Any], float], maximize: bool
) -> dict[int, int]:
    """Greedy forward selection with replacement: how many times each iteration joins the
    average of out-of-fold ``predictions`` so that ``score`` of the average is best."""

    chosen: dict[int, int] = {}
    total: Any = None
    best_so_far: float | None = None
    for count in range(_ROUNDS):
        best: tuple[float, int] | None = None
        for iteration, prediction in predictions.items():
            candidate = prediction if total is None else (total + prediction)
            value = score(np.asarray(candidate) / (count + 1))
            if best is None or (value > best[0] if maximize else value < best[0]):
                best = (value, iteration)
        if best is None:
            break
        if best_so_far is not None and (
            best[0] <= best_so_far if maximize else best[0] >= best_so_far
        ):
            break  # no member improves the average any more
        best_so_far = best[0]
        pick = best[1]
        total = predictions[pick] if total is None else total + predictions[pick]
        chosen[pick] = chosen.get(pick, 0) + 1
    return chosen


def voting_pipeline(
    featurizer: Any, members: list[tuple[str, Any]], weights: list[float], classes: Any
) -> Any:
    """The ensemble's pipeline: the featurizer, then the weighted vote of the members'
    models (soft voting over ``classes``, or the weighted mean when ``classes`` is None)."""
    if classes is not None:
        vote: Any = PreFittedSoftVotingClassifier(members, weights, classes)
        return Pipeline([("datatransformer", featurizer), ("prefittedsoftvotingclassifier", vote)])
    vote = PreFittedSoftVotingRegressor(members, weights)
    return Pipeline([("datatransformer", featurizer), ("prefittedsoftvotingregressor", vote)])


class StackEnsemble(BaseEstimator):  # type: ignore[misc]
    """A fitted meta-learner over the fitted members' predictions (class probabilities,
    or values), as Azure's StackEnsembleClassifier / StackEnsembleRegressor."""

    def __init__(self, estimators: list[tuple[str, Any]], meta: Any, classes: Any) -> None:
        self.estimators = estimators
        self.meta = meta
        self.classes = classes

    def fit(self, X: Any, y: Any = None) -> StackEnsemble:
        return self  # the members and the meta-learner are fitted already

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def _inputs(self, X: Any) -> Any:
        if self.classes is None:
            return np.column_stack(
                [np.asarray(m.predict(X), dtype=float) for _, m in self.estimators]
            )
        return np.column_stack([aligned_proba(m, X, self.classes) for _, m in self.estimators])

    @property
    def classes_(self) -> Any:
        return self.classes

    def predict_proba(self, X: Any) -> Any:
        return aligned_proba(self.meta, self._inputs(X), self.classes)

    def predict(self, X: Any) -> Any:
        if self.classes is None:
            return self.meta.predict(self._inputs(X))
        return np.asarray(self.classes)[np.argmax(self.predict_proba(X), axis=1)]


def stack_pipeline(featurizer: Any, members: list[tuple[str, Any]], meta: Any, classes: Any) -> Any:
    """The stack's pipeline: the featurizer, then the meta-learner over the members."""
    step = "stackensembleclassifier" if classes is not None else "stackensembleregressor"
    return Pipeline(
        [("datatransformer", featurizer), (step, StackEnsemble(members, meta, classes))]
    )
