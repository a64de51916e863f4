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


def test_small_and_large_batches_pack_alike() -> None:
    """Batches up to _SMALL_BATCH points are packed without numpy: the bytes and bounds
    must be exactly numpy's."""
    from atelier.services.metrics import _SMALL_BATCH, _bound, _pack

    values = [1.5, float("nan"), -2.0, float("inf")]
    small = _pack([0, 1, 2, 3], values, [10, 11, 12, 2**62])
    assert small == (
        np.asarray([0, 1, 2, 3], dtype="<i8").tobytes(),
        np.asarray(values, dtype="<f8").tobytes(),
        np.asarray([10, 11, 12, 2**62], dtype="<i8").tobytes(),
    )
    assert (_bound(values, "min"), _bound(values, "max")) == (-2.0, float("inf"))
    assert np.isnan(_bound([float("nan")], "min"))
    many = [float(v) for v in range(_SMALL_BATCH + 1)]
    many[7] = float("nan")
    steps = list(range(len(many)))
    assert _pack(steps, many, steps)[1] == np.asarray(many, dtype="<f8").tobytes()
    assert (_bound(many, "min"), _bound(many, "max")) == (0.0, float(_SMALL_BATCH))
