"""Drift and data quality between a baseline table and a target window, on Arrow + numpy.

:class:`BaselineProfile` summarizes the baseline once (per numeric feature: quantile bin
edges and counts, range, spread; per categorical feature: its categories and counts; a
row sample for the drift classifier), so a backfill of many windows reads and sorts the
baseline only once. :meth:`BaselineProfile.compare` then measures one window:

- **drift magnitude** (0-100, Azure's definition): how well a classifier tells baseline
  rows from target rows, as 100 x the Matthews correlation of its out-of-bag predictions
  (extremely randomized trees on a balanced sample of at most :data:`CLASSIFIER_ROWS` rows a side);
  each feature's **contribution** is its share of the trees' importance. The window has
  drift when the magnitude reaches the threshold and is above the classifier's noise
  (3 / sqrt(rows), so a tiny window cannot raise an alarm by chance).
- per numeric feature: Wasserstein distance (also divided by the baseline's standard
  deviation), energy distance, PSI, Jensen-Shannon distance, and the two-sample
  Kolmogorov-Smirnov test; per categorical feature: the chi-square test, the Euclidean
  distance of the category frequencies, PSI and Jensen-Shannon distance. A feature is
  flagged when its test's p-value, corrected for the number of features
  (Benjamini-Hochberg), is below :data:`ALPHA` **and** its effect is not negligible (a shift of
  at least :data:`MIN_NUMERIC_EFFECT` standard deviations; a frequency distance of at
  least :data:`MIN_CATEGORICAL_EFFECT`): at a million rows every test is significant.
- data quality: missing values, values outside the baseline's range, categories the
  baseline never had, and values that are not of the baseline's type.

Numeric distributions are compared on :data:`FINE_BINS` equal bins over the baseline's
0.1-99.9 % range plus the two tails (the Kolmogorov-Smirnov statistic is exact at those
edges; Wasserstein's tails are exact sums), which keeps a million rows a column to one
counting pass instead of sorting both sides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from atelier.core.errors import DataDriftSchemaError, ValidationError
from atelier.monitoring.statistics import (
    benjamini_hochberg,
    chi_square,
    jensen_shannon,
    ks_pvalue,
    psi,
)

if TYPE_CHECKING:
    import pyarrow as pa

FINE_BINS = 2000
COARSE_BINS = 10
CLASSIFIER_ROWS = 20_000
QUANTILE_SAMPLE = 200_000
ALPHA = 0.01
MIN_NUMERIC_EFFECT = 0.075
MIN_CATEGORICAL_EFFECT = 0.02
NUMERIC = "numeric"
CATEGORICAL = "categorical"


def _require_extra() -> None:
    """scipy and scikit-learn are the ``drift`` extra's: say how to get them."""
    try:
        import scipy.special  # noqa: F401 - only whether it imports
        import sklearn  # noqa: F401 - only whether it imports
    except ImportError as exc:
        from atelier.core.errors import MissingExtraError

        raise MissingExtraError(
            f"drift detection needs scipy and scikit-learn ({exc.name} is missing): "
            "pip install 'atelier-ml[drift]'"
        ) from exc


def feature_kind(data_type: pa.DataType) -> str | None:
    """``numeric``, ``categorical``, or None for a type drift does not measure (times,
    lists, binary)."""
    import pyarrow as pa

    if pa.types.is_integer(data_type) or pa.types.is_floating(data_type):
        return NUMERIC
    if pa.types.is_decimal(data_type):
        return NUMERIC
    if (
        pa.types.is_string(data_type)
        or pa.types.is_large_string(data_type)
        or pa.types.is_boolean(data_type)
        or pa.types.is_dictionary(data_type)
    ):
        return CATEGORICAL
    return None


