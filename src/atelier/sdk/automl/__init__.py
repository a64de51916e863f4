"""AutoML: ``AutoMLConfig`` and ``AutoMLRun`` with azureml v1's names.

scikit-learn and Optuna (the ``automl`` extra) are imported only when a search runs, so
``import atelier`` stays light."""

from atelier.sdk.automl.config import AutoMLConfig
from atelier.sdk.automl.featurization import FeaturizationConfig
from atelier.sdk.automl.forecasting import ForecastingParameters
from atelier.sdk.automl.run import AutoMLRun

__all__ = ["AutoMLConfig", "AutoMLRun", "FeaturizationConfig", "ForecastingParameters"]
