"""The statistics of drift, on count vectors: PSI, Jensen-Shannon distance, the
Kolmogorov-Smirnov and chi-square p-values, and the Benjamini-Hochberg correction (numpy
and ``scipy.special`` only: ``scipy.stats`` alone takes seconds to import)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

_EPS = 1e-4


def psi(expected: np.ndarray[Any, Any], actual: np.ndarray[Any, Any]) -> float:
    p = np.maximum(expected / max(expected.sum(), 1), _EPS)
    q = np.maximum(actual / max(actual.sum(), 1), _EPS)
    return float(np.sum((q - p) * np.log(q / p)))


def jensen_shannon(expected: np.ndarray[Any, Any], actual: np.ndarray[Any, Any]) -> float:
    """The Jensen-Shannon distance (base 2, so 0-1) of two count vectors."""
    p = expected / max(expected.sum(), 1)
    q = actual / max(actual.sum(), 1)
    middle = (p + q) / 2

    def divergence(a: np.ndarray[Any, Any]) -> float:
        kept = a > 0
        return float(np.sum(a[kept] * np.log2(a[kept] / middle[kept])))

    return math.sqrt(max(0.0, (divergence(p) + divergence(q)) / 2))


def ks_pvalue(statistic: float, n: int, m: int) -> float:
    from scipy.special import kolmogorov

    effective = math.sqrt(n * m / (n + m))
    return float(min(1.0, max(0.0, kolmogorov(effective * statistic))))


def chi_square(expected: np.ndarray[Any, Any], actual: np.ndarray[Any, Any]) -> tuple[float, float]:
    """Pearson's chi-square test of independence on the 2 x k table of counts."""
    from scipy.special import chdtrc

    table = np.vstack([expected, actual])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 0.0, 1.0
    total = table.sum()
    fitted = np.outer(table.sum(axis=1), table.sum(axis=0)) / total
    statistic = float(np.sum((table - fitted) ** 2 / fitted))
    return statistic, float(chdtrc(table.shape[1] - 1, statistic))


def benjamini_hochberg(p_values: list[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (the false discovery rate of each feature)."""
    if not p_values:
        return []
    values = np.asarray(p_values, dtype=np.float64)
    order = np.argsort(values)
    count = len(values)
    scaled = values[order] * count / np.arange(1, count + 1)
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    result = np.empty(count)
    result[order] = np.minimum(adjusted, 1.0)
    return [float(v) for v in result]
