"""``azureml.automl.core.forecasting_parameters``."""

from atelier.sdk.automl.forecasting import ForecastingParameters

__all__ = ["ForecastingParameters"]
