"""Monitoring: data drift between a baseline dataset and newer data (a timestamped dataset
or an endpoint's collected inputs), data quality per window, schedules and alerts.

``metrics`` measures (Arrow, numpy, scipy, scikit-learn); ``detector`` is azureml's
``DataDriftDetector``; ``alerts`` sends the emails and webhooks; ``collected`` reads an
endpoint's collected model data as a timestamped ``TabularDataset``."""
