"""``azureml.core.keyvault``: Keyvault."""

from atelier.sdk.keyvault import Keyvault

__all__ = ["Keyvault"]
