"""``azureml.train.hyperdrive.runconfig``."""

from atelier.sdk.sweeps.config import HyperDriveConfig

__all__ = ["HyperDriveConfig"]
