"""``azureml.datadrift.alert_configuration``."""

from atelier.monitoring.alerts import AlertConfiguration

__all__ = ["AlertConfiguration"]
