"""Azure AutoML's metric names: which task each belongs to, its goal, and how it is computed.

Every child run logs every metric of its task under Azure's name (``AUC_weighted``,
``normalized_root_mean_squared_error`` ...). Normalized regression metrics divide by the
range of the training label, as Azure does. scikit-learn is imported by the functions only.
"""

from __future__ import annotations

import math
from typing import Any

from atelier.core.errors import ValidationError

__all__ = [
    "CLASSIFICATION_METRICS",
    "REGRESSION_METRICS",
    "check_primary_metric",
    "classification_scores",
    "default_primary_metric",
    "maximize",
    "regression_scores",
]

CLASSIFICATION = "classification"
REGRESSION = "regression"
FORECASTING = "forecasting"
TASKS = (CLASSIFICATION, REGRESSION, FORECASTING)

#: the metrics Azure lets a classification run optimize
CLASSIFICATION_PRIMARY = (
    "accuracy",
    "AUC_weighted",
    "norm_macro_recall",
    "average_precision_score_weighted",
    "precision_score_weighted",
)
#: ... and a regression or forecasting run
REGRESSION_PRIMARY = (
    "spearman_correlation",
    "normalized_root_mean_squared_error",
    "r2_score",
    "normalized_mean_absolute_error",
)
CLASSIFICATION_METRICS = (
    *CLASSIFICATION_PRIMARY,
    "AUC_macro",
    "AUC_micro",
    "average_precision_score_macro",
    "average_precision_score_micro",
    "balanced_accuracy",
    "f1_score_macro",
    "f1_score_micro",
    "f1_score_weighted",
    "log_loss",
    "matthews_correlation",
    "precision_score_macro",
    "precision_score_micro",
    "recall_score_macro",
    "recall_score_micro",
    "recall_score_weighted",
    "weighted_accuracy",
)
REGRESSION_METRICS = (
    *REGRESSION_PRIMARY,
    "explained_variance",
    "mean_absolute_error",
    "median_absolute_error",
    "normalized_median_absolute_error",
    "root_mean_squared_error",
    "root_mean_squared_log_error",
    "normalized_root_mean_squared_log_error",
    "mean_absolute_percentage_error",
)
_MINIMIZED = {
    "log_loss",
    "mean_absolute_error",
    "median_absolute_error",
    "normalized_mean_absolute_error",
    "normalized_median_absolute_error",
    "normalized_root_mean_squared_error",
    "normalized_root_mean_squared_log_error",
    "root_mean_squared_error",
    "root_mean_squared_log_error",
    "mean_absolute_percentage_error",
}


def maximize(metric: str) -> bool:
    """Whether a larger value of the metric is better."""
    return metric not in _MINIMIZED


def default_primary_metric(task: str) -> str:
    """Azure's default: accuracy for classification, NRMSE for regression and forecasting."""
    return "accuracy" if task == CLASSIFICATION else "normalized_root_mean_squared_error"


def check_primary_metric(task: str, metric: str | None) -> str:
    """The primary metric for the task; ``ValidationError`` for one that does not fit it."""
    if metric is None:
        return default_primary_metric(task)
    allowed = CLASSIFICATION_PRIMARY if task == CLASSIFICATION else REGRESSION_PRIMARY
    if metric not in allowed:
        raise ValidationError(
            f"primary_metric {metric!r} does not fit task {task!r}; use one of {', '.join(allowed)}"
        )
    return metric


def _finite(scores: dict[str, float]) -> dict[str, float]:
    return {k: float(v) for k, v in scores.items() if v is not None and math.isfinite(float(v))}


def classification_scores(y_true: Any, proba: Any, classes: Any) -> dict[str, float]:
    """Every classification metric, from the true labels and the predicted probabilities
    (one column per class, in ``classes``' order)."""
    import numpy as np
    from sklearn import metrics as m
    from sklearn.preprocessing import label_binarize

    y_true = np.asarray(y_true)
    proba = np.clip(np.asarray(proba, dtype=float), 1e-15, 1.0)
    proba = proba / proba.sum(axis=1, keepdims=True)
    classes = np.asarray(classes)
    y_pred = classes[np.argmax(proba, axis=1)]
    present = np.unique(y_true)
    onehot = label_binarize(y_true, classes=classes)
    if len(classes) == 2:
        onehot = np.hstack([1 - onehot, onehot])
    weights = np.array([np.mean(y_true == c) for c in classes])
    scores: dict[str, float] = {
        "accuracy": m.accuracy_score(y_true, y_pred),
        "balanced_accuracy": m.balanced_accuracy_score(y_true, y_pred),
        "log_loss": m.log_loss(y_true, proba, labels=classes),
        "matthews_correlation": m.matthews_corrcoef(y_true, y_pred),
    }
    for average in ("macro", "micro", "weighted"):
        common = {"average": average, "labels": present, "zero_division": 0}
        scores[f"f1_score_{average}"] = m.f1_score(y_true, y_pred, **common)
        scores[f"precision_score_{average}"] = m.precision_score(y_true, y_pred, **common)
        scores[f"recall_score_{average}"] = m.recall_score(y_true, y_pred, **common)
    # AUC and average precision, per class over the classes present in y_true
    columns = [i for i, c in enumerate(classes) if c in present]
    if len(present) > 1:
        auc = [m.roc_auc_score(onehot[:, i], proba[:, i]) for i in columns]
        ap = [m.average_precision_score(onehot[:, i], proba[:, i]) for i in columns]
        share = weights[columns] / weights[columns].sum()
        scores["AUC_macro"] = float(np.mean(auc))
        scores["AUC_weighted"] = float(np.dot(auc, share))
        scores["AUC_micro"] = m.roc_auc_score(onehot[:, columns].ravel(), proba[:, columns].ravel())
        scores["average_precision_score_macro"] = float(np.mean(ap))
        scores["average_precision_score_weighted"] = float(np.dot(ap, share))
        scores["average_precision_score_micro"] = m.average_precision_score(
            onehot[:, columns].ravel(), proba[:, columns].ravel()
        )
    # norm_macro_recall: macro recall rescaled so that chance is 0 and perfect is 1
    chance = 1.0 / len(classes)
    scores["norm_macro_recall"] = max(0.0, (scores["recall_score_macro"] - chance) / (1 - chance))
    # weighted_accuracy: each sample weighted by its class's share
    sample_weight = np.array([weights[np.searchsorted(classes, y)] for y in y_true])
    scores["weighted_accuracy"] = m.accuracy_score(y_true, y_pred, sample_weight=sample_weight)
    return _finite(scores)


