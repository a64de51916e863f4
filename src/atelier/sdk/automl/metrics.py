"""Azure AutoML's metric names: which task each belongs to, its goal, and how it is computed.

Every child run logs every metric of its task under Azure's name (``AUC_weighted``,
``normalized_root_mean_squared_error`` ...). Normalized regression metrics divide by the
range of the training label, as Azure does. scikit-learn is imported by the functions only.
"""

from __future__ import annotations

import math
from typing import Any

from atelier.core.errors import ValidationError
from atelier.core.metric_names import AUTOML_MINIMIZED

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
_MINIMIZED = AUTOML_MINIMIZED


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


def _auc(positive: Any, scores: Any) -> float:
    """Area under the ROC curve from ranks (ties share their mean rank)."""
    from scipy.stats import rankdata

    count = int(positive.sum())
    others = len(positive) - count
    if count == 0 or others == 0:
        return math.nan
    ranks = rankdata(scores)
    return float((ranks[positive].sum() - count * (count + 1) / 2) / (count * others))


def _average_precision(positive: Any, scores: Any) -> float:
    """Average precision as scikit-learn defines it: precision at each distinct threshold,
    weighted by the recall it adds."""
    import numpy as np

    count = int(positive.sum())
    if count == 0:
        return math.nan
    order = np.argsort(-scores, kind="stable")
    ranked, hits = scores[order], positive[order].astype(float)
    last = np.r_[np.flatnonzero(np.diff(ranked)), len(ranked) - 1]
    true_pos = np.cumsum(hits)[last]
    precision = true_pos / (last + 1)
    recall = true_pos / count
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def _weighted_rank_score(kind: str, positive: Any, scores: Any, weights: Any) -> float:
    """AUC or average precision with sample weights (scikit-learn's)."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    if not positive.any() or positive.all():
        return math.nan
    score = roc_auc_score if kind == "auc" else average_precision_score
    return float(score(positive, scores, sample_weight=weights))


def _rank_scores(onehot: Any, proba: Any, columns: Any, share: Any, w: Any) -> dict[str, float]:
    """The AUC and average precision metrics (one-vs-rest per class present, macro,
    weighted by prevalence, micro); none with one class present."""
    import numpy as np

    if len(columns) < 2:
        return {}
    scores: dict[str, float] = {}
    pairs = [(onehot[:, i], proba[:, i]) for i in columns]
    if w is None:
        auc = np.array([_auc(p, s) for p, s in pairs])
        ap = np.array([_average_precision(p, s) for p, s in pairs])
    else:
        auc = np.array([_weighted_rank_score("auc", p, s, w) for p, s in pairs])
        ap = np.array([_weighted_rank_score("ap", p, s, w) for p, s in pairs])
    scores["AUC_macro"] = float(np.mean(auc))
    scores["AUC_weighted"] = float(np.dot(auc, share))
    scores["average_precision_score_macro"] = float(np.mean(ap))
    scores["average_precision_score_weighted"] = float(np.dot(ap, share))
    flat, flat_scores = onehot[:, columns].ravel(), proba[:, columns].ravel()
    if w is None:
        scores["AUC_micro"] = _auc(flat, flat_scores)
        scores["average_precision_score_micro"] = _average_precision(flat, flat_scores)
    else:
        flat_w = np.repeat(w, len(columns))
        scores["AUC_micro"] = _weighted_rank_score("auc", flat, flat_scores, flat_w)
        scores["average_precision_score_micro"] = _weighted_rank_score(
            "ap", flat, flat_scores, flat_w
        )
    return scores


def classification_scores(
    y_true: Any, proba: Any, classes: Any, sample_weight: Any = None
) -> dict[str, float]:
    """Every classification metric, from the true labels and the predicted probabilities
    (one column per class, in ``classes``' order), each row counting ``sample_weight``
    (default 1). Computed from the confusion matrix and ranks here: an iteration is
    scored in milliseconds."""
    import numpy as np

    classes = np.asarray(classes)
    k = len(classes)
    truth = np.searchsorted(classes, np.asarray(y_true))
    proba = np.clip(np.asarray(proba, dtype=float), 1e-15, 1.0)
    proba = proba / proba.sum(axis=1, keepdims=True)
    guess = np.argmax(proba, axis=1)
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
    n = len(truth) if w is None else float(w.sum())
    matrix = np.bincount(truth * k + guess, weights=w, minlength=k * k).reshape(k, k)
    matrix = matrix.astype(float)
    hits, support, predicted = np.diag(matrix), matrix.sum(axis=1), matrix.sum(axis=0)
    present = support > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, hits / predicted, 0.0)
        recall = np.where(support > 0, hits / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    share = support[present] / n
    scores: dict[str, float] = {"accuracy": hits.sum() / n}
    scores["balanced_accuracy"] = float(recall[present].mean())
    scores["log_loss"] = float(-np.average(np.log(proba[np.arange(len(truth)), truth]), weights=w))
    for name, values in (("precision", precision), ("recall", recall), ("f1", f1)):
        key = "f1_score" if name == "f1" else f"{name}_score"
        scores[f"{key}_macro"] = float(values[present].mean())
        scores[f"{key}_weighted"] = float(np.dot(values[present], share))
    micro_predicted = predicted[present].sum()
    scores["precision_score_micro"] = (
        hits[present].sum() / micro_predicted if micro_predicted else 0.0
    )
    scores["recall_score_micro"] = hits[present].sum() / n
    p_micro, r_micro = scores["precision_score_micro"], scores["recall_score_micro"]
    scores["f1_score_micro"] = (
        2 * p_micro * r_micro / (p_micro + r_micro) if p_micro + r_micro > 0 else 0.0
    )
    covariance = hits.sum() * n - np.dot(predicted, support)
    spread = math.sqrt((n * n - np.dot(predicted, predicted)) * (n * n - np.dot(support, support)))
    scores["matthews_correlation"] = covariance / spread if spread else 0.0
    onehot = np.eye(k, dtype=bool)[truth]
    scores.update(_rank_scores(onehot, proba, np.flatnonzero(present), share, w))
    chance = 1.0 / k
    scores["norm_macro_recall"] = max(0.0, (scores["recall_score_macro"] - chance) / (1 - chance))
    weights = (support / n)[truth] * (1.0 if w is None else w)
    scores["weighted_accuracy"] = float(np.sum(weights * (truth == guess)) / np.sum(weights))
    return _finite(scores)


def _median(values: Any, w: Any) -> float:
    import numpy as np

    if w is None:
        return float(np.median(values))
    order = np.argsort(values)
    cumulative = np.cumsum(w[order])
    return float(values[order][np.searchsorted(cumulative, cumulative[-1] / 2.0)])


def regression_scores(
    y_true: Any, y_pred: Any, y_range: tuple[float, float], sample_weight: Any = None
) -> dict[str, float]:
    """Every regression metric, each row counting ``sample_weight`` (default 1; the
    Spearman correlation is unweighted); the normalized ones divide by the label's range."""
    import numpy as np
    from scipy.stats import spearmanr

    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=float)

    def mean(values: Any) -> float:
        return float(np.average(values, weights=w))

    def var(values: Any) -> float:
        return float(np.var(values)) if w is None else mean((values - mean(values)) ** 2)

    span = (y_range[1] - y_range[0]) or 1.0
    error = y_true - y_pred
    rmse = math.sqrt(mean(error**2))
    mae = mean(np.abs(error))
    median = _median(np.abs(error), w)
    variance = var(y_true) or 1.0
    scores: dict[str, float] = {
        "explained_variance": 1.0 - var(error) / variance,
        "r2_score": 1.0 - mean(error**2) / variance,
        "mean_absolute_error": mae,
        "median_absolute_error": median,
        "root_mean_squared_error": rmse,
        "normalized_root_mean_squared_error": rmse / span,
        "normalized_mean_absolute_error": mae / span,
        "normalized_median_absolute_error": median / span,
        "mean_absolute_percentage_error": 100.0
        * mean(np.abs(error / np.where(y_true == 0, 1.0, y_true))),
    }
    if len(np.unique(y_true)) > 1 and len(np.unique(y_pred)) > 1:
        scores["spearman_correlation"] = float(spearmanr(y_true, y_pred).statistic)
    else:
        scores["spearman_correlation"] = 0.0
    if y_range[0] > -1 and (y_pred > -1).all() and (y_true > -1).all():
        rmsle = math.sqrt(mean((np.log1p(y_true) - np.log1p(y_pred)) ** 2))
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
    sample_weight: Any = None,
) -> float:
    """The primary metric alone (the ensemble selection asks for it many times); NaN when
    it cannot be computed."""
    if task == CLASSIFICATION:
        scores = classification_scores(y_true, predictions, classes, sample_weight)
    else:
        scores = regression_scores(y_true, predictions, y_range, sample_weight)
    return scores.get(metric, math.nan)
