"""Which iteration the search names best: robust to the noise of small validation sets.

The default LightGBM (the first iteration when LightGBM may be used) is the reference, and
the fallback is the HedgedVotingEnsemble (the equal vote of the reference and the top
iteration; the reference itself when the votes are off). The iteration with the best
validation score is named best only when it beats the fallback by more than the noise:
the two are compared fold by fold (on the same out-of-fold rows, or on ten slices of the
held-out rows), and the mean of the paired differences must exceed its standard error
(the one-standard-error rule; a difference on one fold alone never does). Otherwise the
fallback is named best: on a small data set a search that picked the top of many noisy
scores would often do worse on new data than the default it beat by chance, and the
hedged vote keeps half of the default in the model without giving up the search's gain.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from atelier.sdk.automl.models import MODELS

if TYPE_CHECKING:
    from atelier.sdk.automl._search import Outcome, Search

__all__ = ["HEDGE", "choose", "reference"]

REFERENCE = "LightGBM"
#: the name of the equal vote of the reference and the top iteration (made by _ensembles)
HEDGE = "HedgedVotingEnsemble"
#: slices of held-out rows compared pairwise when there are no folds
_SLICES = 10
#: relative slack of the comparison with the standard error (floating-point rounding)
_TOLERANCE = 1e-9


def reference(search: Search) -> Outcome | None:
    """The default LightGBM's iteration, when it finished and kept its model."""
    for outcome in search.outcomes:
        if (
            outcome.name == REFERENCE
            and outcome.params == MODELS[REFERENCE].defaults
            and outcome.model is not None
            and not math.isnan(outcome.score)
        ):
            return outcome
    return None


def _slices(search: Search, rows: int) -> list[slice]:
    sizes = [len(valid) for _, valid in search.data.splits] if search.data.splits else []
    if sum(sizes) != rows or len(sizes) < 2:
        step = max(1, math.ceil(rows / _SLICES))
        return [slice(i, min(i + step, rows)) for i in range(0, rows, step)]
    out, start = [], 0
    for size in sizes:
        out.append(slice(start, start + size))
        start += size
    return out


def _per_slice(search: Search, predictions: Any, truth: Any, parts: list[slice]) -> list[float]:
    weights = search.valid_weights
    return [
        search._score(predictions[part], truth[part], None if weights is None else weights[part])
        for part in parts
    ]


def significantly_better(search: Search, best: Outcome, base: Outcome) -> bool:
    """Whether ``best`` beats ``base`` on the validation rows by more than one standard
    error of their paired per-fold differences."""
    import numpy as np

    truth = search._truth
    parts = _slices(search, len(truth))
    with search._quiet():
        mine = _per_slice(search, best.predictions, truth, parts)
        theirs = _per_slice(search, base.predictions, truth, parts)
    sign = 1.0 if search.maximize else -1.0
    diffs = np.array(
        [sign * (a - b) for a, b in zip(mine, theirs, strict=True) if not (math.isnan(a + b))]
    )
    if len(diffs) < 2:
        return bool(sign * (best.score - base.score) > 0)
    error = float(diffs.std(ddof=1) / math.sqrt(len(diffs)))
    # one fold's difference alone is exactly one standard error: never significant
    return bool(diffs.mean() > error * (1.0 + _TOLERANCE))


def _hedged(search: Search) -> Outcome | None:
    """This round's HedgedVotingEnsemble, when it was made."""
    made = [o for o in search.outcomes if o.name == HEDGE and not math.isnan(o.score)]
    return made[-1] if made else None


def choose(search: Search) -> Outcome | None:
    """The iteration to name best: the top score, unless it is not significantly better
    than the hedged vote (or, without it, than the default LightGBM)."""
    best = search._best()
    base = reference(search)
    if best is None or base is None or best is base or not hasattr(search, "_truth"):
        return best
    fallback = _hedged(search) or base
    if best is fallback:
        return best
    return best if significantly_better(search, best, fallback) else fallback
