"""``azureml.train.hyperdrive.run``."""

from atelier.sdk.sweeps.config import PrimaryMetricGoal
from atelier.sdk.sweeps.run import HyperDriveRun

__all__ = ["HyperDriveRun", "PrimaryMetricGoal"]
