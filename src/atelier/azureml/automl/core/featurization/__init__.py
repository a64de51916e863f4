"""``azureml.automl.core.featurization``."""

from atelier.sdk.automl.featurization import FeaturizationConfig

__all__ = ["FeaturizationConfig"]
