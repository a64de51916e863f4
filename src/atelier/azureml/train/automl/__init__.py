"""``azureml.train.automl``: AutoMLConfig (and AutoMLRun) at azureml v1's module path."""

from atelier.sdk.automl import AutoMLConfig, AutoMLRun

__all__ = ["AutoMLConfig", "AutoMLRun"]
