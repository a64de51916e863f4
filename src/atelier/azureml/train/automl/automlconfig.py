"""``azureml.train.automl.automlconfig``."""

from atelier.sdk.automl.config import AutoMLConfig

__all__ = ["AutoMLConfig"]
