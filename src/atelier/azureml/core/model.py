"""``azureml.core.model``: Model."""

from atelier.sdk.model import Model

__all__ = ["Model"]
