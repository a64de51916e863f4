"""``azureml.widgets``: RunDetails, a live view of a run (Jupyter or terminal)."""

from atelier.sdk.widgets import RunDetails

__all__ = ["RunDetails"]
