"""Monitoring: data drift between a baseline dataset and newer data (a timestamped dataset
or an endpoint's collected inputs), data quality per window, schedules and alerts.

``metrics`` measures (Arrow, numpy, scipy, scikit-learn); ``detector`` is azureml's
``DataDriftDetector`` (``runner`` measures its windows, ``output`` reads them back);
``alerts`` sends emails and webhooks; ``reading`` reads the datasets, and an endpoint's
collected inputs as a timestamped ``TabularDataset`` (:func:`collected_data`)."""

from atelier.monitoring.alerts import AlertConfiguration
from atelier.monitoring.detector import DataDriftDetector
from atelier.monitoring.reading import CollectedDataset, collected_data

__all__ = ["AlertConfiguration", "CollectedDataset", "DataDriftDetector", "collected_data"]