def plan_features(
    baseline: pa.Schema,
    target: pa.Schema,
    feature_list: list[str] | None,
    skip: tuple[str | None, ...] = (),
) -> list[tuple[str, str]]:
    """The features to compare with their kind; ``DataDriftSchemaError`` listing every
    column the target lacks and every type that differs."""
    skipped = {name for name in skip if name}
    wanted = list(feature_list) if feature_list else [n for n in baseline.names if n not in skipped]
    problems = []
    plan: list[tuple[str, str]] = []
    for name in wanted:
        if name not in baseline.names:
            problems.append(f"{name!r} is not a column of the baseline")
            continue
        kind = feature_kind(baseline.field(name).type)
        if kind is None:
            if feature_list:
                problems.append(f"{name!r} has type {baseline.field(name).type}, not a feature")
            continue
        if name not in target.names:
            problems.append(f"{name!r} is in the baseline but not in the target")
            continue
        other = feature_kind(target.field(name).type)
        if other != kind and not (kind == NUMERIC and other == CATEGORICAL):
            problems.append(
                f"{name!r} is {baseline.field(name).type} in the baseline but "
                f"{target.field(name).type} in the target"
            )
            continue
        plan.append((name, kind))
    if problems:
        raise DataDriftSchemaError(
            "the baseline and target datasets do not match: " + "; ".join(problems), problems
        )
    if not plan:
        raise ValidationError("the baseline has no numeric or categorical column to compare")
    return plan


