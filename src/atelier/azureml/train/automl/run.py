"""``azureml.train.automl.run``."""

from atelier.sdk.automl.run import AutoMLRun

__all__ = ["AutoMLRun"]