def regression_scores(y_true: Any, y_pred: Any, y_range: tuple[float, float]) -> dict[str, float]:
    """Every regression metric; the normalized ones divide by the label's range."""
    import numpy as np
    from scipy.stats import spearmanr
    from sklearn import metrics as m

    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    span = (y_range[1] - y_range[0]) or 1.0
    rmse = math.sqrt(m.mean_squared_error(y_true, y_pred))
    mae = m.mean_absolute_error(y_true, y_pred)
    median = m.median_absolute_error(y_true, y_pred)
    scores: dict[str, float] = {
        "explained_variance": m.explained_variance_score(y_true, y_pred),
        "r2_score": m.r2_score(y_true, y_pred),
        "mean_absolute_error": mae,
        "median_absolute_error": median,
        "root_mean_squared_error": rmse,
        "normalized_root_mean_squared_error": rmse / span,
        "normalized_mean_absolute_error": mae / span,
        "normalized_median_absolute_error": median / span,
        "mean_absolute_percentage_error": 100.0
        * float(np.mean(np.abs((y_true - y_pred) / np.where(y_true == 0, 1.0, y_true)))),
    }
    if len(np.unique(y_true)) > 1 and len(np.unique(y_pred)) > 1:
        scores["spearman_correlation"] = float(spearmanr(y_true, y_pred).statistic)
    else:
        scores["spearman_correlation"] = 0.0
    if y_range[0] > -1 and (y_pred > -1).all() and (y_true > -1).all():
        rmsle = math.sqrt(m.mean_squared_log_error(y_true, y_pred))
        log_span = (math.log1p(y_range[1]) - math.log1p(y_range[0])) or 1.0
        scores["root_mean_squared_log_error"] = rmsle
        scores["normalized_root_mean_squared_log_error"] = rmsle / log_span
    return _finite(scores)


def primary_score(
    task: str,
    metric: str,
    y_true: Any,
    predictions: Any,
    classes: Any,
    y_range: tuple[float, float],
) -> float:
    """Only the primary metric, fast (the ensemble selection calls it many times);
    NaN when it cannot be computed."""
    import numpy as np
    from sklearn import metrics as m
    from sklearn.preprocessing import label_binarize

    y_true = np.asarray(y_true)
    try:
        if task == CLASSIFICATION:
            proba = np.asarray(predictions, dtype=float)
            y_pred = np.asarray(classes)[np.argmax(proba, axis=1)]
            if metric == "accuracy":
                return float(m.accuracy_score(y_true, y_pred))
            if metric == "precision_score_weighted":
                return float(m.precision_score(y_true, y_pred, average="weighted", zero_division=0))
            if metric == "norm_macro_recall":
                recall = m.recall_score(y_true, y_pred, average="macro", zero_division=0)
                chance = 1.0 / len(classes)
                return float(max(0.0, (recall - chance) / (1 - chance)))
            onehot = label_binarize(y_true, classes=classes)
            if len(classes) == 2:
                onehot = np.hstack([1 - onehot, onehot])
            present = onehot.sum(axis=0) > 0
            if metric == "AUC_weighted":
                return float(
                    m.roc_auc_score(onehot[:, present], proba[:, present], average="weighted")
                )
            return float(
                m.average_precision_score(onehot[:, present], proba[:, present], average="weighted")
            )
        y_pred = np.asarray(predictions, dtype=float)
        span = (y_range[1] - y_range[0]) or 1.0
        if metric == "normalized_root_mean_squared_error":
            return float(np.sqrt(np.mean((y_true - y_pred) ** 2)) / span)
        if metric == "normalized_mean_absolute_error":
            return float(np.mean(np.abs(y_true - y_pred)) / span)
        if metric == "r2_score":
            return float(m.r2_score(y_true, y_pred))
        from scipy.stats import spearmanr

        return float(spearmanr(y_true, y_pred).statistic)
    except ValueError:
        return float("nan")
