"""Metric names that several layers read: what AutoML minimizes (its runs, and the
Studio's leaderboard) and the per-feature metrics of a drift window (the detector's
output, and the Studio's drift page)."""

from __future__ import annotations

#: the AutoML metrics of which less is better (every other one: more is better)
AUTOML_MINIMIZED = frozenset(
    {
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
)

#: a drift window's per-feature metrics (azureml's column_metrics), in their order
DRIFT_FEATURE_METRICS = (
    "contribution",
    "wasserstein_distance",
    "normed_wasserstein_distance",
    "energy_distance",
    "psi",
    "jensen_shannon_distance",
    "euclidean_distance",
    "statistic",
    "p_value",
    "p_value_corrected",
)