def _numbers(column: Any) -> tuple[np.ndarray[Any, Any], int]:
    """A column as float64 without its missing values, and how many values failed to
    convert (text in a numeric feature)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    errors = 0
    if feature_kind(column.type) == CATEGORICAL:
        import pandas as pd

        text = column.cast(pa.string())
        parsed = pa.array(pd.to_numeric(text.to_pandas(), errors="coerce"), pa.float64())
        errors = int(pc.sum(pc.and_(pc.is_valid(text), pc.is_null(parsed))).as_py() or 0)
        column = parsed
    values = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
    return values[~np.isnan(values)], errors


def _categories(column: Any) -> dict[str, int]:
    import pyarrow as pa
    import pyarrow.compute as pc

    if not (pa.types.is_dictionary(column.type) or pa.types.is_string(column.type)):
        column = column.cast(pa.string())
    counted = pc.value_counts(column)
    values = counted.field("values").to_pylist()
    counts = counted.field("counts").to_pylist()
    found: dict[str, int] = {}
    for value, count in zip(values, counts, strict=True):
        if value is not None:
            found[str(value)] = found.get(str(value), 0) + count
    return found


@dataclass
class _NumericBaseline:
    low: float  # the edges of the fine bins: FINE_BINS equal bins over [low, high]
    high: float
    counts: np.ndarray[Any, Any]  # per fine bin, with the tail below and the tail above
    tail_sums: tuple[float, float]  # sum of (low - x) below, of (x - high) above
    groups: np.ndarray[Any, Any]  # where the baseline's deciles start, in fine bins
    minimum: float
    maximum: float
    std: float
    rows: int


@dataclass
class _CategoricalBaseline:
    counts: dict[str, int]
    rows: int


def _bin(values: np.ndarray[Any, Any], low: float, high: float) -> np.ndarray[Any, Any]:
    """Counts in the FINE_BINS equal bins over [low, high], with the two open tails first
    and last (equal bins: numpy counts them without a binary search per value)."""
    below = int(np.count_nonzero(values < low))
    above = int(np.count_nonzero(values > high))
    inner, _ = np.histogram(values, bins=FINE_BINS, range=(low, high))
    return np.concatenate([[below], inner, [above]])


def _tail_sums(values: np.ndarray[Any, Any], low: float, high: float) -> tuple[float, float]:
    return float(np.sum(low - values[values < low])), float(np.sum(values[values > high] - high))


def _numeric_baseline(values: np.ndarray[Any, Any], seed: int) -> _NumericBaseline:
    rng = np.random.default_rng(seed)
    sample = values if len(values) <= QUANTILE_SAMPLE else rng.choice(values, QUANTILE_SAMPLE)
    low, high = (float(v) for v in np.quantile(sample, [0.001, 0.999]))
    minimum, maximum = float(values.min()), float(values.max())
    if high <= low:  # (nearly) constant: the whole range, or a unit around the value
        low, high = (minimum, maximum) if maximum > minimum else (minimum - 0.5, minimum + 0.5)
    counts = _bin(values, low, high)
    cumulative = np.cumsum(counts) / len(values)
    groups = np.unique(np.searchsorted(cumulative, np.linspace(0.1, 0.9, COARSE_BINS - 1)) + 1)
    return _NumericBaseline(
        low=low,
        high=high,
        counts=counts,
        tail_sums=_tail_sums(values, low, high),
        groups=groups,
        minimum=minimum,
        maximum=maximum,
        std=float(values.std()),
        rows=len(values),
    )


def _compare_numeric(base: _NumericBaseline, values: np.ndarray[Any, Any]) -> dict[str, Any]:
    counts = _bin(values, base.low, base.high)
    # both CDFs at every fine edge (low, ..., high)
    gap = np.abs(np.cumsum(base.counts)[:-1] / base.rows - np.cumsum(counts)[:-1] / len(values))
    width = (base.high - base.low) / FINE_BINS
    inner = (gap[:-1] + gap[1:]) / 2  # the CDFs' gap inside each fine bin, on average
    below, above = _tail_sums(values, base.low, base.high)
    tails = abs(below / len(values) - base.tail_sums[0] / base.rows) + abs(
        above / len(values) - base.tail_sums[1] / base.rows
    )
    wasserstein = float(np.sum(inner) * width) + tails
    energy = math.sqrt(2 * float(np.sum(inner**2) * width))
    statistic = float(gap.max())
    expected = np.add.reduceat(base.counts, np.r_[0, base.groups])
    actual = np.add.reduceat(counts, np.r_[0, base.groups])
    normed = wasserstein / base.std if base.std > 0 else (0.0 if wasserstein == 0 else 1.0)
    return {
        "test": "kolmogorov_smirnov",
        "statistic": statistic,
        "p_value": ks_pvalue(statistic, base.rows, len(values)),
        "wasserstein_distance": wasserstein,
        "normed_wasserstein_distance": normed,
        "energy_distance": energy,
        "psi": psi(expected, actual),
        "jensen_shannon_distance": jensen_shannon(expected, actual),
        "_effect": normed,
        "_effect_floor": MIN_NUMERIC_EFFECT,
    }


def _compare_categorical(base: _CategoricalBaseline, counts: dict[str, int]) -> dict[str, Any]:
    names = sorted(set(base.counts) | set(counts))
    expected = np.array([base.counts.get(n, 0) for n in names], dtype=np.float64)
    actual = np.array([counts.get(n, 0) for n in names], dtype=np.float64)
    p = expected / max(expected.sum(), 1)
    q = actual / max(actual.sum(), 1)
    euclidean = float(np.linalg.norm(p - q))
    statistic, p_value = chi_square(expected, actual)
    return {
        "test": "chi_square",
        "statistic": statistic,
        "p_value": p_value,
        "euclidean_distance": euclidean,
        "psi": psi(expected, actual),
        "jensen_shannon_distance": jensen_shannon(expected, actual),
        "_effect": euclidean,
        "_effect_floor": MIN_CATEGORICAL_EFFECT,
    }


@dataclass
class BaselineProfile:
    """What a window is compared with: the baseline, summarized once."""

    features: list[tuple[str, str]]
    numeric: dict[str, _NumericBaseline] = field(default_factory=dict)
    categorical: dict[str, _CategoricalBaseline] = field(default_factory=dict)
    sample: Any = None  # the classifier's baseline rows (a pyarrow Table)
    rows: int = 0
    seed: int = 0

    @classmethod
    def from_table(
        cls, table: pa.Table, features: list[tuple[str, str]], seed: int = 0
    ) -> BaselineProfile:
        """``ValidationError`` when the baseline is empty or a feature has no values."""
        _require_extra()
        if table.num_rows == 0:
            raise ValidationError("the baseline dataset has no rows")
        profile = cls(features=features, rows=table.num_rows, seed=seed)
        empty = []
        for name, kind in features:
            column = table.column(name)
            if kind == NUMERIC:
                values, _ = _numbers(column)
                if len(values) == 0:
                    empty.append(name)
                    continue
                profile.numeric[name] = _numeric_baseline(values, seed)
            else:
                counts = _categories(column)
                if not counts:
                    empty.append(name)
                    continue
                profile.categorical[name] = _CategoricalBaseline(counts, sum(counts.values()))
        if empty:
            raise ValidationError(
                f"every value of {', '.join(map(repr, empty))} is missing in the baseline; "
                "leave it out with feature_list="
            )
        profile.sample = _sample(table, [n for n, _ in features], CLASSIFIER_ROWS, seed)
        return profile

    def compare(self, target: pa.Table, drift_threshold: float) -> dict[str, Any]:
        """One window's metrics: see the module docstring. An empty window says so
        (``empty: True``, no magnitude) instead of reporting zero drift."""
        rows = target.num_rows
        result: dict[str, Any] = {
            "baseline_rows": self.rows,
            "target_rows": rows,
            "empty": rows == 0,
            "drift_threshold": drift_threshold,
            "drift_magnitude": None,
            "datadrift_coefficient": None,
            "significant": False,
            "has_drift": None,
            "features": {},
            "quality": {},
            "drifted_features": [],
        }
        if rows == 0:
            return result
        features, quality = result["features"], result["quality"]
        for name, kind in self.features:
            features[name], quality[name] = self._feature(name, kind, target.column(name), rows)
        tested = [n for n, m in features.items() if m.get("p_value") is not None]
        for name, corrected in zip(
            tested, benjamini_hochberg([features[n]["p_value"] for n in tested]), strict=True
        ):
            metric = features[name]
            metric["p_value_corrected"] = corrected
            metric["drifted"] = corrected < ALPHA and metric.pop("_effect") >= metric.pop(
                "_effect_floor"
            )
            metric.pop("_effect", None)
            metric.pop("_effect_floor", None)
        result["drifted_features"] = [n for n, m in features.items() if m.get("drifted")]
        self._classify(target, result, drift_threshold)
        return result

    def _feature(
        self, name: str, kind: str, column: Any, rows: int
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        missing = column.null_count
        quality: dict[str, Any] = {"missing": missing, "type_errors": 0}
        metric: dict[str, Any] = {"kind": kind}
        if kind == NUMERIC:
            values, errors = _numbers(column)
            base = self.numeric[name]
            quality["type_errors"] = errors
            quality["missing"] = rows - len(values) - errors
            quality["out_of_range"] = int(
                np.count_nonzero(values < base.minimum) + np.count_nonzero(values > base.maximum)
            )
            if len(values):
                metric.update(_compare_numeric(base, values))
        else:
            counts = _categories(column)
            known = self.categorical[name].counts
            new = sorted(c for c in counts if c not in known)
            quality["new_categories"] = new[:20]
            quality["new_category_count"] = len(new)
            quality["new_category_rows"] = sum(counts[c] for c in new)
            if counts:
                metric.update(_compare_categorical(self.categorical[name], counts))
        quality["missing_fraction"] = quality["missing"] / rows
        if "p_value" not in metric:
            metric["all_missing"] = True  # nothing to test: reported, never "no drift"
        return metric, quality

    def _classify(self, target: pa.Table, result: dict[str, Any], threshold: float) -> None:
        names = [n for n, _ in self.features]
        target_sample = _sample(target, names, CLASSIFIER_ROWS, self.seed + 1)
        size = min(self.sample.num_rows, target_sample.num_rows)
        magnitude, importances = drift_classifier(
            self, self.sample.slice(0, size), target_sample.slice(0, size)
        )
        result["drift_magnitude"] = magnitude
        result["datadrift_coefficient"] = magnitude / 100
        noise = 300 / math.sqrt(2 * size) if size else 100.0
        result["significant"] = magnitude > noise
        result["has_drift"] = bool(result["significant"] and magnitude >= threshold * 100)
        for name, share in importances.items():
            result["features"][name]["contribution"] = share


def _sample(table: pa.Table, names: list[str], rows: int, seed: int) -> pa.Table:
    table = table.select(names)
    if table.num_rows <= rows:
        order = np.random.default_rng(seed).permutation(table.num_rows)
    else:
        order = np.sort(np.random.default_rng(seed).choice(table.num_rows, rows, replace=False))
        np.random.default_rng(seed).shuffle(order)
    return table.take(order)


def _encode(profile: BaselineProfile, table: pa.Table) -> np.ndarray[Any, Any]:
    """The classifier's matrix: numbers as they are, categories as their index among the
    baseline's (one more for a new category), missing values as NaN."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    for name, kind in profile.features:
        column = table.column(name)
        if kind == NUMERIC:
            if feature_kind(column.type) == CATEGORICAL:
                values, _ = _numbers_aligned(column)
            else:
                values = column.cast(pa.float64()).to_numpy()
            columns.append(values)
            continue
        known = pa.array(sorted(profile.categorical[name].counts), pa.string())
        text = column.cast(pa.string())
        codes = pc.fill_null(pc.index_in(text, value_set=known), len(known))
        codes = pc.if_else(pc.is_null(text), None, codes)  # a missing value stays one
        columns.append(codes.cast(pa.float64()).to_numpy(zero_copy_only=False))
    return np.column_stack(columns) if columns else np.empty((table.num_rows, 0))


