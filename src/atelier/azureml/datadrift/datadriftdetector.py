"""``azureml.datadrift.datadriftdetector``."""

from atelier.monitoring.detector import DataDriftDetector

__all__ = ["DataDriftDetector"]
