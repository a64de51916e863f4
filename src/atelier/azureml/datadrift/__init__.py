"""``azureml.datadrift``: ``DataDriftDetector`` and ``AlertConfiguration``."""

from atelier.monitoring.alerts import AlertConfiguration
from atelier.monitoring.detector import DataDriftDetector

__all__ = ["AlertConfiguration", "DataDriftDetector"]
