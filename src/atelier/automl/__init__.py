"""``atelier.automl``: the short spelling of :mod:`atelier.sdk.automl` (AutoMLConfig,
AutoMLRun, FeaturizationConfig, ForecastingParameters)."""

from atelier.sdk.automl import *  # noqa: F403 - the same names, re-exported
from atelier.sdk.automl import __all__ as __all__
