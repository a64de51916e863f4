"""The drift metrics on small Arrow tables: no alarm without drift, a shift found and
blamed on its feature, data quality counted, bad input refused with what to fix."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from scipy.stats import ks_2samp, wasserstein_distance

from atelier.core.errors import DataDriftSchemaError, ValidationError
from atelier.monitoring.metrics import BaselineProfile, plan_features


def frame(
    rows: int, seed: int, shift: float = 0.0, colours: tuple[str, ...] = ("r", "g", "b")
) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "x": rng.normal(0, 1, rows) + shift,
            "y": rng.normal(10, 3, rows),
            "n": rng.integers(0, 5, rows),
            "colour": pa.array(np.array(colours)[rng.integers(0, len(colours), rows)]),
        }
    )


def compare(base: pa.Table, target: pa.Table, threshold: float = 0.2) -> dict:
    plan = plan_features(base.schema, target.schema, None)
    return BaselineProfile.from_table(base, plan, seed=3).compare(target, threshold)


def test_undrifted_splits_raise_no_alarm() -> None:
    base = frame(4000, 1)
    for seed in (2, 3, 4):
        result = compare(base, frame(4000, seed))
        assert result["drifted_features"] == []
        assert result["has_drift"] is False
        assert result["drift_magnitude"] < 20
        assert all(0 <= m["p_value_corrected"] <= 1 for m in result["features"].values())


def test_a_shift_is_found_measured_and_blamed_on_its_feature() -> None:
    base, target = frame(4000, 1), frame(4000, 2, shift=1.0)
    result = compare(base, target)
    assert result["drifted_features"] == ["x"]
    assert result["has_drift"] is True and result["drift_magnitude"] > 20
    x = result["features"]["x"]
    contributions = {name: m["contribution"] for name, m in result["features"].items()}
    assert max(contributions, key=contributions.__getitem__) == "x"
    assert sum(contributions.values()) == pytest.approx(1.0)
    # binned at the baseline's quantiles, yet close to scipy's exact values
    exact = ks_2samp(base.column("x").to_numpy(), target.column("x").to_numpy())
    assert x["statistic"] == pytest.approx(exact.statistic, abs=0.01)
    assert x["wasserstein_distance"] == pytest.approx(
        wasserstein_distance(base.column("x").to_numpy(), target.column("x").to_numpy()), rel=0.05
    )
    assert x["psi"] > 0.2 and 0 < x["jensen_shannon_distance"] <= 1
    assert result["features"]["colour"]["test"] == "chi_square"
    assert not result["features"]["colour"]["drifted"]


def test_categorical_drift_and_data_quality() -> None:
    base = frame(3000, 1)
    target = frame(3000, 2, shift=0.0, colours=("r", "g", "b", "violet", "violet", "violet"))
    mask = np.zeros(3000, dtype=bool)
    mask[:300] = True
    target = target.set_column(
        0, "x", pa.array(np.where(mask, None, target.column("x").to_numpy() * 3))
    )
    result = compare(base, target)
    assert "colour" in result["drifted_features"]
    colour = result["quality"]["colour"]
    assert colour["new_categories"] == ["violet"] and colour["new_category_rows"] > 1000
    assert result["features"]["colour"]["euclidean_distance"] > 0.3
    x = result["quality"]["x"]
    assert x["missing"] == 300 and x["missing_fraction"] == pytest.approx(0.1)
    assert x["out_of_range"] > 0


def test_an_empty_window_is_reported_as_empty_not_as_no_drift() -> None:
    base = frame(500, 1)
    result = compare(base, base.slice(0, 0))
    assert result["empty"] is True
    assert result["drift_magnitude"] is None and result["has_drift"] is None


def test_a_feature_with_every_value_missing() -> None:
    base = frame(500, 1)
    target = frame(500, 2)
    target = target.set_column(1, "y", pa.nulls(500, pa.float64()))
    result = compare(base, target)
    assert result["features"]["y"]["all_missing"] is True
    assert result["quality"]["y"]["missing_fraction"] == 1.0
    empty_base = base.set_column(1, "y", pa.nulls(500, pa.float64()))
    with pytest.raises(ValidationError, match="'y' is missing in the baseline"):
        compare(empty_base, target)


def test_text_in_a_numeric_feature_counts_as_type_errors() -> None:
    base = frame(500, 1)
    values = [str(v) for v in base.column("y").to_pylist()]
    values[:25] = ["n/a"] * 25
    target = base.set_column(1, "y", pa.array(values))
    result = compare(base, target)
    assert result["quality"]["y"]["type_errors"] == 25


def test_different_columns_and_types_are_listed() -> None:
    base = frame(50, 1)
    target = base.drop_columns(["n"]).set_column(
        0, "x", pa.array([[1.0]] * 50, pa.list_(pa.float64()))
    )
    with pytest.raises(DataDriftSchemaError) as caught:
        plan_features(base.schema, target.schema, None)
    assert len(caught.value.problems) == 2
    assert "'n' is in the baseline but not in the target" in caught.value.message
    assert "'x' is double in the baseline" in caught.value.message
    with pytest.raises(DataDriftSchemaError, match="'z' is not a column of the baseline"):
        plan_features(base.schema, base.schema, ["x", "z"])


def test_the_statistics_agree_with_scipy() -> None:
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import chi2_contingency, false_discovery_control

    from atelier.monitoring.statistics import benjamini_hochberg, chi_square, jensen_shannon

    expected, actual = np.array([100.0, 200, 300, 0]), np.array([120.0, 180, 290, 10])
    exact = chi2_contingency(np.vstack([expected, actual]), correction=False)
    assert chi_square(expected, actual) == pytest.approx((exact.statistic, exact.pvalue))
    p_values = [0.01, 0.04, 0.03, 0.2, 0.5]
    assert benjamini_hochberg(p_values) == pytest.approx(list(false_discovery_control(p_values)))
    assert jensen_shannon(expected, actual) == pytest.approx(
        jensenshannon(expected, actual, base=2)
    )