def _numbers_aligned(column: Any) -> tuple[np.ndarray[Any, Any], int]:
    """Text parsed as numbers row for row (NaN where it is missing or not a number)."""
    import pandas as pd
    import pyarrow as pa

    parsed = pd.to_numeric(column.cast(pa.string()).to_pandas(), errors="coerce")
    return parsed.to_numpy(dtype=np.float64, na_value=np.nan), 0


def drift_classifier(
    profile: BaselineProfile, baseline: pa.Table, target: pa.Table
) -> tuple[float, dict[str, float]]:
    """Azure's drift magnitude (0-100) and each feature's share of it, from extremely
    randomized trees that tell baseline rows (label 0) from target rows (label 1)."""
    from sklearn.ensemble import ExtraTreesClassifier
    from sklearn.metrics import matthews_corrcoef

    names = [n for n, _ in profile.features]
    if baseline.num_rows < 5 or target.num_rows < 5:
        return 0.0, dict.fromkeys(names, 0.0)
    # a missing value is a value of its own to the trees: far below every real one
    x = np.nan_to_num(np.vstack([_encode(profile, baseline), _encode(profile, target)]), nan=-1e30)
    y = np.concatenate([np.zeros(baseline.num_rows), np.ones(target.num_rows)])
    forest = ExtraTreesClassifier(
        n_estimators=30,
        max_depth=8,
        min_samples_leaf=5,
        max_features="sqrt",
        bootstrap=True,
        max_samples=0.5,  # half the rows per tree: as good a vote, half the time
        oob_score=True,
        n_jobs=2,
        random_state=profile.seed,
    )
    forest.fit(x, y)
    votes = np.nan_to_num(forest.oob_decision_function_[:, 1], nan=0.5)
    mcc = float(matthews_corrcoef(y, votes > 0.5))
    magnitude = max(0.0, mcc) * 100
    importances = forest.feature_importances_
    total = float(importances.sum()) or 1.0
    return magnitude, {n: float(v) / total for n, v in zip(names, importances, strict=True)}
