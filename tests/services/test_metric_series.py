from __future__ import annotations

import numpy as np

from atelier.services.metric_series import keep_extremes


def test_a_short_series_is_kept_whole() -> None:
    assert keep_extremes(np.arange(10.0), 100).tolist() == list(range(10))


def test_a_million_points_thin_to_the_budget_and_keep_every_extreme() -> None:
    values = np.sin(np.arange(1_000_000) / 5000.0)
    values[123_457] = 9.0
    values[876_543] = -9.0
    values[500_000] = np.nan
    chosen = keep_extremes(values, 4000)
    assert len(chosen) <= 4000
    assert chosen[0] == 0
    assert chosen[-1] == 999_999
    assert {123_457, 876_543} <= set(chosen.tolist())
    assert np.all(np.diff(chosen) > 0)


def test_an_all_nan_stretch_does_not_break_the_thinning() -> None:
    values = np.full(10_000, np.nan)
    chosen = keep_extremes(values, 100)
    assert 0 < len(chosen) <= 100
